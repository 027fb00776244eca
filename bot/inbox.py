"""The update inbox: every update is kept in Redis before Telegram is told it arrived.

At least once: polling asks for the next offset (which confirms the updates to Telegram) and the
webhook answers 200 only after the update is in a Redis Stream. Workers read it through a consumer
group and acknowledge an entry only after the dispatcher has handled it, so an update in flight
when a worker dies stays pending; the reclaim loop of any worker takes it over once it has been
idle for ``INBOX__CLAIM_AFTER_S``.

Effects once: before handling, a worker takes a lease on the update id (renewed while it works);
after handling it marks the id done for a day. A second copy of the same update (Telegram resent
it, or two entries hold it) is skipped once done, and left pending while another live worker
holds the lease; a lease whose worker died expires, so the reclaimer handles the update again.

Poison updates: an update whose handling kills its worker every time (a crash, OOM, SIGKILL)
would be taken over forever. The reclaimer reads how often each entry it took over was delivered
(one pipelined XPENDING per batch); one delivered more than ``INBOX__MAX_DELIVERIES`` times is not
handled again (unless a live worker holds its lease: a slow handler's entry is reclaimed too):
it is copied to the dead-letter stream with its delivery count, entry id and time, and
acknowledged, in one transaction, and logged once with its update id and count only (no
customer's text in the logs). ``dead_letters`` reads them back for an operator.

Dead consumers: every worker process is a new consumer of the group. Every ``CLEANUP_EVERY_S``
the reclaimer deletes the consumers, other than itself, idle for ``DEAD_CONSUMER_IDLE_S`` (at
least ten claim timeouts) with nothing pending; one still holding entries is kept until the
reclaimer has taken them over (deleting it would drop them from the pending list unhandled).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.types import Update
from redis.asyncio.lock import Lock
from redis.exceptions import RedisError, ResponseError

from bot import metrics
from bot.settings import InboxSettings
from bot.store.keys import Keys
from bot.store.streams import stream_pages
from common.privacy import Customer, Cutoffs

if TYPE_CHECKING:
    from aiogram.fsm.storage.base import KeyBuilder
    from redis.asyncio import Redis

GROUP = "workers"
DONE = "done"
DONE_TTL_S = 24 * 3600  # Telegram keeps an unconfirmed update for at most a day
BLOCK_MS = 1000  # a read waits this long for new entries (below the client's socket timeout)
RETRY_PAUSE_S = 1.0  # after a Redis or Bot API error in a loop
DEAD_MAX_LEN = 10_000  # about how many dead letters are kept (they hold customers' messages)
CLEANUP_EVERY_S = 300.0  # how often the reclaimer looks for dead consumers
DEAD_CONSUMER_IDLE_S = 3600.0  # a consumer idle this long (and 10 claim timeouts) is dead

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

log = logging.getLogger(__name__)

# Renew a lease only while it is still ours (it may have expired and been taken meanwhile).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Delete a consumer only while it has no pending entry (XGROUP DELCONSUMER drops its entries).
_DELETE_IF_IDLE = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
    return 1
end
return 0
"""


def consumer_name() -> str:
    """A name unique to this process: a restarted worker is a new consumer."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class UpdateInbox:
    """Updates in a Redis Stream, handled by a consumer group at least once, with effects once."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        settings: InboxSettings,
        consumer: str | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self.consumer = consumer or consumer_name()
        self.stream = keys.inbox()
        self.dead_stream = keys.inbox_dead()
        self._lease_ms = max(1, int(settings.claim_after_s * 1000))
        self._renew = redis.register_script(_RENEW)
        self._delete_if_idle = redis.register_script(_DELETE_IF_IDLE)

    async def ensure_group(self) -> None:
        """Create the stream and its consumer group once (every worker may try)."""
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def put(self, update: str | bytes | dict[str, Any]) -> str:
        """Keep one update (its JSON); returns the stream entry id."""
        if isinstance(update, dict):
            update = json.dumps(update, ensure_ascii=False)
        elif isinstance(update, bytes):
            update = update.decode()
        return await self.redis.xadd(
            self.stream, {"update": update}, maxlen=self.settings.max_len, approximate=True
        )

    # ------------------------------------------------------------------ handling

    async def consume(self, handler: Handler, stop: asyncio.Event) -> None:
        """Handle this worker's share of the inbox, and run its reclaim loop, until ``stop`` is
        set; the updates in hand then are finished first (one cut short stays pending for the
        reclaimer)."""
        await self.ensure_group()
        tasks = [
            asyncio.create_task(self._read_loop(handler, stop), name="inbox-read"),
            asyncio.create_task(self._reclaim_loop(handler, stop), name="inbox-reclaim"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read_loop(self, handler: Handler, stop: asyncio.Event) -> None:
        """One reader takes as many new entries as there are free places (``consumers``) and
        handles each in its own task: a slow update (a generated reply) holds one place, not the
        inbox. Per-chat order is kept by the chat lock, not by reading one at a time."""
        in_hand: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                free = self.settings.consumers - len(in_hand)
                if free <= 0:
                    await asyncio.wait(in_hand, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    batches = await self.redis.xreadgroup(
                        GROUP, self.consumer, {self.stream: ">"}, count=free, block=BLOCK_MS
                    )
                except RedisError as exc:
                    log.warning("inbox read failed (%s); retrying", exc)
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                for _stream, entries in batches or []:
                    for entry_id, fields in entries:
                        task = asyncio.create_task(self._handle_one(entry_id, fields, handler))
                        in_hand.add(task)
                        task.add_done_callback(in_hand.discard)
        finally:
            if in_hand:  # finished, not dropped: an update cut short would be handled again
                await asyncio.gather(*in_hand, return_exceptions=True)

    async def _handle_one(self, entry_id: str, fields: dict[str, str], handler: Handler) -> None:
        try:
            await self.handle(entry_id, fields, handler)
        except RedisError as exc:  # left pending: the reclaimer hands it out again
            log.warning("inbox entry %s not handled now (%s); it stays pending", entry_id, exc)

    async def _reclaim_loop(self, handler: Handler, stop: asyncio.Event) -> None:
        pause = min(max(self.settings.claim_after_s / 2, 0.2), 5.0)
        loop = asyncio.get_running_loop()
        next_cleanup = loop.time()
        while not stop.is_set():
            try:
                for entry_id, fields in await self.reclaim():
                    await self.handle(entry_id, fields, handler)
                if loop.time() >= next_cleanup:
                    await self.remove_dead_consumers()
                    next_cleanup = loop.time() + CLEANUP_EVERY_S
            except RedisError as exc:
                log.warning("inbox reclaim failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def reclaim(self) -> list[tuple[str, dict[str, str]]]:
        """Take over the entries pending longer than ``claim_after_s`` (their worker died);
        returns those to handle, after moving the ones delivered too often to the dead letters."""
        claimed: list[tuple[str, dict[str, str]]] = []
        cursor = "0-0"
        while True:
            cursor, entries, *_deleted = await self.redis.xautoclaim(
                self.stream, GROUP, self.consumer, self._lease_ms, start_id=cursor, count=100
            )
            entries = [(entry_id, fields) for entry_id, fields in entries if fields]
            deliveries = await self._deliveries([entry_id for entry_id, _fields in entries])
            for (entry_id, fields), times in zip(entries, deliveries, strict=True):
                if times > self.settings.max_deliveries and await self._bury(
                    entry_id, fields, times
                ):
                    continue
                claimed.append((entry_id, fields))
            if cursor == "0-0":
                return claimed

    async def _deliveries(self, entry_ids: list[str]) -> list[int]:
        """How many times each pending entry was delivered (0: acknowledged meanwhile)."""
        if not entry_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(self.stream, GROUP, min=entry_id, max=entry_id, count=1)
            found = await pipe.execute()
        return [rows[0]["times_delivered"] if rows else 0 for rows in found]

    async def _bury(self, entry_id: str, fields: dict[str, str], deliveries: int) -> bool:
        """Move an entry delivered too often to the dead letters and acknowledge it; False (it is
        handled as usual) when it is not an update, or its update is done or in hand elsewhere."""
        parsed = _parse(fields)
        if parsed is None:
            return False  # handle() drops it
        _update, update_id = parsed
        state = self.keys.inbox_update(update_id)
        if not await self.redis.set(
            state, f"{self.consumer}:{entry_id}", nx=True, px=self._lease_ms
        ):
            return False
        letter = {
            **fields,
            "deliveries": str(deliveries),
            "entry_id": entry_id,
            "dead_at": f"{time.time():.3f}",
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_stream, letter, maxlen=DEAD_MAX_LEN, approximate=True)
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.delete(state)
            await pipe.execute()
        metrics.INBOX_DEAD_LETTERS.inc()
        log.error(
            "update %s delivered %d times without being handled; moved to the dead letters",
            update_id,
            deliveries,
        )
        return True

    async def dead_letters(self, count: int = 10) -> list[tuple[str, dict[str, Any], int]]:
        """The newest dead letters: (inbox entry id, update, times delivered), newest first."""
        letters = await self.redis.xrevrange(self.dead_stream, count=count)
        return [
            (fields["entry_id"], json.loads(fields["update"]), int(fields["deliveries"]))
            for _id, fields in letters
        ]

    async def dead_letter_count(self) -> int:
        """About how many dead letters are kept (the stream is capped at ``DEAD_MAX_LEN``)."""
        return await self.redis.xlen(self.dead_stream)

    async def remove_dead_consumers(self, idle_s: float | None = None) -> list[str]:
        """Delete the group's consumers, other than this one, idle longer than ``idle_s``
        (default: ``DEAD_CONSUMER_IDLE_S`` or ten claim timeouts) with no pending entry."""
        if idle_s is None:
            idle_s = max(DEAD_CONSUMER_IDLE_S, 10 * self.settings.claim_after_s)
        removed = []
        for consumer in await self.redis.xinfo_consumers(self.stream, GROUP):
            name = consumer["name"]
            if name == self.consumer or consumer["pending"] or consumer["idle"] < idle_s * 1000:
                continue
            if await self._delete_if_idle(keys=[self.stream], args=[GROUP, name]):
                log.info(
                    "inbox consumer %s idle for %d s; removed", name, consumer["idle"] // 1000
                )
                removed.append(name)
        return removed

    async def handle(self, entry_id: str, fields: dict[str, str], handler: Handler) -> None:
        """Handle one entry unless its update is done or in hand elsewhere, then acknowledge it."""
        parsed = _parse(fields)
        if parsed is None:
            log.error("inbox entry %s is not an update; dropped: %.200r", entry_id, fields)
            await self.redis.xack(self.stream, GROUP, entry_id)
            return
        update, update_id = parsed
        state = self.keys.inbox_update(update_id)
        lease = f"{self.consumer}:{entry_id}"
        if not await self.redis.set(state, lease, nx=True, px=self._lease_ms):
            if await self.redis.get(state) == DONE:
                await self.redis.xack(self.stream, GROUP, entry_id)
            # else a live worker holds it: leave this entry pending; the reclaimer sees it again
            return
        async with self._renewing(state, lease):
            try:
                await handler(update)
            except Exception:
                # The errors router answers a handler's failure; one that escapes it is logged
                # here and not retried (only a dead worker leaves an update pending).
                log.exception("update %s failed; acknowledged", update_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(state, DONE, ex=DONE_TTL_S)
            pipe.xack(self.stream, GROUP, entry_id)
            await pipe.execute()

    def _renewing(self, state: str, lease: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Keep the lease on an update alive while this worker handles it."""
        renew = partial(self._renew, keys=[state], args=[lease, self._lease_ms])
        return _in_background(_keep_renewing(self._lease_ms / 3000, renew, "inbox lease"))


def _parse(fields: dict[str, str]) -> tuple[dict[str, Any], int] | None:
    """The update of an inbox entry and its id; None when the entry holds no update."""
    try:
        update = json.loads(fields["update"])
        return update, int(update["update_id"])
    except (KeyError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------------- receiving


async def poll_into(
    inbox: UpdateInbox,
    bot: Bot,
    stop: asyncio.Event,
    *,
    allowed_updates: list[str] | None = None,
    timeout: int = 25,
) -> None:
    """Long polling that keeps each update in the inbox before asking for the next offset (the
    request with ``offset = last + 1`` is what confirms the updates to Telegram)."""
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset,
                timeout=timeout,
                allowed_updates=allowed_updates,
                request_timeout=timeout + 10,
            )
        except (TelegramNetworkError, TelegramAPIError) as exc:
            log.warning("getUpdates failed (%s); retrying", exc)
            await _pause(stop)
            continue
        for update in updates:
            data = update.model_dump_json(by_alias=True, exclude_none=True)
            while True:
                try:
                    await inbox.put(data)
                    break
                except RedisError as exc:  # not kept: Telegram must not hear it arrived
                    log.warning("inbox put failed (%s); retrying", exc)
                    await _pause(stop)
                    if stop.is_set():
                        return
            offset = update.update_id + 1


async def _pause(stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), RETRY_PAUSE_S)


class DispatcherHandler:
    """Feeds an inbox update to the dispatcher (raw JSON → ``Update`` bound to the bot)."""

    def __init__(self, dp: Dispatcher, bot: Bot) -> None:
        self.dp = dp
        self.bot = bot

    async def __call__(self, data: dict[str, Any]) -> None:
        update = Update.model_validate(data, context={"bot": self.bot})
        await self.dp.feed_update(self.bot, update)


# ---------------------------------------------------------------------- personal data


class InboxRecords:
    """The updates the inbox and its dead letters keep (a customer's words and id) as personal
    data: ``/forget`` deletes a customer's, the retention sweep trims handled ones
    (``PRIVACY__INBOX_HOURS``) and dead letters (``PRIVACY__RETENTION_DAYS``)."""

    data_kind = "received_updates"

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.streams = redis, (keys.inbox(), keys.inbox_dead())

    async def _entries_of(self, customer: Customer) -> list[tuple[str, str, dict[str, Any]]]:
        found = []
        for stream in self.streams:
            async for page in stream_pages(self.redis, stream, page=1000):
                for entry_id, fields in page:
                    raw = fields.get("update", "")
                    if str(customer.id) not in raw:  # most entries: no JSON to read
                        continue
                    try:
                        update = json.loads(raw)
                    except ValueError:
                        continue
                    if _from_user(update, customer.id):
                        found.append((stream, entry_id, update))
        return found

    async def export(self, customer: Customer) -> list[dict[str, Any]]:
        return [update for _, _, update in await self._entries_of(customer)]

    async def forget(self, customer: Customer) -> int:
        found = await self._entries_of(customer)
        for stream, entry_id, _ in found:
            await self.redis.xdel(stream, entry_id)
        return len(found)

    async def age_out(self, cutoffs: Cutoffs) -> int:
        return await self.trim(cutoffs.handled_before, cutoffs.delete_before)

    async def trim(self, handled_before: float, dead_before: float) -> int:
        """Drop inbox entries older than ``handled_before`` and dead letters older than
        ``dead_before`` (Unix times); how many went. An update older than a day is not in
        anyone's hands any more (Telegram itself gives up on it after a day)."""
        inbox, dead = self.streams
        removed = await self.redis.xtrim(inbox, minid=f"{int(handled_before * 1000)}-0")
        removed += await self.redis.xtrim(dead, minid=f"{int(dead_before * 1000)}-0")
        return int(removed)


def _from_user(update: Any, user_id: int) -> bool:
    """Whether an update (as JSON data) was sent by, or in the private chat of, ``user_id``."""
    if isinstance(update, dict):
        for name, value in update.items():
            owner = name in ("from", "chat", "user") and isinstance(value, dict)
            if owner and value.get("id") == user_id:
                return True
            if _from_user(value, user_id):
                return True
    elif isinstance(update, list):
        return any(_from_user(item, user_id) for item in update)
    return False


# ---------------------------------------------------------------------- per-chat order


class FsmStorage(RedisStorage):
    """aiogram's Redis FSM storage, closed in a way a cluster client takes too (aiogram's own
    close passes ``close_connection_pool``, which ``RedisCluster.aclose`` does not accept)."""

    async def close(self) -> None:
        await self.redis.aclose()


class LeasedEventIsolation(RedisEventIsolation):
    """aiogram's Redis events isolation (one update per chat at a time, across workers) with the
    lock held as a lease: renewed while the handler runs, so a slow handler keeps it, and gone
    ``lease_s`` after its worker died (aiogram's fixed 60 s would stall a reclaimed chat)."""

    def __init__(self, redis: Redis, key_builder: KeyBuilder, lease_s: float) -> None:
        super().__init__(redis, key_builder=key_builder, lock_kwargs={"timeout": lease_s})
        self.lease_s = lease_s

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        name = self.key_builder.build(key, "lock")
        async with (
            self.redis.lock(name=name, timeout=self.lease_s, lock_class=Lock) as held,
            _in_background(_keep_renewing(self.lease_s / 3, held.reacquire, "chat lock")),
        ):
            yield


async def _keep_renewing(period: float, renew: Callable[[], Awaitable[Any]], what: str) -> None:
    """Renew a lease every ``period`` seconds until cancelled; a failed renewal is logged."""
    while True:
        await asyncio.sleep(period)
        try:
            await renew()
        except RedisError as exc:
            log.warning("%s renewal failed: %s", what, exc)


@contextlib.asynccontextmanager
async def _in_background(work: Coroutine[Any, Any, Any]) -> AsyncIterator[None]:
    """Run ``work`` for the length of the ``async with`` block."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
