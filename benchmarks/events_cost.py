"""What recording a domain event costs, against the real Redis (XADD to the capped stream).

A customer's answered message records two events (message_received, answered); an escalated one
two as well (message_received, escalated). Each is one awaited XADD with approximate trimming.
Figures are µs per record, one after another on one connection (an idle bot). Usage:
    python benchmarks/events_cost.py [--n 5000] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.services.events import DomainEvent, EventKind, RedisEventLog
from bot.store import Keys


async def measure(n: int, redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench-events-{uuid.uuid4().hex[:8]}")
    events = RedisEventLog(redis, keys)
    answered = DomainEvent(
        EventKind.ANSWERED,
        chat_id=424242,
        answer_id=uuid.uuid4().hex[:12],
        entry_id="delivery-time",
        confidence=0.8398647864659627,
        source="faq",
    )
    try:
        await redis.ping()
        for _ in range(200):  # warm the connection and the stream
            await events.record(answered)
        took: list[float] = []
        for _ in range(n):
            start = time.perf_counter()
            await events.record(answered)
            took.append((time.perf_counter() - start) * 1e6)
        ping: list[float] = []
        for _ in range(n):
            start = time.perf_counter()
            await redis.ping()
            ping.append((time.perf_counter() - start) * 1e6)
        length = await redis.xlen(keys.events())
    finally:
        await redis.delete(keys.events())
        await redis.aclose()
    took.sort()
    print(
        f"record (XADD, capped): median {statistics.median(took):.0f} µs, "
        f"p90 {took[int(0.9 * (len(took) - 1))]:.0f} µs, mean {statistics.fmean(took):.0f} µs "
        f"(n={n}, stream length {length})"
    )
    print(f"Redis round trip (PING) for comparison: median {statistics.median(ping):.0f} µs")
    print(f"per answered message (2 events): about {2 * statistics.median(took):.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    asyncio.run(measure(args.n, args.redis))


if __name__ == "__main__":
    main()
