"""The update inbox on the real Redis: kept, handled, acknowledged; a dead consumer's update is
taken over after the claim timeout; the same update twice is handled once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bot.inbox import GROUP, UpdateInbox
from bot.settings import InboxSettings
from bot.store import Stores


class Recorder:
    """A handler that records the update ids it was given (optionally slowly)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.handled: list[int] = []
        self.delay = delay

    async def __call__(self, update: dict[str, Any]) -> None:
        await asyncio.sleep(self.delay)
        self.handled.append(update["update_id"])


def inbox(stores: Stores, name: str, claim_after_s: float = 30.0) -> UpdateInbox:
    settings = InboxSettings(consumers=2, claim_after_s=claim_after_s)
    return UpdateInbox(stores.redis, stores.keys, settings, consumer=name)


@contextlib.asynccontextmanager
async def consuming(box: UpdateInbox, handler: Recorder) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(box.consume(handler, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def until(condition, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def pending(box: UpdateInbox) -> int:
    return (await box.redis.xpending(box.stream, GROUP))["pending"]


def update(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 0, "text": "hi"}}


async def test_an_update_is_kept_handled_and_acknowledged(stores: Stores) -> None:
    box = inbox(stores, "w1")
    await box.ensure_group()
    await box.ensure_group()  # every worker may create the group: BUSYGROUP is fine
    await box.put(update(1))
    handler = Recorder()
    async with consuming(box, handler):
        await until(lambda: handler.handled == [1])
        await until_acked(box)
    assert handler.handled == [1]
    assert await stores.redis.xlen(box.stream) == 1  # kept (capped), not deleted


async def until_acked(box: UpdateInbox, timeout: float = 5.0) -> None:
    """Until every entry of the stream was read and none is pending."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        [group] = await box.redis.xinfo_groups(box.stream)
        [(last_id, _fields)] = await box.redis.xrevrange(box.stream, count=1)
        if group["last-delivered-id"] == last_id and group["pending"] == 0:
            return
        assert loop.time() < deadline, f"still pending: {group}"
        await asyncio.sleep(0.05)


async def test_an_update_left_by_a_dead_consumer_is_handled_once_by_another(
    stores: Stores,
) -> None:
    dead = inbox(stores, "dead", claim_after_s=1.0)
    await dead.ensure_group()
    await dead.put(update(7))
    # The dead worker read the entry and took its lease, then died before acknowledging it.
    [(_stream, [(entry_id, _fields)])] = await stores.redis.xreadgroup(
        GROUP, "dead", {dead.stream: ">"}, count=1
    )
    await stores.redis.set(stores.keys.inbox_update(7), f"dead:{entry_id}", px=1000)
    assert await pending(dead) == 1

    live = inbox(stores, "live", claim_after_s=1.0)
    handler = Recorder()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with consuming(live, handler):
        await until(lambda: handler.handled == [7])
        waited = loop.time() - started
        await until_acked(live)
        await asyncio.sleep(1.5)  # another reclaim round finds nothing left
    assert handler.handled == [7]
    assert waited >= 0.5  # not before the claim timeout
    print(f"\nconsumer died mid-update: sent 1, answered {len(handler.handled)}, lost 0")


async def test_a_slow_live_handler_keeps_its_update(stores: Stores) -> None:
    """An update handled for longer than the claim timeout is not taken from a live worker."""
    box = inbox(stores, "slow", claim_after_s=0.6)
    other = inbox(stores, "other", claim_after_s=0.6)
    await box.put(update(11))
    slow, quick = Recorder(delay=2.0), Recorder()
    async with consuming(box, slow), consuming(other, quick):
        await until(lambda: slow.handled == [11])
        await until_acked(box)
    assert slow.handled == [11] and quick.handled == []


async def test_the_same_update_put_twice_is_handled_once(stores: Stores) -> None:
    box = inbox(stores, "w1", claim_after_s=0.5)
    other = inbox(stores, "w2", claim_after_s=0.5)
    await box.ensure_group()
    await box.put(update(21))
    await box.put(update(21))  # Telegram sent it again (or two webhooks both kept it)
    handler = Recorder(delay=0.3)
    async with consuming(box, handler), consuming(other, handler):
        await until(lambda: handler.handled == [21])
        await until_acked(box)
        await box.put(update(21))  # a day later it is still known as done
        await until_acked(box)
    assert handler.handled == [21]


async def test_a_failing_handler_still_acknowledges(stores: Stores) -> None:
    box = inbox(stores, "w1", claim_after_s=0.5)
    await box.put(update(31))
    await box.put({"no": "update id"})
    calls: list[int] = []

    async def failing(data: dict[str, Any]) -> None:
        calls.append(data["update_id"])
        raise RuntimeError("handler bug")

    stop = asyncio.Event()
    task = asyncio.create_task(box.consume(failing, stop))
    try:
        await until(lambda: calls == [31])
        await until_acked(box)
        await asyncio.sleep(1.2)  # no reclaim retries a handled update
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert calls == [31]
