"""Checkpoints (patrol points with a printed poster), events, check-ins and used code steps."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int = Field(default=150)
    require_location: bool = Field(default=False)
    points: int = Field(default=5)
    cooldown_minutes: int = Field(default=30)
    active: bool = Field(default=True)
    #: Part of the signed poster token; bumping it voids every printed poster.
    code_version: int = Field(default=1)
    created_at: datetime = utc_field(default_now=True)


class Event(SQLModel, table=True):
    __tablename__ = "events"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True)
    title: str = Field(max_length=200)
    location: str = Field(default="", max_length=200)
    starts_at: datetime = utc_field()
    ends_at: datetime = utc_field()
    points: int = Field(default=10)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class Checkin(SQLModel, table=True):
    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_checkins_event_user"),
        Index("ix_checkins_user_checkpoint_created", "user_id", "checkpoint_id", "created_at"),
        Index("ix_checkins_checkpoint_created", "checkpoint_id", "created_at"),
        Index("ix_checkins_created_at", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(max_length=16)  # "checkpoint" or "event"
    checkpoint_id: int | None = Field(default=None, foreign_key="checkpoints.id")
    event_id: int | None = Field(default=None, foreign_key="events.id")
    shift_id: int | None = Field(default=None)
    points_awarded: int = Field(default=0)
    latitude: float | None = None
    longitude: float | None = None
    #: A leader who checked in someone without a smartphone.
    recorded_by_id: int | None = Field(default=None, foreign_key="users.id")
    #: When the scan was made (a queued scan's ``scanned_at``); every rule is judged at it.
    created_at: datetime = utc_field(default_now=True)
    #: When the server had it: later than ``created_at`` for a scan kept on a phone without signal.
    received_at: datetime = utc_field(default_now=True)


class UsedCode(SQLModel, table=True):
    """A time step of a person's code that has been used (member cards: one visit per step)."""

    __tablename__ = "used_codes"
    __table_args__ = (UniqueConstraint("user_id", "purpose", "counter", name="uq_used_codes_user_purpose_counter"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    purpose: str = Field(max_length=16)
    counter: int
    used_by: int = Field(foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)
