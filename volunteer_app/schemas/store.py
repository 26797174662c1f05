"""The points store over JSON."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .common import ApiInput, ApiOutput, ClientRef, Id, Name, StationTime

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Points = Annotated[int, Field(ge=1, le=1_000_000)]
Stock = Annotated[int, Field(ge=0, le=1_000_000)]
MonthlyLimit = Annotated[int, Field(ge=1, le=1000)]
Quantity = Annotated[int, Field(ge=1, le=99)]
MemberCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ItemCreate(ApiInput):
    name: Name
    description: Description | None = None
    cost: Points
    stock: Stock
    monthly_limit_per_user: MonthlyLimit | None = None
    low_stock_threshold: Stock | None = None
    kind: Literal["goods", "voucher"] = "goods"
    sponsor_id: Id | None = None


class ItemPatch(ApiInput):
    name: Name | None = None
    description: Description | None = None
    cost: Points | None = None
    stock: Stock | None = None
    active: bool | None = None
    monthly_limit_per_user: MonthlyLimit | None = None
    low_stock_threshold: Stock | None = None
    kind: Literal["goods", "voucher"] | None = None
    sponsor_id: Id | None = None

    @model_validator(mode="after")
    def _not_null(self):
        # Only monthly_limit_per_user and sponsor_id may be set to null; the rest may be left out.
        for name in ("name", "cost", "stock", "active", "low_stock_threshold", "kind"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class ItemOut(ApiOutput):
    id: int
    name: str
    description: str
    cost: int
    stock: int
    monthly_limit_per_user: int | None
    active: bool
    low_stock: bool
    picture_url: str | None
    #: ``goods`` handed over at the counter, or a ``voucher`` used at the sponsor's.
    kind: Literal["goods", "voucher"] = "goods"
    sponsor_id: int | None = None
    #: "由 XX 提供": who gave the goods last received.
    sponsor_name: str | None = None


class ItemList(ApiOutput):
    items: list[ItemOut]


class MemberCodeOut(ApiOutput):
    code: str
    expires_at: str
    user_id: int


class RedemptionCreate(ApiInput):
    member_code: MemberCode | None = None
    user_id: Id | None = None
    item_id: Id
    quantity: Quantity = 1
    client_ref: ClientRef | None = None

    @model_validator(mode="after")
    def _one_customer(self):
        if bool(self.member_code) == bool(self.user_id):
            raise ValueError("give either member_code or user_id")
        return self


class StockChange(ApiInput):
    change: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _not_zero(self):
        if self.change == 0:
            raise ValueError("change may not be 0")
        return self


class RedemptionCancel(ApiInput):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class RedemptionOut(ApiOutput):
    id: int
    user_id: int
    item_id: int
    quantity: int
    points_spent: int
    balance_after: int | None
    stock_after: int | None
    status: Literal["fulfilled", "cancelled", "reserved", "lapsed", "voucher"]
    clerk_id: int | None
    cancel_reason: str | None
    created_at: StationTime
    cancelled_at: StationTime | None
    #: When a reservation lapses; null for a redemption at the counter.
    expires_at: StationTime | None


class PictureOut(ApiOutput):
    id: int
    picture_url: str
