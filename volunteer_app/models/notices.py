"""Notices shown in the app (no SMS): shift changes, waitlist promotions, reminders, awards..."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import utc_field


class Notice(SQLModel, table=True):
    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_user_id_id", "user_id", "id"),
        Index("ix_notices_user_read", "user_id", "read_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    #: A machine word: shift_cancelled, shift_changed, shift_promoted, shift_reminder, award, tip, ...
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    #: A same-site path to open (e.g. "/shifts/12"), or "".
    url: str = Field(default="", max_length=300)
    #: Makes a notice happen once (e.g. "reminder:shift:12:user:5"); None for ordinary notices.
    dedupe_key: str | None = Field(default=None, max_length=96, unique=True)
    read_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(default_now=True)
