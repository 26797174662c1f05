"""The points ledger: append-only entries whose sum is the balance."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .base import utc_field

LEDGER_KINDS = ("checkin", "event", "shift", "service", "award", "tip", "redemption", "refund", "adjustment")
#: Kinds that count toward lifetime points and leaderboards (positive adjustments too).
EARNING_KINDS = ("checkin", "event", "shift", "service", "award", "tip")


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_user_id_id", "user_id", "id"),
        Index("ix_ledger_entries_created_at", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    amount: int
    kind: str = Field(max_length=16)
    reason: str = Field(default="", max_length=500)
    #: What the entry came from, e.g. "checkin:42"; unique, so every award happens once.
    ref: str = Field(max_length=96, unique=True)
    balance_after: int
    #: Whether the entry counts toward lifetime points (earned, never spent).
    earned: bool = Field(default=False)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)
