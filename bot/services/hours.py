"""When agents are at work: ``Mon-Fri 08:00-20:00; Sat 09:00-14:00`` in one time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART_RE = re.compile(
    r"^(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})$"
)


@dataclass(frozen=True, slots=True)
class Window:
    """Open on ``weekday`` (0 = Monday) from ``start`` to ``end`` (local time)."""

    weekday: int
    start: time
    end: time


class BusinessHours:
    """Weekly opening windows; no windows means agents are always available."""

    def __init__(self, windows: tuple[Window, ...], tz: ZoneInfo) -> None:
        self.windows = windows
        self.tz = tz

    @classmethod
    def parse(cls, spec: str, timezone: str) -> BusinessHours:
        """Parse ``"Mon-Fri 08:00-20:00; Sat 09:00-14:00"``; raise ValueError saying what is wrong."""
        windows: list[Window] = []
        for raw in (p.strip() for p in spec.replace(",", ";").split(";")):
            if not raw:
                continue
            match = _PART_RE.match(raw.lower())
            if match is None:
                raise ValueError(f"cannot read {raw!r}; expected like 'Mon-Fri 08:00-20:00'")
            d1, d2 = match["d1"], match["d2"] or match["d1"]
            if d1 not in DAYS or d2 not in DAYS:
                raise ValueError(f"unknown day in {raw!r}; use Mon Tue Wed Thu Fri Sat Sun")
            try:
                start = time(int(match["h1"]), int(match["m1"]))
                end = (
                    time(23, 59, 59)
                    if (match["h2"], match["m2"]) == ("24", "00")
                    else time(int(match["h2"]), int(match["m2"]))
                )
            except ValueError:
                raise ValueError(f"impossible time in {raw!r}") from None
            if end <= start:
                raise ValueError(f"closing time must be after opening time in {raw!r}")
            first, last = DAYS.index(d1), DAYS.index(d2)
            days = (
                range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
            )
            windows.extend(Window(day, start, end) for day in days)
        return cls(tuple(windows), ZoneInfo(timezone))

    @property
    def always_open(self) -> bool:
        return not self.windows

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.tz)
        now = local.time()
        return any(w.weekday == local.weekday() and w.start <= now < w.end for w in self.windows)

    def next_opening(self, at: datetime) -> datetime | None:
        """The next moment agents are back (local time), or None when they are there now."""
        if self.is_open(at):
            return None
        local = at.astimezone(self.tz)
        best: datetime | None = None
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for w in self.windows:
                if w.weekday != day.weekday():
                    continue
                start = datetime.combine(day, w.start, tzinfo=self.tz)
                if start > local and (best is None or start < best):
                    best = start
            if best is not None:
                return best
        return best

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds between ``start`` and ``end`` that fall within opening hours (a wait that
        began on Friday evening and ended on Monday morning counts only Monday's part)."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        first, last = start.astimezone(self.tz), end.astimezone(self.tz)
        total = 0.0
        day = first.date()
        while day <= last.date():
            for w in self.windows:
                if w.weekday != day.weekday():
                    continue
                opens = datetime.combine(day, w.start, tzinfo=self.tz)
                closes = datetime.combine(day, w.end, tzinfo=self.tz)
                overlap = (min(closes, last) - max(opens, first)).total_seconds()
                total += max(overlap, 0.0)
            day += timedelta(days=1)
        return total
