"""Anti-fraud publicity sessions (反诈宣传): what an event of kind ``publicity`` reached."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import utc_field


class PublicityReport(SQLModel, table=True):
    """One per publicity event: the audience, the materials handed out, a summary, a photo."""

    __tablename__ = "publicity_reports"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    event_id: int = Field(foreign_key="events.id", unique=True)
    audience: int = Field(default=0)
    materials: int = Field(default=0)
    summary: str = Field(default="", max_length=500)
    #: Stored file name under the instance folder's ``publicity_photos/``, if any.
    photo: str | None = Field(default=None, max_length=100)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = utc_field(default_now=True)
