"""Clock times for unattended runs: a daily window (``22:00-07:00``) and an end time.

Plain local wall-clock arithmetic, no dates stored: a window may cross midnight,
and ``HH:MM`` as an end time means its next occurrence (``06:00`` at 23:00 is
tomorrow morning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_hhmm(text: str) -> int:
    """Minutes after midnight of ``HH:MM`` (24-hour clock); ``ValueError`` otherwise."""
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"expected a time like 07:00 or 22:30, got {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class TimeWindow:
    """Every day from ``start`` to ``end`` (minutes after midnight); may cross midnight."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        parts = text.split("-")
        if len(parts) != 2:
            raise ValueError(f"expected a window like 22:00-07:00, got {text!r}")
        start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
        if start == end:
            raise ValueError(f"the window {text!r} is empty (start equals end)")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    def contains(self, moment: datetime) -> bool:
        minute = moment.hour * 60 + moment.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def next_open(self, moment: datetime) -> datetime:
        """When the window next opens (``moment`` itself if it is open)."""
        if self.contains(moment):
            return moment
        return next_time(self.start, moment)


def next_time(minutes: int, moment: datetime) -> datetime:
    """The next moment at ``minutes`` after midnight, strictly after ``moment``'s minute."""
    today = moment.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
    return today if today > moment else today + timedelta(days=1)
