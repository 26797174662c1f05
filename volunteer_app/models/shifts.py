"""Shifts along patrol routes, sign-ups with a waitlist, no-show clearances, calendar feeds."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field

SIGNUP_STATUSES = ("confirmed", "waitlisted", "cancelled", "no_show")


class Shift(SQLModel, table=True):
    __tablename__ = "shifts"
    __table_args__ = (
        Index("ix_shifts_team_starts", "team_id", "starts_at"),
        Index("ix_shifts_station_starts", "station_id", "starts_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    team_id: int = Field(foreign_key="teams.id")
    #: A shift for one sub-unit of the team: only its members sign up.
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    title: str = Field(max_length=200)
    starts_at: datetime = utc_field()
    #: May fall on the next day (night shifts cross midnight).
    ends_at: datetime = utc_field()
    capacity: int = Field(default=1)
    points_per_hour: int = Field(default=10)
    #: Shifts made together by "repeat weekly" share a series id (a hex string).
    series_id: str | None = Field(default=None, max_length=32, index=True)
    cancelled: bool = Field(default=False)
    cancelled_at: datetime | None = utc_field(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class ShiftCheckpoint(SQLModel, table=True):
    """One stop of a shift's route; ``position`` orders the route from 0."""

    __tablename__ = "shift_checkpoints"
    __table_args__ = (UniqueConstraint("shift_id", "position", name="uq_shift_checkpoints_shift_position"),)
    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shifts.id", index=True)
    checkpoint_id: int = Field(foreign_key="checkpoints.id", index=True)
    position: int


class ShiftSignup(SQLModel, table=True):
    __tablename__ = "shift_signups"
    __table_args__ = (
        UniqueConstraint("shift_id", "user_id", name="uq_shift_signups_shift_user"),
        Index("ix_shift_signups_user_status", "user_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shifts.id", index=True)
    user_id: int = Field(foreign_key="users.id")
    status: str = Field(default="confirmed", max_length=16)  # SIGNUP_STATUSES
    #: Order of arrival (per shift, rising); the waitlist position is the rank among the waitlisted.
    seq: int = Field(default=0)
    signed_up_at: datetime = utc_field(default_now=True)
    confirmed_at: datetime | None = utc_field(nullable=True)
    cancelled_at: datetime | None = utc_field(nullable=True)
    completed_at: datetime | None = utc_field(nullable=True)
    minutes_credited: int = Field(default=0)
    points_awarded: int = Field(default=0)
    #: A coordinator who confirmed attendance by hand (phone died); None when the route was scanned.
    confirmed_by_id: int | None = Field(default=None, foreign_key="users.id")
    no_show_comment: str = Field(default="", max_length=500)
    no_show_by_id: int | None = Field(default=None, foreign_key="users.id")
    no_show_at: datetime | None = utc_field(nullable=True)


class NoShowClearance(SQLModel, table=True):
    """A coordinator lifted a volunteer's no-show block: no-shows before ``cleared_at`` no longer count."""

    __tablename__ = "no_show_clearances"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    cleared_by_id: int = Field(foreign_key="users.id")
    comment: str = Field(default="", max_length=500)
    cleared_at: datetime = utc_field(default_now=True)


class CalendarFeed(SQLModel, table=True):
    """A person's iCalendar feed; the secret URL is an HMAC over (user, version): bumping the
    version revokes every URL given out before."""

    __tablename__ = "calendar_feeds"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    version: int = Field(default=1)
    active: bool = Field(default=True)
    created_at: datetime = utc_field(default_now=True)
