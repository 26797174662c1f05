"""Care visits (关爱走访): the households a station visits regularly, who is assigned to them,
and each visit. A household's name, address, contact and needs, and a visit's notes, are
personal data: kept encrypted (``*_sealed``), opened only through ``services/care.py``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import GRID_LENGTH, utc_field

HOUSEHOLD_KINDS = ("elderly_alone", "left_behind_child", "disability", "other")
VISIT_CONDITIONS = ("well", "fair", "poor")


class CareHousehold(SQLModel, table=True):
    __tablename__ = "care_households"
    __table_args__ = (Index("ix_care_households_station_active", "station_id", "active"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    kind: str = Field(max_length=32)  # HOUSEHOLD_KINDS
    #: What the list shows (e.g. "3组 独居老人 A"): no name, no address.
    label: str = Field(max_length=50)
    grid: str = Field(default="", max_length=GRID_LENGTH)
    name_sealed: str = Field(default="", max_length=1000)
    address_sealed: str = Field(default="", max_length=1000)
    contact_sealed: str = Field(default="", max_length=1000)
    needs_sealed: str = Field(default="", max_length=3000)
    visit_every_days: int = Field(default=14)
    last_visited_at: datetime | None = utc_field(nullable=True)
    active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class CareAssignment(SQLModel, table=True):
    """A volunteer assigned to visit a household."""

    __tablename__ = "care_assignments"
    __table_args__ = (UniqueConstraint("household_id", "user_id", name="uq_care_assignments_household_user"),
                      Index("ix_care_assignments_user", "user_id"))
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    household_id: int = Field(foreign_key="care_households.id")
    user_id: int = Field(foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class CareVisit(SQLModel, table=True):
    __tablename__ = "care_visits"
    __table_args__ = (Index("ix_care_visits_household_started", "household_id", "started_at"),
                      Index("ix_care_visits_station_concern", "station_id", "concern"))
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    household_id: int = Field(foreign_key="care_households.id")
    started_at: datetime = utc_field()
    ended_at: datetime = utc_field()
    condition: str = Field(max_length=16)  # VISIT_CONDITIONS
    concern: bool = Field(default=False)
    note_sealed: str = Field(default="", max_length=3000)
    concern_note_sealed: str = Field(default="", max_length=3000)
    #: The visit's photo (stored file name under the instance folder's ``care_photos/``), if any.
    photo: str | None = Field(default=None, max_length=100)
    #: When a coordinator marked the concern as dealt with.
    concern_closed_at: datetime | None = utc_field(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class CareVisitor(SQLModel, table=True):
    """A volunteer who went on a visit (one ``care_visit`` service record each)."""

    __tablename__ = "care_visitors"
    __table_args__ = (UniqueConstraint("visit_id", "user_id", name="uq_care_visitors_visit_user"),
                      Index("ix_care_visitors_user", "user_id"))
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    visit_id: int = Field(foreign_key="care_visits.id")
    user_id: int = Field(foreign_key="users.id")
