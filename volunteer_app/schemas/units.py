"""Sub-units (分队) of teams."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .common import ApiInput, ApiOutput, Id, Name

#: People named in one call (members or leaders of a sub-unit).
People = Annotated[list[Id], Field(max_length=2000)]


class UnitCreate(ApiInput):
    name: Name
    #: Members of the team who lead the sub-unit (they join it).
    leader_ids: People = []


class UnitUpdate(ApiInput):
    name: Name | None = None
    #: Exactly these lead it from now on (members of the team; they join it).
    leader_ids: People | None = None


class UnitMembers(ApiInput):
    #: Exactly these members of the team are the sub-unit's members; the others fall back to the team.
    user_ids: People
    #: Among ``user_ids``; left out: the leaders who stay in it keep leading.
    leader_ids: People | None = None


class UnitOut(ApiOutput):
    id: int
    team_id: int
    name: str
    member_count: int
    leader_ids: list[int]


class UnitMemberOut(ApiOutput):
    user_id: int
    display_name: str
    leader: bool


class UnitDetail(UnitOut):
    members: list[UnitMemberOut]


class UnitList(ApiOutput):
    units: list[UnitOut]
