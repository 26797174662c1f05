"""Clock and station time. Times are stored in UTC; days, weeks and months are station-local.

Services call :func:`utcnow` through this module (or take ``now=``), so tests inject the clock
by patching ``volunteer_app.timeutil.utcnow`` instead of sleeping.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
_station_tz = ZoneInfo("Asia/Shanghai")


def configure(tz_name: str) -> None:
    global _station_tz
    _station_tz = ZoneInfo(tz_name)


def station_tz() -> ZoneInfo:
    return _station_tz


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; naive values are taken as UTC (as stored)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    return as_utc(value).astimezone(_station_tz)


def local_midnight(day: date) -> datetime:
    """The UTC instant at which the station-local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=_station_tz).astimezone(UTC)


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """UTC start of the calendar ``period`` (day, week, month, year, all) containing ``now``."""
    today = local(now or utcnow()).date()
    if period == "day":
        return local_midnight(today)
    if period == "week":
        return local_midnight(today - timedelta(days=today.weekday()))
    if period == "month":
        return local_midnight(today.replace(day=1))
    if period == "year":
        return local_midnight(today.replace(month=1, day=1))
    if period == "all":
        return None
    raise ValueError(period)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 with the station's offset, as the API speaks."""
    return None if value is None else local(value).isoformat()
