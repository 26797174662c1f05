"""Clock and station time. Times are stored in UTC; days, weeks and months are station-local.

Services call :func:`utcnow` through this module (or take ``now=``), so tests inject the clock
by patching ``volunteer_app.timeutil.utcnow`` instead of sleeping. Every piece of calendar
arithmetic (periods, weeks, night hours) lives here, in the station's time zone.
"""
from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .settings import setting

UTC = timezone.utc
#: Night hours (station time) for night shifts, night check-ins and the night factor.
NIGHT_START, NIGHT_END = time(22, 0), time(6, 0)
#: The calendar periods a total is kept for, shortest first.
PERIODS = ("day", "week", "month", "year")


@functools.lru_cache(maxsize=None)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def station_tz() -> ZoneInfo:
    """The station's time zone (the ``STATION_TZ`` setting)."""
    return _zone(setting("STATION_TZ"))


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; naive values are taken as UTC (as stored)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    return as_utc(value).astimezone(station_tz())


def station_datetime(day: date, clock: time) -> datetime:
    """The UTC instant of the station-local wall-clock time ``clock`` on ``day``."""
    return datetime.combine(day, clock, tzinfo=station_tz()).astimezone(UTC)


def local_midnight(day: date) -> datetime:
    """The UTC instant at which the station-local ``day`` begins."""
    return station_datetime(day, time(0))


def period_starts(when: datetime) -> dict[str, date]:
    """The station-local first day of each calendar period (:data:`PERIODS`) containing ``when``."""
    day = local(when).date()
    return {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1),
            "year": day.replace(month=1, day=1)}


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """UTC start of the calendar ``period`` (day, week, month, year, all) containing ``now``."""
    if period == "all":
        return None
    if period not in PERIODS:
        raise ValueError(period)
    return local_midnight(period_starts(now or utcnow())[period])


def week_bounds(day: date) -> tuple[date, datetime, datetime]:
    """(Monday, UTC start, UTC end) of the station-local week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, local_midnight(monday), local_midnight(monday + timedelta(days=7))


def is_night(value: datetime) -> bool:
    """Whether ``value`` falls between 22:00 and 06:00 station time."""
    clock = local(value).time()
    return clock >= NIGHT_START or clock < NIGHT_END


def night_minutes(starts_at: datetime, ends_at: datetime) -> int:
    """Minutes of ``[starts_at, ends_at)`` between 22:00 and 06:00 station time."""
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    total = timedelta()
    day = local(starts_at).date() - timedelta(days=1)
    while local_midnight(day) < ends_at:
        overlap = (min(ends_at, station_datetime(day + timedelta(days=1), NIGHT_END))
                   - max(starts_at, station_datetime(day, NIGHT_START)))
        total += max(overlap, timedelta())
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 with the station's offset, as the API speaks."""
    return None if value is None else local(value).isoformat()
