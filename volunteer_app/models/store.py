"""The points store (积分超市): items of a station, redemptions, and every stock movement."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from .base import utc_field

REDEMPTION_STATUSES = ("fulfilled", "cancelled", "reserved", "lapsed")
#: Why a stock changed outside redemptions: the opening stock, and coordinators' restock, damage
#: and correction (each with a note). Redemptions are their own record of the units they take.
STOCK_REASONS = ("initial", "restock", "damage", "correction")


class StoreItem(SQLModel, table=True):
    __tablename__ = "store_items"
    __table_args__ = (CheckConstraint("stock >= 0", name="ck_store_items_stock_nonnegative"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    #: File name of the resized picture in the instance folder's ``store_pictures``.
    picture: str | None = Field(default=None, max_length=80)
    cost: int
    stock: int = Field(default=0)
    #: Units one person may redeem per station-local calendar month (None: no limit).
    monthly_limit_per_user: int | None = Field(default=None)
    #: Coordinators see the item flagged once its stock is at or below this.
    low_stock_threshold: int = Field(default=3)
    active: bool = Field(default=True)
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class Redemption(SQLModel, table=True):
    """Points exchanged for items, at the counter (fulfilled) or held online (reserved)."""

    __tablename__ = "redemptions"
    __table_args__ = (
        Index("ix_redemptions_user_item_created", "user_id", "item_id", "created_at"),
        Index("ix_redemptions_station_created", "station_id", "created_at"),
        Index("ix_redemptions_status_expires", "status", "expires_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    user_id: int = Field(foreign_key="users.id")
    item_id: int = Field(foreign_key="store_items.id")
    quantity: int
    points_spent: int
    #: The clerk who handed the items over (None while a reservation waits).
    clerk_id: int | None = Field(default=None, foreign_key="users.id")
    status: str = Field(default="fulfilled", max_length=16)
    cancel_reason: str = Field(default="", max_length=500)
    cancelled_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)
    fulfilled_at: datetime | None = utc_field(nullable=True)
    cancelled_at: datetime | None = utc_field(nullable=True)
    #: When a reservation lapses (points and stock given back).
    expires_at: datetime | None = utc_field(nullable=True)


class StockMovement(SQLModel, table=True):
    """A change of an item's stock other than a redemption; the sum of an item's deltas less the
    units of its live (fulfilled or reserved) redemptions is its stock."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_item_id_id", "item_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="store_items.id")
    delta: int
    reason: str = Field(max_length=16)
    note: str = Field(default="", max_length=500)
    stock_after: int
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)
