"""Each day's support figures, kept long after the raw events are trimmed.

The event stream is capped (``MAX_EVENTS``), so a day's report is stored once its conversations
are decided (two days after it ends: a conversation needs 24 h of silence, and may have started
at the day's last minute). A period's report is the stored days merged, with the days not stored
yet (today, yesterday) computed from the raw events. Days follow the business's time zone
(``ESCALATION__TIMEZONE``). Any worker may store a day: the figures are a function of the events,
and a lock keeps two from doing the same work at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from redis.asyncio import Redis

from bot.services.analytics import CONVERSATION_GAP_S, Report, build_report
from bot.services.events import RedisEventLog
from bot.services.hours import BusinessHours
from bot.store import Keys

log = logging.getLogger(__name__)

SETTLE_S = 2 * 24 * 3600  # after a day ends, until its conversations are all decided
KEEP_DAYS = 400  # stored days expire after this long (the report reaches back as far)
ROLL_EVERY_S = 3600


class DailyFigures:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        hours: BusinessHours,
        *,
        keep_days: int = KEEP_DAYS,
    ) -> None:
        self.redis, self.keys, self.hours = redis, keys, hours
        self.events = RedisEventLog(redis, keys)
        self.keep_s = keep_days * 24 * 3600

    def bounds(self, day: date) -> tuple[float, float]:
        """The day from local midnight to the next (23 or 25 hours when the clocks change)."""
        start = datetime.combine(day, clock(), tzinfo=self.hours.tz)
        end = datetime.combine(day + timedelta(days=1), clock(), tzinfo=self.hours.tz)
        return start.timestamp(), end.timestamp()

    def day_of(self, moment: float) -> date:
        return datetime.fromtimestamp(moment, self.hours.tz).date()

    async def roll(self, now: float | None = None) -> list[date]:
        """Store every settled day the raw events still cover and no worker stored yet."""
        now = time.time() if now is None else now
        first = await self.redis.xrange(self.keys.events(), count=1)
        if not first:
            return []
        oldest = int(str(first[0][0]).split("-")[0]) / 1000
        # The oldest day may have lost its start to the cap: begin with the day after it.
        day, rolled = self.day_of(oldest) + timedelta(days=1), []
        while self.bounds(day)[1] + SETTLE_S <= now:
            key = self.keys.stats_day(day.isoformat())
            if not await self.redis.exists(key):
                start, end = self.bounds(day)
                events = await self.events.between(start - CONVERSATION_GAP_S, end + SETTLE_S)
                report = build_report(
                    events, since=start, until=end, now=end + SETTLE_S, hours=self.hours
                )
                await self.redis.set(key, json.dumps(report.state()), ex=self.keep_s, nx=True)
                rolled.append(day)
            day += timedelta(days=1)
        return rolled

    async def report(self, since: float, until: float, now: float | None = None) -> Report:
        """The period's figures: stored days where the period covers them whole, raw events for
        the rest."""
        now = time.time() if now is None else now
        days: list[date] = []
        day = self.day_of(since)
        while self.bounds(day)[0] < until:
            days.append(day)
            day += timedelta(days=1)
        stored = await self.redis.mget([self.keys.stats_day(d.isoformat()) for d in days])
        parts: list[Report] = []
        raw: list[tuple[float, float]] = []
        for d, value in zip(days, stored, strict=True):
            start, end = self.bounds(d)
            if value is not None and since <= start and end <= until:
                parts.append(Report.from_state(json.loads(value)))
            elif raw and raw[-1][1] == max(start, since):
                raw[-1] = (raw[-1][0], min(end, until))
            else:
                raw.append((max(start, since), min(end, until)))
        if raw or not parts:
            first = raw[0][0] if raw else since
            events = await self.events.between(first - CONVERSATION_GAP_S, now)
            for start, end in raw or [(since, until)]:
                parts.append(
                    build_report(events, since=start, until=end, now=now, hours=self.hours)
                )
        return Report.merge(sorted(parts, key=lambda r: r.since))

    async def days(self, first: date, last: date, now: float | None = None) -> list[Report]:
        """One report per day from ``first`` to ``last`` (the plots' points): stored days as
        stored, the others from the raw events, read once."""
        now = time.time() if now is None else now
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        stored = await self.redis.mget([self.keys.stats_day(d.isoformat()) for d in days])
        missing = [d for d, value in zip(days, stored, strict=True) if value is None]
        events = []
        if missing:
            start = self.bounds(missing[0])[0]
            events = await self.events.between(start - CONVERSATION_GAP_S, now)
        out = []
        for d, value in zip(days, stored, strict=True):
            if value is not None:
                out.append(Report.from_state(json.loads(value)))
                continue
            start, end = self.bounds(d)
            out.append(build_report(events, since=start, until=end, now=now, hours=self.hours))
        return out

    async def run(self, interval: float = ROLL_EVERY_S) -> None:
        """Store settled days every ``interval`` seconds (one worker at a time)."""
        while True:
            try:
                if await self.redis.set(self.keys.stats_lock(), "1", nx=True, ex=600):
                    try:
                        rolled = await self.roll()
                    finally:
                        await self.redis.delete(self.keys.stats_lock())
                    if rolled:
                        log.info("support figures stored for %d day(s)", len(rolled))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("storing the daily support figures failed; trying again later")
            await asyncio.sleep(interval)
