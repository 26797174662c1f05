"""Shifts over JSON."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import ApiInput, ApiOutput, ClientRef, Day, Id, StationTime, Timestamp

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ShiftCreate(ApiInput):
    team_id: Id
    title: Title
    starts_at: Timestamp
    ends_at: Timestamp
    capacity: Annotated[int, Field(ge=1, le=1000)]
    #: The route, in order.
    checkpoint_ids: Annotated[list[Id], Field(min_length=1, max_length=50)]
    points_per_hour: Annotated[int, Field(ge=0, le=1000)] = 10
    #: A date in station time, inclusive: one shift a week whose start falls on or before it.
    repeat_weekly_until: Day | None = None
    #: A sub-unit of the team: only its members sign up.
    unit_id: Id | None = None
    client_ref: ClientRef | None = None


class ShiftQuery(ApiInput):
    since: Timestamp | None = None
    until: Timestamp | None = None
    team_id: Id | None = None
    unit_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class ShiftOut(ApiOutput):
    id: int
    team_id: int
    unit_id: int | None = None
    title: str
    starts_at: StationTime
    ends_at: StationTime
    capacity: int
    confirmed_count: int
    waitlist_count: int
    checkpoint_ids: list[int]
    points_per_hour: int
    cancelled: bool = False
    series_id: str | None = None


class ShiftList(ApiOutput):
    shifts: list[ShiftOut]


class SignupOut(ApiOutput):
    shift_id: int
    user_id: int
    status: Literal["confirmed", "waitlisted"]
    #: Place on the waitlist (1 = next); null when confirmed.
    position: int | None = None


class AttendanceRow(ApiOutput):
    user_id: int
    status: Literal["confirmed", "waitlisted", "no_show"]
    #: The route's checkpoints this volunteer scanned within the shift's window, in route order.
    checkpoints_visited: list[int]
    completed: bool
    hours: float
    points_awarded: int
    confirmed_by_id: int | None = None
    no_show_comment: str | None = None


class AttendanceOut(ApiOutput):
    shift_id: int
    checkpoint_ids: list[int]
    volunteers: list[AttendanceRow]
