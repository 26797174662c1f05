"""The store's sponsors and vouchers over JSON."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .common import ApiInput, ApiOutput, ClientRef, Day, Id, Name, StationTime

SponsorKind = Literal["business", "community", "station", "person"]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class SponsorCreate(ApiInput):
    name: Name
    contact: Contact | None = None
    kind: SponsorKind = "business"


class SponsorPatch(ApiInput):
    name: Name | None = None
    contact: Contact | None = None
    kind: SponsorKind | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _not_null(self):
        for name in ("name", "kind", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class SponsorOut(ApiOutput):
    id: int
    name: str
    contact: str
    kind: SponsorKind
    active: bool
    created_at: StationTime


class SponsorList(ApiOutput):
    sponsors: list[SponsorOut]


class GiftCreate(ApiInput):
    item_id: Id
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    received_on: Day | None = None
    #: In yuan, when known.
    value: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    client_ref: ClientRef | None = None


class GiftOut(ApiOutput):
    id: int
    sponsor_id: int
    item_id: int
    quantity: int
    received_on: date
    value: int | None
    note: str
    stock_after: int
    created_at: StationTime


class ReportQuery(ApiInput):
    since: Day
    until: Day


class ReportMonth(ApiOutput):
    month: str
    given_units: int
    given_value: int
    redeemed_units: int
    redeemed_points: int
    volunteers: int


class ReportItem(ApiOutput):
    name: str
    given: int
    redeemed: int


class ReportOut(ApiOutput):
    sponsor: SponsorOut
    since: date
    until: date
    given_units: int
    given_value: int
    redeemed_units: int
    redeemed_points: int
    volunteers: int
    months: list[ReportMonth]
    items: list[ReportItem]


class VoucherCreate(ApiInput):
    client_ref: ClientRef | None = None


class VoucherOut(ApiOutput):
    #: The redemption's id.
    id: int
    item_id: int
    item_name: str
    quantity: int
    points_spent: int
    balance_after: int | None = None
    sponsor_name: str
    #: The one-time number to show at the sponsor's (its QR code encodes the same digits).
    number: str
    status: Literal["voucher", "fulfilled", "lapsed", "cancelled"]
    expires_at: StationTime
    used_at: StationTime | None


class VoucherList(ApiOutput):
    vouchers: list[VoucherOut]
