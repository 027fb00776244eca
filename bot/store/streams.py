"""Reading a Redis stream page by page: the event log, the questions log and the inbox keep
entries by the time they were added (the stream id is its millisecond).

Writing: ``stream_appends(redis)`` is the one writer of appends for a Redis client. The domain
events (``bot/services/events.py``) and the questions log (``bot/services/topics.py``) recorded
at the same time are written together, in one pipelined round trip (``common/batching.py``).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from common.batching import Batcher

PAGE = 10_000


def stream_id(moment: float) -> str:
    """The first stream id at ``moment`` (Unix seconds)."""
    return f"{int(moment * 1000)}-0"


async def stream_pages(
    redis: Redis, key: str, start: str = "-", end: str = "+", page: int = PAGE
) -> AsyncIterator[list[tuple[str, dict[str, str]]]]:
    """The entries from ``start`` to ``end`` (ids, inclusive), a page at a time."""
    while True:
        entries = await redis.xrange(key, min=start, max=end, count=page)
        if entries:
            yield entries
        if len(entries) < page:
            return
        last = entries[-1][0]
        start = "(" + (last.decode() if isinstance(last, bytes) else last)


async def entries_of(
    redis: Redis, key: str, field: str, value: str
) -> list[tuple[str, dict[str, str]]]:
    """Every entry whose ``field`` is ``value`` (e.g. a customer's), with its id."""
    return [
        (entry_id, values)
        async for entries in stream_pages(redis, key)
        for entry_id, values in entries
        if values.get(field) == value
    ]


@dataclass(frozen=True, slots=True)
class Append:
    """One entry for the stream ``key``, trimmed (approximately) to ``maxlen`` entries and, when
    ``keep_s`` is set, to that age."""

    key: str
    fields: dict[str, str]
    maxlen: int
    keep_s: float | None = None


class StreamAppends:
    """Appends to any stream of one Redis client, batched: the appends made while a batch is
    written go out together in the next pipeline (each stream trimmed by age once per batch).
    If the batch fails, every append of it raises the error."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._batches: Batcher[Append, None] = Batcher(self._write, name="stream-appends")

    async def add(self, append: Append) -> None:
        """Returns once the entry is in its stream."""
        await self._batches.submit(append)

    async def _write(self, appends: list[Append]) -> list[None]:
        keep: dict[str, float] = {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for a in appends:
                pipe.xadd(a.key, a.fields, maxlen=a.maxlen, approximate=True)
                if a.keep_s is not None:
                    keep[a.key] = a.keep_s
            for key, keep_s in keep.items():
                pipe.xtrim(key, minid=stream_id(time.time() - keep_s), approximate=True)
            await pipe.execute()
        return [None] * len(appends)


_APPENDS: weakref.WeakKeyDictionary[Redis, StreamAppends] = weakref.WeakKeyDictionary()


def stream_appends(redis: Redis) -> StreamAppends:
    """The appends writer of ``redis`` (one per client, so that every log writing through it
    shares its batches)."""
    appends = _APPENDS.get(redis)
    if appends is None:
        appends = _APPENDS[redis] = StreamAppends(redis)
    return appends
