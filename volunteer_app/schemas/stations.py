"""Stations, join codes and the county's summary."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import StringConstraints

from .common import ApiInput, ApiOutput, Day, Id, Name

ShortName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
Zone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class StationCreate(ApiInput):
    name: Name
    short_name: ShortName | None = None
    timezone: Zone | None = None


class StationOut(ApiOutput):
    id: int
    name: str
    short_name: str
    timezone: str
    member_count: int


class StationList(ApiOutput):
    stations: list[StationOut]


class InviteQuery(ApiInput):
    team_id: Id | None = None


class InviteOut(ApiOutput):
    join_url: str
    expires_at: str
    team_id: int | None = None


class SummaryQuery(ApiInput):
    since: Day | None = None
    until: Day | None = None


class TipCounts(ApiOutput):
    red: int
    yellow: int
    blue: int
    open_overdue: int


class PublicityCounts(ApiOutput):
    #: Anti-fraud publicity sessions begun in the period, and the audience their reports give.
    sessions: int
    people_reached: int


class StationSummary(ApiOutput):
    station_id: int
    name: str
    volunteers: int
    active_volunteers: int
    checkins: int
    hours_served: float
    points_issued: int
    points_redeemed: int
    tips: TipCounts
    publicity: PublicityCounts


class CountySummary(ApiOutput):
    since: date
    until: date
    stations: list[StationSummary]
