"""Notices shown in the app (shift changes, waitlist promotions, reminders, awards...), what each
person chose to hear about, and the text messages (SMS) waiting to be sent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
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


class NoticePreference(SQLModel, table=True):
    """What one person chose not to hear about; no row: everything on (SMS too, given a phone)."""

    __tablename__ = "notice_preferences"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    user_id: int = Field(foreign_key="users.id", unique=True)
    #: Comma-separated notice groups turned off in the app ("tips,store").
    muted: str = Field(default="", max_length=200)
    #: Comma-separated SMS channels turned off ("callouts", "shift_reminders").
    sms_muted: str = Field(default="", max_length=100)
    updated_at: datetime = utc_field(default_now=True)


class SmsMessage(SQLModel, table=True):
    """One text message for one person, written with the change that caused it and sent by the
    delivery worker. ``slot`` (1 to 3) is the message's place in the person's local day: the
    unique key on (user, day, slot) keeps them to three a day, whatever runs in parallel. The
    number is read from the person when sent, never kept here."""

    __tablename__ = "sms_messages"
    __table_args__ = (
        UniqueConstraint("user_id", "day", "slot", name="uq_sms_messages_user_day_slot"),
        Index("ix_sms_messages_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    user_id: int = Field(foreign_key="users.id")
    #: "callout" or "shift_reminder".
    kind: str = Field(max_length=32)
    text: str = Field(max_length=300)
    day: date
    slot: int
    #: Makes a message happen once (e.g. "sms:callout:12:user:5").
    dedupe_key: str | None = Field(default=None, max_length=96, unique=True)
    #: "pending", "sent" or "failed".
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = utc_field()
    give_up_at: datetime = utc_field()
    claim: str | None = Field(default=None, max_length=32)
    last_error: str = Field(default="", max_length=300)
    created_at: datetime = utc_field(default_now=True)
    sent_at: datetime | None = utc_field(nullable=True)
