"""Call-outs (民警有呼、志愿有应)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from .common import ApiInput, ApiOutput, ClientRef, Id, Latitude, LongText, Longitude, ShortText, StationTime

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CalloutCreate(ApiInput):
    title: Title
    detail: LongText | None = None
    place: ShortText | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    #: A checkpoint as its place: those coming are marked arrived by their check-in there.
    checkpoint_id: Id | None = None
    needed: Annotated[int, Field(ge=1, le=500)]
    #: Default: every team of the station.
    team_ids: Annotated[list[Id], Field(max_length=50)] | None = None
    expires_in_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    points: Annotated[int, Field(ge=0, le=1000)] = 0
    client_ref: ClientRef | None = None


class CalloutQuery(ApiInput):
    status: Literal["open", "closed"] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50

    @field_validator("status", mode="before")
    @classmethod
    def _empty_is_any(cls, value):
        return None if value == "" else value


class AnswerRequest(ApiInput):
    answer: Literal["coming", "cannot"]
    client_ref: ClientRef | None = None


class ArrivedRequest(ApiInput):
    user_id: Id


class CalloutOut(ApiOutput):
    id: int
    title: str
    detail: str
    place: str
    latitude: float | None
    longitude: float | None
    checkpoint_id: int | None = None
    needed: int
    team_ids: list[int]
    points: int
    status: Literal["open", "closed"]
    coming_count: int
    created_by: int
    created_at: StationTime
    expires_at: StationTime
    closed_at: StationTime | None = None


class CalloutList(ApiOutput):
    callouts: list[CalloutOut]


class AnswerOut(ApiOutput):
    callout_id: int
    user_id: int
    answer: Literal["coming", "cannot"]
    answered_at: StationTime


class ArrivedOut(ApiOutput):
    callout_id: int
    user_id: int
    arrived_at: StationTime
    points_awarded: int
