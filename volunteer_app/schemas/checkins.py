"""Checkpoints, events, check-ins and the points ledger."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, StringConstraints, field_validator

from .common import (ApiInput, ApiOutput, ClientRef, GridName, Id, Latitude, ListQuery, Longitude, Name, ShortText,
                     StationTime, Timestamp)
from .service import ServiceRecordOut

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Radius = Annotated[int, Field(ge=10, le=100_000)]
Points = Annotated[int, Field(ge=0, le=10_000)]
Cooldown = Annotated[int, Field(ge=0, le=7 * 24 * 60)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Scanned = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
KindKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
DutyHours = Annotated[int, Field(ge=1, le=24)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CheckpointCreate(ApiInput):
    name: Name
    description: Description | None = None
    #: The grid (网格) it lies in, for reports by grid.
    grid: GridName | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    radius_m: Radius = 150
    require_location: bool = False
    points: Points = 5
    cooldown_minutes: Cooldown = 30
    team_id: Id | None = None
    duty_post: bool = False
    service_kind: KindKey | None = None
    max_duty_hours: DutyHours = 12


class CheckpointUpdate(ApiInput):
    name: Name | None = None
    description: Description | None = None
    grid: GridName | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    radius_m: Radius | None = None
    require_location: bool | None = None
    points: Points | None = None
    cooldown_minutes: Cooldown | None = None
    team_id: Id | None = None
    active: bool | None = None
    duty_post: bool | None = None
    service_kind: KindKey | None = None
    max_duty_hours: DutyHours | None = None


class CheckpointOut(ApiOutput):
    id: int
    name: str
    description: str
    grid: str = ""
    latitude: float | None
    longitude: float | None
    radius_m: int
    require_location: bool
    points: int
    cooldown_minutes: int
    team_id: int | None
    active: bool
    last_scan_at: StationTime | None
    created_at: StationTime
    duty_post: bool = False
    service_kind: str = "tea_room"
    max_duty_hours: int = 12
    #: Only for coordinators and admins: a volunteer must stand at the poster.
    checkin_url: str | None = None


class CheckpointList(ApiOutput):
    checkpoints: list[CheckpointOut]


class CheckpointQuery(ListQuery):
    team_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 500


class EventCreate(ApiInput):
    title: Title
    starts_at: Timestamp
    ends_at: Timestamp
    location: ShortText | None = None
    points: Points = 10
    team_id: Id | None = None
    kind: KindKey | None = None
    credit: Literal["scans", "full"] = "scans"


class EventOut(ApiOutput):
    id: int
    title: str
    location: str
    team_id: int | None
    starts_at: StationTime
    ends_at: StationTime
    checkin_opens_at: StationTime
    points: int
    created_at: StationTime
    #: The service kind of the event's records (the event's ``service_kind``).
    kind: str = Field("publicity", validation_alias=AliasChoices("kind", "service_kind"))
    credit: str = "scans"


class EventList(ApiOutput):
    events: list[EventOut]


class EventCodeOut(ApiOutput):
    event_id: int
    code: str
    checkin_url: str
    expires_at: str
    purpose: Literal["in", "out"] = "in"


class EventCodeQuery(ApiInput):
    """``out``: the sign-out code (events that credit scans)."""

    purpose: Literal["in", "out"] = "in"


class CheckinCreate(ApiInput):
    code: Scanned
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    client_ref: ClientRef | None = None
    #: A scan kept on a phone without signal: when it was made.
    scanned_at: Timestamp | None = None


class CheckinOnBehalf(ApiInput):
    """A leader checks in someone without a smartphone: ``user_id`` or their ``member_code``,
    at a ``checkpoint_id`` or an ``event_id``."""

    user_id: Id | None = None
    member_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    checkpoint_id: Id | None = None
    event_id: Id | None = None
    client_ref: ClientRef | None = None


class CheckinOut(ApiOutput):
    id: int
    kind: Literal["checkpoint", "event"]
    checkpoint_id: int | None
    event_id: int | None
    points_awarded: int
    balance: int
    shift_id: int | None
    created_at: StationTime
    received_at: StationTime | None = None
    recorded_by_id: int | None = None
    place_name: str | None = None
    next_checkpoint: dict | None = None
    shift_completed: bool = False
    badges: list[str] = []
    #: The service record the check-in opened, closed or extended (duty posts, events, outings).
    service: ServiceRecordOut | None = None


class CheckinItem(ApiOutput):
    id: int
    kind: Literal["checkpoint", "event"]
    checkpoint_id: int | None
    event_id: int | None
    points_awarded: int
    shift_id: int | None
    created_at: StationTime
    recorded_by_id: int | None = None
    place_name: str | None = None


class CheckinList(ApiOutput):
    checkins: list[CheckinItem]


class CheckinQuery(ListQuery):
    user_id: Id | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None


class EntryOut(ApiOutput):
    id: int
    amount: int
    kind: str
    reason: str
    ref: str
    balance_after: int
    created_at: StationTime


class LedgerOut(ApiOutput):
    user_id: int
    balance: int
    lifetime_points: int
    entries: list[EntryOut]


class LedgerQuery(ListQuery):
    before_id: Id | None = None


class AdjustmentCreate(ApiInput):
    amount: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Reason
    client_ref: ClientRef | None = None

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("Enter a whole number other than 0.")
        return value
