"""How long `supportbot report` takes for 100,000 conversations (a generated history).

Generates ``--conversations`` conversations spread over ``--days`` days (answered and thanked,
answered and silent, answered then handed over, handed over at once with a claim, reply, close and
rating), then times three things:

1. the report computed from the raw events in memory (what a report over not-yet-stored days does);
2. storing every settled day's figures from the events in the real Redis (``DailyFigures.roll``,
   done once per day by a running bot);
3. the report of the whole period from the stored days (what ``supportbot report --since 90d``
   does once the days are stored).

Usage: python benchmarks/report_scale.py [--conversations 100000] [--days 90]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.services.analytics import build_report
from bot.services.events import DomainEvent, EventKind
from bot.services.hours import BusinessHours
from bot.services.rollup import DailyFigures
from bot.store import Keys

DAY = 24 * 3600.0
REASONS = ("asked_for_human", "low_confidence", "negative_sentiment", "repeated_question")


def history(conversations: int, days: int, end: float, seed: int = 7) -> list[DomainEvent]:
    rng = random.Random(seed)
    start = end - days * DAY
    events: list[DomainEvent] = []
    for n in range(conversations):
        chat, at = 10_000 + n, start + rng.random() * (days - 2) * DAY

        def add(
            kind: EventKind, after: float, chat: int = chat, at: float = at, **fields
        ) -> float:
            events.append(DomainEvent(kind, chat_id=chat, at=at + after, **fields))
            return after

        add(EventKind.MESSAGE_RECEIVED, 0, message_kind="text", sentiment=rng.uniform(-1, 1))
        case = rng.random()
        entry = f"entry-{rng.randrange(150)}"
        if case < 0.75:
            add(
                EventKind.ANSWERED,
                0.2,
                answer_id=f"a{n}",
                entry_id=entry,
                confidence=0.8,
                source="faq",
            )
            if case < 0.3:
                add(EventKind.MESSAGE_RECEIVED, 20, message_kind="callback")
                add(EventKind.FEEDBACK, 20, answer_id=f"a{n}", entry_id=entry, helpful=True)
            elif case < 0.6:
                pass  # silent: assumed resolved
            else:
                add(EventKind.MESSAGE_RECEIVED, 60, message_kind="text", sentiment=-0.5)
                add(
                    EventKind.ESCALATED,
                    60.5,
                    ticket_id=f"t{n}",
                    reason=rng.choice(REASONS),
                    is_new=True,
                )
        else:
            add(
                EventKind.ESCALATED,
                0.3,
                ticket_id=f"t{n}",
                reason=rng.choice(REASONS),
                is_new=True,
            )
        if any(e.ticket_id == f"t{n}" for e in events[-2:]):
            agent = f"agent-{rng.randrange(8)}"
            t = rng.uniform(60, 3600)
            add(EventKind.TICKET_CLAIMED, t, ticket_id=f"t{n}", actor=agent)
            add(EventKind.TICKET_REPLIED, t + 30, ticket_id=f"t{n}", actor=agent)
            add(EventKind.TICKET_CLOSED, t + 900, ticket_id=f"t{n}", actor=agent)
            add(EventKind.RATING, t + 960, ticket_id=f"t{n}", score=rng.randint(1, 5))
    events.sort(key=lambda e: e.at)
    return events


async def main(conversations: int, days: int, redis_url: str) -> None:
    now = time.time()
    t = time.perf_counter()
    events = history(conversations, days, now)
    print(
        f"generated {conversations:,} conversations, {len(events):,} events in {time.perf_counter() - t:.1f} s"
    )

    t = time.perf_counter()
    raw = build_report(events, since=now - days * DAY, until=now, now=now)
    print(
        f"1. report from the raw events in memory: {time.perf_counter() - t:.1f} s "
        f"({raw.conversations:,} conversations, resolution {raw.to_json()['resolution_rate']})"
    )

    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench-report-{uuid.uuid4().hex[:8]}")
    try:
        t = time.perf_counter()
        for i in range(0, len(events), 5000):
            async with redis.pipeline(transaction=False) as pipe:
                for j, e in enumerate(events[i : i + 5000]):
                    pipe.xadd(keys.events(), e.to_fields(), id=f"{int(e.at * 1000)}-{i + j}")
                await pipe.execute()
        print(f"   (wrote the events to Redis in {time.perf_counter() - t:.1f} s)")
        figures = DailyFigures(redis, keys, BusinessHours((), UTC))
        t = time.perf_counter()
        rolled = await figures.roll(now)
        print(f"2. stored {len(rolled)} days' figures in {time.perf_counter() - t:.1f} s")
        await redis.delete(keys.events())  # the raw events are gone: only stored days remain
        t = time.perf_counter()
        stored = await figures.report(
            figures.bounds(rolled[0])[0], figures.bounds(rolled[-1])[1], now
        )
        took = time.perf_counter() - t
        print(
            f"3. report of {len(rolled)} stored days: {took * 1000:.0f} ms "
            f"({stored.conversations:,} conversations, resolution {stored.to_json()['resolution_rate']})"
        )
    finally:
        async for key in redis.scan_iter(match=f"{keys.prefix}*"):
            await redis.delete(key)
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.days, args.redis))
