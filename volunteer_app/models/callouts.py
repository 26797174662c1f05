"""Call-outs (民警有呼、志愿有应): the station asks its volunteers for help now; who answers, who
arrives."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field

CALLOUT_ANSWERS = ("coming", "cannot")


class Callout(SQLModel, table=True):
    __tablename__ = "callouts"
    __table_args__ = (Index("ix_callouts_station_status_expires", "station_id", "status", "expires_at"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    title: str = Field(max_length=200)
    detail: str = Field(default="", max_length=2000)
    place: str = Field(default="", max_length=200)
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    #: The checkpoint where help is wanted: a check-in there by someone coming marks them arrived.
    checkpoint_id: int | None = Field(default=None, foreign_key="checkpoints.id")
    needed: int = Field(default=1)
    points: int = Field(default=0)
    #: Comma-separated team ids it is addressed to; "" for every team of the station.
    team_ids: str = Field(default="", max_length=400)
    #: "open" or "closed"; an open call-out past ``expires_at`` is closed too.
    status: str = Field(default="open", max_length=16)
    #: Answers "coming" so far (one conditional UPDATE keeps it within ``needed``).
    coming_count: int = Field(default=0)
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)
    expires_at: datetime = utc_field()
    closed_at: datetime | None = utc_field(nullable=True)


class CalloutAnswer(SQLModel, table=True):
    __tablename__ = "callout_answers"
    __table_args__ = (UniqueConstraint("callout_id", "user_id", name="uq_callout_answers_callout_user"),)
    id: int | None = Field(default=None, primary_key=True)
    callout_id: int = Field(foreign_key="callouts.id")
    user_id: int = Field(foreign_key="users.id", index=True)
    answer: str = Field(max_length=16)
    answered_at: datetime = utc_field()
    #: When the first answer came (the response figures count it).
    first_answered_at: datetime = utc_field()
    arrived_at: datetime | None = utc_field(nullable=True)
    arrived_marked_by: int | None = Field(default=None, foreign_key="users.id")
