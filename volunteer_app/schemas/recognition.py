"""Recognition: awards, badges and leaderboards."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import ApiInput, ApiOutput, ClientRef, Id, StationTime

AwardTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AwardNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Period = Literal["week", "month", "year", "all"]


class AwardCreate(ApiInput):
    user_id: Id
    title: AwardTitle
    points: Annotated[int, Field(ge=0, le=10_000)]
    note: AwardNote | None = None
    client_ref: ClientRef | None = None


class AwardOut(ApiOutput):
    id: int
    user_id: int
    title: str
    points: int
    note: str
    template_id: int | None
    granted_by_id: int | None
    granted_at: StationTime
    certificate_url: str


class BadgeOut(ApiOutput):
    key: str
    name: str
    earned_at: str


class BadgeList(ApiOutput):
    badges: list[BadgeOut]


class LeaderboardQuery(ApiInput):
    period: Period = "month"
    team_id: Id | None = None
    #: One sub-unit's board.
    unit_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class LeaderboardEntry(ApiOutput):
    rank: int
    #: None for someone who chose to appear as "anonymous volunteer".
    user_id: int | None
    display_name: str
    points: int


class Standing(ApiOutput):
    rank: int | None
    points: int


class LeaderboardOut(ApiOutput):
    period: Period
    period_start: str | None
    team_id: int | None
    unit_id: int | None = None
    entries: list[LeaderboardEntry]
    me: Standing
