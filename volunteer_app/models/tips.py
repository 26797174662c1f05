"""Tips and hazards (线索与隐患): what volunteers report, the red-yellow-blue triage, the review
that may earn points, the resolution, and the photos that came with a tip."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import GRID_LENGTH, utc_field

TIP_CATEGORIES = ("dispute", "fraud", "hazard", "ecology", "other")
TIP_STATUSES = ("submitted", "triaged", "verified", "rejected", "closed")
#: red: handled at once; yellow: followed up, with a return visit a month later; blue: closed by
#: a deadline.
TIP_LEVELS = ("red", "yellow", "blue")
PHOTO_TYPES = ("image/jpeg", "image/png")


class Tip(SQLModel, table=True):
    __tablename__ = "tips"
    __table_args__ = (
        Index("ix_tips_station_status_id", "station_id", "status", "id"),
        Index("ix_tips_reporter_id_id", "reporter_id", "id"),
        Index("ix_tips_follow_up", "station_id", "level", "follow_up_at"),
        #: A reload or a double tap of the report form sends the same client_ref: one tip.
        UniqueConstraint("reporter_id", "client_ref", name="uq_tips_reporter_client_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    reporter_id: int = Field(foreign_key="users.id")
    category: str = Field(max_length=16)
    description: str = Field(max_length=2000)
    place: str = Field(default="", max_length=200)
    #: The grid (网格) or area the tip concerns: its police assistant sees it.
    grid: str = Field(default="", max_length=GRID_LENGTH, sa_column_kwargs={"server_default": ""})
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    client_ref: str | None = Field(default=None, max_length=64)
    status: str = Field(default="submitted", max_length=16)
    level: str | None = Field(default=None, max_length=8)
    #: When the station means to have dealt with it (set at triage).
    due_at: datetime | None = utc_field(nullable=True)
    #: Yellow items: the return visit, a calendar month after triage (station time).
    follow_up_at: datetime | None = utc_field(nullable=True)
    triage_note: str = Field(default="", max_length=2000)
    triaged_by: int | None = Field(default=None, foreign_key="users.id")
    triaged_at: datetime | None = utc_field(nullable=True)
    #: The review's decision (None until reviewed); kept after closing.
    valid: bool | None = Field(default=None)
    points_awarded: int = Field(default=0)
    review_note: str = Field(default="", max_length=2000)
    reviewed_by: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = utc_field(nullable=True)
    resolution: str = Field(default="", max_length=2000)
    closed_by: int | None = Field(default=None, foreign_key="users.id")
    closed_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class TipPhoto(SQLModel, table=True):
    """A photo of a tip, resized and stripped of EXIF, kept under the instance folder's
    ``tip_photos/`` as ``stored_name`` (never a name the client chose)."""

    __tablename__ = "tip_photos"
    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tips.id", index=True)
    stored_name: str = Field(max_length=80, unique=True)
    content_type: str = Field(max_length=32)
    #: Bytes of the stored (resized) file.
    size: int
    width: int
    height: int
    created_at: datetime = utc_field(default_now=True)
