"""Business hours and holidays of a service: whether it is open at a moment, and when that
changes next.

Opening hours are weekly ranges in the service's time zone (IANA name, so summer time moves
with the clocks); a range whose end is not after its start runs past midnight into the next day.
A holiday closes whole calendar days (a date or a range of dates, inclusive), once or every
year. Time is an argument (epoch seconds), as everywhere in the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class WeeklyRange:
    """Open on `weekday` (0 Monday .. 6 Sunday) from minute `start` to minute `end` of the day
    (0..1440); end <= start: until `end` of the next day."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Holiday:
    """Closed from `first` to `last` (inclusive). `yearly`: on those days every year (a range
    may run over New Year, e.g. 24 December to 2 January)."""

    name: str
    first: date
    last: date
    yearly: bool = False

    def covers(self, day: date) -> bool:
        if not self.yearly:
            return self.first <= day <= self.last
        key = (day.month, day.day)
        start, end = (self.first.month, self.first.day), (self.last.month, self.last.day)
        if start <= end:
            return start <= key <= end
        return key >= start or key <= end  # over New Year


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A service's calendar. No weekly ranges means open at all hours except on holidays."""

    timezone: str = "UTC"
    weekly: tuple[WeeklyRange, ...] = ()
    holidays: tuple[Holiday, ...] = ()


@cache
def zone(name: str) -> ZoneInfo:
    """The time zone by IANA name; an unknown name is UTC (the admin API refuses those)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def holiday_on(hours: OpeningHours, day: date) -> Holiday | None:
    for holiday in hours.holidays:
        if holiday.covers(day):
            return holiday
    return None


def _weekly_open(hours: OpeningHours, local: datetime) -> bool:
    if not hours.weekly:
        return True
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    previous = (weekday - 1) % 7
    for r in hours.weekly:
        if r.end > r.start:
            if r.weekday == weekday and r.start <= minute < r.end:
                return True
        elif (r.weekday == weekday and minute >= r.start) or (
            r.weekday == previous and minute < r.end
        ):
            return True
    return False


def is_open(hours: OpeningHours | None, now: float) -> bool:
    """Whether a call arriving at `now` finds the service open (None: always open)."""
    if hours is None:
        return True
    local = datetime.fromtimestamp(now, zone(hours.timezone))
    if holiday_on(hours, local.date()) is not None:
        return False
    return _weekly_open(hours, local)


def next_change(hours: OpeningHours | None, now: float, horizon_days: int = 400) -> float | None:
    """When `is_open` changes next after `now` (epoch seconds), or None if it never does within
    the horizon. Checked minute by minute at the calendar's edges only: every range boundary and
    midnight, in local time."""
    if hours is None:
        return None
    tz = zone(hours.timezone)
    current = is_open(hours, now)
    local = datetime.fromtimestamp(now, tz)
    edges = sorted(
        {0} | {r.start for r in hours.weekly} | {r.end % MINUTES_PER_DAY for r in hours.weekly}
    )
    day = local.date()
    for offset in range(horizon_days + 1):
        d = day + timedelta(days=offset)
        for minute in edges:
            at = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=tz)
            stamp = at.timestamp()
            if stamp <= now:
                continue
            if is_open(hours, stamp) != current:
                return stamp
    return None
