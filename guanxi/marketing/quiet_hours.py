"""Quiet hours: the local night in which no marketing message goes out.

A window is given by its local start and end times (default 21:00–08:00 in
``Settings.timezone``, Asia/Shanghai). It may wrap midnight (start > end) or
not (start < end); start == end means no quiet hours. A message due inside the
window is **delayed** to the window's end on the local clock — never dropped.
Transactional messages do not pass through here.

Pure functions; every datetime is time-zone aware and results are in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from guanxi.errors import ValidationFailedError


def parse_clock(value: str) -> time:
    """``"21:00"`` → ``time(21, 0)``; raises ValidationFailedError for anything but ``HH:MM``."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError as err:
        raise ValidationFailedError(f"{value!r} is not a time of day: use HH:MM, e.g. 21:00") from err


@dataclass(frozen=True)
class QuietHours:
    """A nightly window ``[start, end)`` on the local clock of ``zone``."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def of(cls, start: str, end: str, zone: str | ZoneInfo) -> QuietHours:
        """From ``"HH:MM"`` strings; raises ValidationFailedError for a bad time."""
        return cls(
            parse_clock(start), parse_clock(end), zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        )

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window."""
        if self.empty:
            return False
        local = at.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, at: datetime) -> datetime:
        """``at`` itself when outside the window, else the window's end (UTC).

        The end is the first local ``end`` time after ``at``: a message due at
        23:30 goes at 08:00 the next morning, one due at 03:00 at 08:00 the
        same morning.
        """
        if at.tzinfo is None:
            raise ValueError("quiet hours need an aware datetime")
        if not self.contains(at):
            return at.astimezone(UTC)
        local = at.astimezone(self.zone)
        candidate = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return candidate.astimezone(UTC)
