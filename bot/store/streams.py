"""Reading a Redis stream page by page: the event log, the questions log and the inbox keep
entries by the time they were added (the stream id is its millisecond)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis

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
