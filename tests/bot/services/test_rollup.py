"""Days' figures stored in Redis outlive the raw events and merge into any period's report."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.services.events import DomainEvent, EventKind
from bot.services.hours import BusinessHours
from bot.services.rollup import DailyFigures
from bot.store import Keys
from tests.bot.services.test_analytics import SCRIPT, T0

DAY = 24 * 3600


async def record_at(redis: Redis, keys: Keys, events: list[DomainEvent]) -> None:
    """As the bot records them, with the stream ids of their own time (the test's past)."""
    for i, event in enumerate(sorted(events, key=lambda e: e.at)):
        await redis.xadd(keys.events(), event.to_fields(), id=f"{int(event.at * 1000)}-{i}")


async def test_stored_days_give_the_same_report_once_the_raw_events_are_gone(
    redis_client: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day5, day3 = today - timedelta(days=5), today - timedelta(days=3)
    events = [
        DomainEvent(EventKind.KB_CHANGED, version=1, at=(today - timedelta(days=7)).timestamp())
    ]
    for day in (day5, day3):
        shift = day.timestamp() + 10 * 3600 - T0  # the script's 10:00 on that day
        events += [
            dataclasses.replace(
                e,
                at=e.at + shift,
                ticket_id=e.ticket_id and f"{e.ticket_id}-{day.day}",  # ids are unique
                answer_id=e.answer_id and f"{e.answer_id}-{day.day}",
            )
            for e in SCRIPT
        ]
    await record_at(redis_client, keys, events)
    figures = DailyFigures(redis_client, keys, BusinessHours((), UTC))
    now = time.time()
    since, until = day5.timestamp(), (day3 + timedelta(days=1)).timestamp()
    from_raw = (await figures.report(since, until, now)).to_json()
    # each day's script: 7 conversations, one of them starting at 06:00 the next day
    assert from_raw["conversations"] == 13 and from_raw["tickets"] == 4

    rolled = await figures.roll(now)
    # every settled day after the oldest (whose start the stream's cap may have cut)
    assert [d.isoformat() for d in rolled] == [
        (today - timedelta(days=n)).date().isoformat() for n in (6, 5, 4, 3)
    ]
    assert await figures.roll(now) == []  # stored once
    stored = json.loads(await redis_client.get(keys.stats_day(day5.date().isoformat())))
    assert stored["conversations"] == 6
    ttl = await redis_client.ttl(keys.stats_day(day5.date().isoformat()))
    assert 399 * DAY < ttl <= 400 * DAY

    await redis_client.delete(keys.events())  # the raw events trimmed away
    assert (await figures.report(since, until, now)).to_json() == from_raw
    # a period that starts mid-day needs raw events for that day: only the stored days count
    partial = (await figures.report(since + 3600, until, now)).to_json()
    assert partial["conversations"] == 7  # day 4's one and day 3's six


async def test_several_processes_recording_at_once_lose_no_event(
    redis_client: Redis, key_prefix: str
) -> None:
    """Three processes each record 150 conversations at the same time; the report counts all."""
    import asyncio
    import sys

    from tests.conftest import REDIS_URL

    script = (
        "import asyncio, sys, time\n"
        "from redis.asyncio import Redis\n"
        "from bot.services.events import DomainEvent, EventKind, RedisEventLog\n"
        "from bot.store import Keys\n"
        "async def main(worker):\n"
        f"    redis = Redis.from_url({REDIS_URL!r}, decode_responses=True)\n"
        f"    log = RedisEventLog(redis, Keys({key_prefix!r}))\n"
        "    async def one(n):\n"
        "        chat = worker * 1000 + n\n"
        "        await log.record(DomainEvent(EventKind.MESSAGE_RECEIVED, chat_id=chat, message_kind='text'))\n"
        "        await log.record(DomainEvent(EventKind.ANSWERED, chat_id=chat, answer_id=f'{chat}', entry_id='e'))\n"
        "    await asyncio.gather(*(one(n) for n in range(150)))\n"
        "    await redis.aclose()\n"
        "asyncio.run(main(int(sys.argv[1])))\n"
    )
    workers = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(w))
        for w in range(1, 4)
    ]
    assert [await w.wait() for w in workers] == [0, 0, 0]
    assert await redis_client.xlen(Keys(key_prefix).events()) == 900
    figures = DailyFigures(redis_client, Keys(key_prefix), BusinessHours((), UTC))
    now = time.time()
    report = (await figures.report(now - 3600, now + 1, now)).to_json()
    assert report["conversations"] == 450 and report["involvement_rate"] == 1.0
