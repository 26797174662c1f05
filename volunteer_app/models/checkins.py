"""Checkpoints (patrol points with a printed poster), events, check-ins and used code steps."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import GRID_LENGTH, utc_field


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="teams.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    #: The grid (网格) the checkpoint lies in, for reports by grid.
    grid: str = Field(default="", max_length=GRID_LENGTH, sa_column_kwargs={"server_default": ""})
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int = Field(default=150)
    require_location: bool = Field(default=False)
    points: int = Field(default=5)
    cooldown_minutes: int = Field(default=30)
    active: bool = Field(default=True)
    #: Part of the signed poster token; bumping it voids every printed poster.
    code_version: int = Field(default=1)
    #: A duty post (茶室, 调解室, 警务亭): the first scan signs in, the next signs out (a service record).
    duty_post: bool = Field(default=False)
    #: The service kind of a duty post's records.
    service_kind: str = Field(default="tea_room", max_length=32)
    #: A duty left open longer closes at sign-in + this, pending a coordinator's look.
    max_duty_hours: int = Field(default=12)
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
    #: The service kind of the event's records.
    service_kind: str = Field(default="publicity", max_length=32)
    #: "scans": minutes from sign-in to sign-out (a second code); "full": the whole event for all who signed in.
    credit: str = Field(default="scans", max_length=8)
    #: The coordinator switched the live screen to the sign-out code before its last 30 minutes.
    signout_open: bool = Field(default=False)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class Checkin(SQLModel, table=True):
    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", "direction", name="uq_checkins_event_user_direction"),
        Index("ix_checkins_user_checkpoint_created", "user_id", "checkpoint_id", "created_at"),
        Index("ix_checkins_checkpoint_created", "checkpoint_id", "created_at"),
        Index("ix_checkins_created_at", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(max_length=16)  # "checkpoint" or "event"
    #: "in", or "out" for the scan that signs out of a duty post or an event (it earns no points).
    direction: str = Field(default="in", max_length=4)
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
