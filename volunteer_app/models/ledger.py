"""The points ledger: append-only entries whose sum is the balance."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, Index, text
from sqlmodel import Field, SQLModel

from .base import utc_field

LEDGER_KINDS = ("checkin", "event", "shift", "service", "award", "tip", "redemption", "refund", "adjustment",
               "expiry")
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


class PointsLot(SQLModel, table=True):
    """The points of one entry earned under a rule that lapses, spent soonest-lapsing first.
    ``expires_on`` is decided when the points are earned, by the rule in force then;
    ``remaining`` is the amount less what entries drew from it (:class:`LotDraw`). A balance is
    its lots' ``remaining`` plus points that never lapse (in no lot)."""

    __tablename__ = "points_lots"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="ck_points_lots_remaining"),
        Index("ix_points_lots_user_id_expires_on", "user_id", "expires_on"),
        Index("ix_points_lots_due", "expires_on", sqlite_where=text("remaining > 0"),
              postgresql_where=text("remaining > 0")),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    user_id: int = Field(foreign_key="users.id")
    #: The entry that earned the points.
    entry_id: int = Field(foreign_key="ledger_entries.id")
    amount: int
    remaining: int
    #: The last station-local day the points count.
    expires_on: date = Field(sa_column=Column(Date, nullable=False))
    created_at: datetime = utc_field(default_now=True)


class LotDraw(SQLModel, table=True):
    """Points an entry took from a lot (a spending, a lapse) or gave back to it (a refund:
    negative), so that a cancelled redemption returns its points to the lots they came from."""

    __tablename__ = "points_lot_draws"
    __table_args__ = (Index("ix_points_lot_draws_entry_id", "entry_id"),
                      Index("ix_points_lot_draws_lot_id", "lot_id"))
    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="points_lots.id")
    entry_id: int = Field(foreign_key="ledger_entries.id")
    points: int
