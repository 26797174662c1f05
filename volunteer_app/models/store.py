"""The points store (积分超市): items of a station, redemptions, and every stock movement."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, Index
from sqlmodel import Field, SQLModel

from .base import utc_field

REDEMPTION_STATUSES = ("fulfilled", "cancelled", "reserved", "lapsed", "voucher")
#: Goods handed over at the counter, or a voucher used at the sponsor's (a code on the phone).
ITEM_KINDS = ("goods", "voucher")
#: Why a stock changed outside redemptions: the opening stock, and coordinators' restock, damage
#: and correction (each with a note). Redemptions are their own record of the units they take.
STOCK_REASONS = ("initial", "restock", "damage", "correction")
#: Who gives the store its goods (爱心商家, the community, the station itself, a person).
SPONSOR_KINDS = ("business", "community", "station", "person")


class Sponsor(SQLModel, table=True):
    """Someone who gives the store goods; shown on their items ("由 XX 超市提供")."""

    __tablename__ = "sponsors"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    name: str = Field(max_length=100)
    contact: str = Field(default="", max_length=200)
    kind: str = Field(default="business", max_length=16)
    active: bool = Field(default=True)
    #: Part of the sponsor's signed voucher link; a new number voids the links given before.
    link_version: int = Field(default=1)
    created_at: datetime = utc_field(default_now=True)


class SponsorGift(SQLModel, table=True):
    """Goods received from a sponsor: the stock they raised (``movement_id``) and their value in
    yuan, when known."""

    __tablename__ = "sponsor_gifts"
    __table_args__ = (Index("ix_sponsor_gifts_sponsor_received", "sponsor_id", "received_on"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    sponsor_id: int = Field(foreign_key="sponsors.id")
    item_id: int = Field(foreign_key="store_items.id")
    quantity: int
    received_on: date = Field(sa_column=Column(Date, nullable=False))
    value: int | None = Field(default=None)
    note: str = Field(default="", max_length=500)
    movement_id: int = Field(foreign_key="stock_movements.id")
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


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
    kind: str = Field(default="goods", max_length=16)
    #: Who gave the goods last received ("由 XX 提供" on the item); where a voucher is used.
    sponsor_id: int | None = Field(default=None, foreign_key="sponsors.id")
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
    #: The item's sponsor when it was redeemed (their report counts it).
    sponsor_id: int | None = Field(default=None, foreign_key="sponsors.id", index=True)
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


class Voucher(SQLModel, table=True):
    """The one-time code of a voucher redemption (status ``voucher`` until the sponsor takes it,
    ``fulfilled`` once used, ``lapsed`` with the points given back when unused in time)."""

    __tablename__ = "vouchers"
    __table_args__ = (Index("ix_vouchers_expires_at", "expires_at"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    redemption_id: int = Field(foreign_key="redemptions.id", unique=True)
    sponsor_id: int = Field(foreign_key="sponsors.id")
    #: The number the volunteer shows (and its QR code).
    number: str = Field(max_length=16, unique=True)
    created_at: datetime = utc_field(default_now=True)
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)
