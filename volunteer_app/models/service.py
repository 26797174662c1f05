"""Service records (服务记录): every stretch of service a volunteer gave, and the station's kinds of
service. Hours anywhere are the sum of the ``confirmed`` records' minutes."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field

SERVICE_SOURCES = ("route", "duty_post", "outing", "event", "makeup", "entry", "care_visit", "mediation")
SERVICE_STATUSES = ("open", "pending", "confirmed", "rejected")


class ServiceKind(SQLModel, table=True):
    """A station's own kind of service, or its settings for a default kind (same ``key``)."""

    __tablename__ = "service_kinds"
    __table_args__ = (UniqueConstraint("station_id", "key", name="uq_service_kinds_station_key"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    key: str = Field(max_length=32)
    #: Empty for a default kind: its translated name is shown.
    name: str = Field(default="", max_length=50)
    points_per_hour: int = Field(default=10)
    makeup_earns_points: bool = Field(default=False)
    active: bool = Field(default=True)
    created_at: datetime = utc_field(default_now=True)


class ServiceRecord(SQLModel, table=True):
    __tablename__ = "service_records"
    __table_args__ = (
        Index("ix_service_records_user_started", "user_id", "started_at"),
        Index("ix_service_records_station_status", "station_id", "status"),
        Index("ix_service_records_status_started", "status", "started_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(max_length=32)
    place: str = Field(default="", max_length=200)
    checkpoint_id: int | None = Field(default=None, foreign_key="checkpoints.id")
    event_id: int | None = Field(default=None, foreign_key="events.id")
    shift_id: int | None = Field(default=None, foreign_key="shifts.id")
    started_at: datetime = utc_field()
    #: None while the record is open (signed in, not out).
    ended_at: datetime | None = utc_field(nullable=True)
    #: The last scan that made or extended a scan-made record (an outing's end is this plus the tail).
    last_scan_at: datetime | None = utc_field(nullable=True)
    minutes: int = Field(default=0)
    #: Minutes with those between 22:00 and 06:00 station time counted x the night factor.
    weighted_minutes: int = Field(default=0)
    #: Points of the record's own ``service`` ledger entry (0 for route, outing and event records).
    points: int = Field(default=0)
    source: str = Field(max_length=16)  # SERVICE_SOURCES
    status: str = Field(max_length=16)  # SERVICE_STATUSES
    note: str = Field(default="", max_length=500)
    #: The coordinator's reason for a rejection or a correction.
    review_note: str = Field(default="", max_length=500)
    #: A make-up's photo (stored file name under the uploads folder), if any.
    photo: str | None = Field(default=None, max_length=100)
    #: One record per (shift, volunteer) and (event, volunteer): ``route:<shift>:<user>``, ``event:<event>:<user>``.
    source_key: str | None = Field(default=None, max_length=64, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    confirmed_by_id: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)


class ServiceDayTotal(SQLModel, table=True):
    """One person's confirmed minutes and records of one kind on one station-local day (the day
    the service started): what the hours reports sum instead of the records. Kept with every
    confirmation by ``services/service.py``; ``check`` proves it equals the records."""

    __tablename__ = "service_day_totals"
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    minutes: int = Field(default=0)
    records: int = Field(default=0)


class ServiceStationDay(SQLModel, table=True):
    """A station's confirmed minutes and records of one kind on one day: the sum of its people's
    :class:`ServiceDayTotal` rows, for the station-wide figures (written at the end of each
    transaction, in key order, so that it never waits on a person's row while holding its own)."""

    __tablename__ = "service_station_days"
    station_id: int = Field(foreign_key="stations.id", primary_key=True)
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    minutes: int = Field(default=0)
    records: int = Field(default=0)


class ServiceTeamDay(SQLModel, table=True):
    """A team's confirmed minutes and records on one day, per sub-unit: the sum of the
    :class:`ServiceDayTotal` rows of the team's members as they are now (``unit_id`` 0: the
    members in no sub-unit). Kept with every confirmation and with every change of membership
    (joining, leaving, moving sub-unit), written at the end of the transaction in key order as the
    station's are; ``check`` proves it equals the members' totals."""

    __tablename__ = "service_team_days"
    team_id: int = Field(foreign_key="teams.id", primary_key=True)
    unit_id: int = Field(default=0, primary_key=True)
    day: date = Field(primary_key=True)
    minutes: int = Field(default=0)
    records: int = Field(default=0)
