"""Accounts and teams."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import ApiInput, ApiOutput, GridName, Id, Name

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
Role = Literal["volunteer", "clerk", "coordinator", "admin", "county_admin", "police_assistant"]


class TokenRequest(ApiInput):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RegisterRequest(ApiInput):
    username: Username
    password: Password
    display_name: DisplayName
    phone: Phone | None = None
    #: A station's join code (its URL or last path segment): registration waits in that station.
    join: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None
    #: Without ``join``: which station (the first one by default).
    station_id: Id | None = None


class CreateUserRequest(ApiInput):
    username: Username
    password: Password
    display_name: DisplayName
    phone: Phone | None = None
    roles: Annotated[list[Role], Field(min_length=1, max_length=6)] = ["volunteer"]
    team_id: Id | None = None
    #: county_admin only; the caller's station by default.
    station_id: Id | None = None


class UserUpdate(ApiInput):
    roles: Annotated[list[Role], Field(min_length=1, max_length=6)] | None = None
    #: A police assistant's area (a village, grid or company); "" clears it.
    area: GridName | None = None


class ExpiringOut(ApiOutput):
    points: int
    #: The last day the points count (station time).
    on: date


class UserOut(ApiOutput):
    id: int
    station_id: int
    username: str
    display_name: str
    roles: list[Role]
    status: Literal["pending", "active", "disabled"]
    team_ids: list[int]
    balance: int
    lifetime_points: int
    hours_served: float
    level: str
    #: Points that lapse in the next 60 days, by day.
    expiring: list[ExpiringOut] = []
    phone: str | None = None
    #: A police assistant's area (a village, grid or company); empty for others.
    area: str = ""


class TokenOut(ApiOutput):
    access_token: str
    token_type: Literal["bearer"]
    expires_at: str
    user: UserOut


class TeamCreate(ApiInput):
    name: Name
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class TeamOut(ApiOutput):
    id: int
    name: str
    description: str
    member_count: int


class TeamList(ApiOutput):
    teams: list[TeamOut]


class MemberAdd(ApiInput):
    user_id: Id
    role: Literal["member", "coordinator"] = "member"


class MembershipOut(ApiOutput):
    team_id: int
    user_id: int
    role: str


class Health(ApiOutput):
    status: str
