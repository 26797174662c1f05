"""Column types shared by every table."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

from ..timeutil import UTC, as_utc, utcnow

#: Ids are INTEGER columns: 32-bit on PostgreSQL. A larger id names no row (and must not reach a query).
MAX_ID = 2**31 - 1

#: A grid (网格) or a police assistant's area: on checkpoints, tips, care households and users.
GRID_LENGTH = 64


class UTCDateTime(TypeDecorator):
    """An aware datetime kept in UTC on every engine (naive UTC on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def utc_field(*, default_now: bool = False, nullable: bool = False, index: bool = False, **kwargs: Any):
    """A timestamp column; ``default_now`` fills it with the current UTC time."""
    if default_now:
        kwargs["default_factory"] = utcnow
    elif nullable:
        kwargs["default"] = None
    return Field(sa_type=UTCDateTime(), nullable=nullable, index=index, **kwargs)
