"""Tips and hazards (线索与隐患)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from .common import (ApiInput, ApiOutput, ClientRef, GridName, Latitude, LongText, Longitude, ShortText, StationTime,
                     Timestamp)

Category = Literal["dispute", "fraud", "hazard", "ecology", "other"]
Status = Literal["submitted", "triaged", "verified", "rejected", "closed"]
Level = Literal["red", "yellow", "blue"]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class TipCreate(ApiInput):
    category: Category
    description: Required
    place: ShortText | None = None
    #: The grid (网格) or area: its police assistant sees the tip.
    grid: GridName | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    client_ref: ClientRef | None = None


class TipQuery(ApiInput):
    status: Status | None = None
    level: Level | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50

    @field_validator("status", "level", mode="before")
    @classmethod
    def _empty_is_any(cls, value):
        """``?status=&level=`` (empty) means any."""
        return None if value == "" else value


class TriageRequest(ApiInput):
    level: Level
    note: LongText | None = None
    #: Default: red 1 day, yellow 7 days, blue 14 days from now.
    due_at: Timestamp | None = None


class ReviewRequest(ApiInput):
    valid: bool
    #: Default for a valid tip: the category's points (setting TIP_POINTS); 0 for one not valid.
    points: Annotated[int, Field(ge=0, le=1000)] | None = None
    note: Required


class CloseRequest(ApiInput):
    resolution: Required


class TipPhotoOut(ApiOutput):
    id: int
    content_type: Literal["image/jpeg", "image/png"]
    size: int
    width: int
    height: int
    url: str


class TipOut(ApiOutput):
    id: int
    #: Who sent it: null for a reader who does not handle it (a police assistant of its area).
    reporter_id: int | None
    category: Category
    description: str
    place: str
    grid: str = ""
    latitude: float | None
    longitude: float | None
    status: Status
    level: Level | None
    due_at: StationTime | None
    follow_up_at: StationTime | None = None
    points_awarded: int
    created_at: StationTime
    #: The review's decision: null until reviewed.
    valid: bool | None = None
    triage_note: str = ""
    review_note: str = ""
    resolution: str = ""
    triaged_at: StationTime | None = None
    reviewed_at: StationTime | None = None
    closed_at: StationTime | None = None
    photos: list[TipPhotoOut] = []


class TipList(ApiOutput):
    tips: list[TipOut]


#: The multipart body of POST /tips/{id}/photos, for the OpenAPI document.
PHOTO_UPLOAD = {
    "type": "object",
    "required": ["file"],
    "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                            "description": "A JPEG or PNG photo, at most 5 MB (checked by its content)."}},
}
