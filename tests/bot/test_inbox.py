"""The update inbox on the real Redis: kept, handled, acknowledged; a dead consumer's update is
taken over after the claim timeout; the same update twice is handled once; an update delivered
too often goes to the dead letters; dead consumers are removed from the group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from bot import inbox as inbox_module
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


def inbox(
    stores: Stores, name: str, claim_after_s: float = 30.0, max_deliveries: int = 5
) -> UpdateInbox:
    settings = InboxSettings(
        consumers=2, claim_after_s=claim_after_s, max_deliveries=max_deliveries
    )
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


def update(update_id: int, text: str = "hi") -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 0, "text": text}}


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


async def delivered_to_dead_workers(box: UpdateInbox, entry_id: str, times: int) -> None:
    """Deliver the (read) entry ``times`` more times, as if each worker it went to had died."""
    for _ in range(times):
        await box.redis.xclaim(box.stream, GROUP, "crashed", 0, [entry_id])


async def deliveries(box: UpdateInbox, entry_id: str) -> int:
    rows = await box.redis.xpending_range(box.stream, GROUP, min=entry_id, max=entry_id, count=1)
    return rows[0]["times_delivered"] if rows else 0


async def test_an_update_delivered_too_often_goes_to_the_dead_letters(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """An update whose handling killed its worker on each delivery allowed is not handed to the
    handler again: it is kept as a dead letter and acknowledged. One delivered as often as
    allowed is still handled."""
    box = inbox(stores, "live", claim_after_s=0.2, max_deliveries=3)
    await box.ensure_group()
    poison_id = await box.put(update(41, text="my card is 4111-1111"))
    fine_id = await box.put(update(42))
    await stores.redis.xreadgroup(GROUP, "crashed", {box.stream: ">"})  # both delivered once
    await delivered_to_dead_workers(box, poison_id, 2)
    await delivered_to_dead_workers(box, fine_id, 1)
    assert (await deliveries(box, poison_id), await deliveries(box, fine_id)) == (3, 2)

    handler = Recorder()
    started = time.time()
    buried_before = REGISTRY.get_sample_value("supportbot_inbox_dead_letters_total") or 0
    with caplog.at_level(logging.INFO, logger="bot.inbox"):
        async with consuming(box, handler):
            await until(lambda: handler.handled == [42])
            await until_acked(box)
            await asyncio.sleep(0.6)  # more reclaim rounds: nothing comes back
    assert handler.handled == [42]  # the 3rd delivery of 42 was handled; the 4th of 41 was not
    assert await pending(box) == 0
    assert await deliveries(box, poison_id) == 0

    assert await box.dead_letter_count() == 1
    assert REGISTRY.get_sample_value("supportbot_inbox_dead_letters_total") == buried_before + 1
    assert await box.dead_letters(10) == [(poison_id, update(41, text="my card is 4111-1111"), 4)]
    [(_id, letter)] = await stores.redis.xrange(box.dead_stream)
    assert letter["entry_id"] == poison_id and letter["deliveries"] == "4"
    assert started <= float(letter["dead_at"]) <= time.time()

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "update 41 delivered 4 times" in errors[0].getMessage()
    assert "4111" not in caplog.text  # no customer's text in the logs


async def test_an_update_in_hand_of_a_live_worker_is_not_a_dead_letter(stores: Stores) -> None:
    """A slow handler's entry is reclaimed (and counted) while its live worker renews the lease:
    it stays pending however often; once that worker is gone, it goes to the dead letters."""
    box = inbox(stores, "reclaimer", claim_after_s=0.1, max_deliveries=1)
    await box.ensure_group()
    entry_id = await box.put(update(51))
    await stores.redis.xreadgroup(GROUP, "slow", {box.stream: ">"})
    state = stores.keys.inbox_update(51)
    await stores.redis.set(state, f"slow:{entry_id}", px=5000)  # the live worker's lease
    await asyncio.sleep(0.15)
    assert [entry_id for entry_id, _ in await box.reclaim()] == [entry_id]  # handle() skips it
    assert await deliveries(box, entry_id) == 2
    assert await box.dead_letter_count() == 0

    await stores.redis.delete(state)  # the slow worker died and its lease ran out
    await asyncio.sleep(0.15)
    assert await box.reclaim() == []
    assert await box.dead_letters() == [(entry_id, update(51), 3)]
    assert await pending(box) == 0
    assert not await stores.redis.exists(state)  # the reclaimer's own lease is not left behind


async def consumers(box: UpdateInbox) -> dict[str, int]:
    """The group's consumers and how many entries each holds."""
    return {c["name"]: c["pending"] for c in await box.redis.xinfo_consumers(box.stream, GROUP)}


async def test_dead_consumers_are_removed_but_not_while_they_hold_entries(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = inbox(stores, "live", claim_after_s=0.05)
    await box.ensure_group()
    await box.put(update(61))
    await stores.redis.xgroup_createconsumer(box.stream, GROUP, "gone")  # restarted, nothing held
    await stores.redis.xreadgroup(GROUP, "busy", {box.stream: ">"})  # died holding update 61
    await stores.redis.xgroup_createconsumer(box.stream, GROUP, "live")
    await asyncio.sleep(0.3)

    assert await box.remove_dead_consumers(idle_s=0.2) == ["gone"]
    assert await consumers(box) == {"busy": 1, "live": 0}  # the live one itself is kept
    assert await box.remove_dead_consumers(idle_s=0.2) == []

    # In the reclaim loop: the entry "busy" holds is taken over first, then "busy" is removed.
    monkeypatch.setattr(inbox_module, "DEAD_CONSUMER_IDLE_S", 0.1)  # so 10 claim timeouts: 0.5 s
    monkeypatch.setattr(inbox_module, "CLEANUP_EVERY_S", 0.1)
    handler = Recorder()
    async with consuming(box, handler):
        await until(lambda: handler.handled == [61])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while "busy" in await consumers(box):
            assert loop.time() < deadline, await consumers(box)
            await asyncio.sleep(0.05)
        await until_acked(box)
    assert handler.handled == [61]
    assert await consumers(box) == {"live": 0}
