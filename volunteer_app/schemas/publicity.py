"""Anti-fraud publicity sessions (反诈宣传)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .checkins import EventOut
from .common import ApiInput, ApiOutput, Id, ShortText, StationTime, Timestamp

Count = Annotated[int, Field(ge=0, le=1_000_000)]


class PublicityBody(ApiInput):
    audience: Count
    materials: Count = 0
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class PublicityOut(ApiOutput):
    event_id: int
    audience: int
    materials: int
    summary: str
    has_photo: bool
    updated_at: StationTime


class SeriesCreate(ApiInput):
    """Publicity events every two weeks from the first one up to ``until``."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    starts_at: Timestamp
    ends_at: Timestamp
    until: Timestamp
    location: ShortText | None = None
    team_id: Id | None = None
    points: Annotated[int, Field(ge=0, le=10_000)] = 10
    credit: Literal["scans", "full"] = "scans"


class SeriesOut(ApiOutput):
    events: list[EventOut]


class ReachQuery(ApiInput):
    since: Timestamp
    until: Timestamp


class ReachOut(ApiOutput):
    sessions: int
    people: int
    materials: int
