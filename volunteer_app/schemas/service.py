"""Service records (服务记录), their kinds and hours."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ..timeutil import isoformat
from .common import ApiInput, ApiOutput, ClientRef, Id, Latitude, Longitude, ShortText, Timestamp

KindKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
RequiredNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Status = Literal["open", "pending", "confirmed", "rejected"]


class ServiceKindOut(ApiOutput):
    key: str
    name: str
    points_per_hour: int
    makeup_earns_points: bool
    active: bool = True


class ServiceKindList(ApiOutput):
    kinds: list[ServiceKindOut]


class ServiceKindSet(ApiInput):
    """An admin's settings for a kind (a new key adds the station's own kind; it needs a name)."""

    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                          pattern=r"^[A-Za-z0-9_]+$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None
    points_per_hour: Annotated[int, Field(ge=0, le=1000)] | None = None
    makeup_earns_points: bool | None = None
    active: bool | None = None


class ServiceRecordOut(ApiOutput):
    id: int
    user_id: int
    kind: str
    place: str
    checkpoint_id: int | None
    event_id: int | None
    shift_id: int | None
    started_at: str
    ended_at: str | None
    minutes: int
    weighted_minutes: int
    points: int
    source: Literal["route", "duty_post", "outing", "event", "makeup", "entry", "care_visit", "mediation"]
    status: Status
    note: str
    review_note: str
    confirmed_by: int | None
    created_at: str
    #: Whether a make-up carries a photo (``GET /service/{id}/photo``).
    has_photo: bool = False

    @classmethod
    def of(cls, record) -> "ServiceRecordOut":
        return cls(id=record.id, user_id=record.user_id, kind=record.kind, place=record.place,
                   checkpoint_id=record.checkpoint_id, event_id=record.event_id, shift_id=record.shift_id,
                   started_at=isoformat(record.started_at), ended_at=isoformat(record.ended_at),
                   minutes=record.minutes, weighted_minutes=record.weighted_minutes, points=record.points,
                   source=record.source, status=record.status, note=record.note, review_note=record.review_note,
                   confirmed_by=record.confirmed_by_id, created_at=isoformat(record.created_at),
                   has_photo=bool(record.photo))


class UserServiceOut(ApiOutput):
    user_id: int
    #: All time, whatever the filter: the sum of the confirmed records' minutes / 60.
    hours_served: float
    records: list[ServiceRecordOut]


class ServiceQuery(ApiInput):
    since: Timestamp | None = None
    until: Timestamp | None = None
    status: Status | None = None
    #: Unbounded by default.
    limit: Annotated[int, Field(ge=1, le=500)] | None = None


class MakeupCreate(ApiInput):
    kind: KindKey
    started_at: Timestamp
    ended_at: Timestamp
    place: ShortText = ""
    note: RequiredNote
    checkpoint_id: Id | None = None
    client_ref: ClientRef | None = None


class EntryCreate(ApiInput):
    user_id: Id
    kind: KindKey
    started_at: Timestamp
    ended_at: Timestamp
    place: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    note: Note = ""
    client_ref: ClientRef | None = None


class ConfirmBody(ApiInput):
    """A correction of the times, if any, and a note."""

    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    note: Note | None = None


class RejectBody(ApiInput):
    note: RequiredNote


class SignOutBody(ApiInput):
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    client_ref: ClientRef | None = None
