"""Sub-units (分队) of teams over JSON."""
from __future__ import annotations

from ... import db
from ...schemas.common import Attrs
from ...schemas.units import UnitCreate, UnitDetail, UnitList, UnitMembers, UnitOut, UnitUpdate
from ...services import units
from .base import current_api_user, route


def _unit(session, unit) -> Attrs:
    summary = units.summaries(session, [unit])[unit.id]
    return Attrs(unit, member_count=summary["member_count"], leader_ids=summary["leader_ids"])


def _detail(session, unit) -> Attrs:
    _unit_row, rows = units.roster(session, current_api_user(), unit.id)
    members = [{"user_id": user.id, "display_name": user.display_name, "leader": membership.unit_leader}
               for user, membership in rows]
    return Attrs(unit, member_count=len(members), members=members,
                 leader_ids=[row["user_id"] for row in members if row["leader"]])


@route("/teams/<id:team_id>/units", "POST", summary="Create a sub-unit of a team", tag="teams", body=UnitCreate,
       response=UnitOut, status=201, roles=("coordinator",))
def create_unit(team_id: int, body: UnitCreate):
    session = db.get_session()
    unit = units.create_unit(session, current_api_user(), team_id, name=body.name, leader_ids=body.leader_ids)
    return _unit(session, unit)


@route("/teams/<id:team_id>/units", summary="A team's sub-units", tag="teams", response=UnitList)
def list_units(team_id: int):
    session = db.get_session()
    rows = units.list_units(session, current_api_user(), team_id)
    summaries = units.summaries(session, rows)
    return {"units": [Attrs(unit, member_count=summaries[unit.id]["member_count"],
                            leader_ids=summaries[unit.id]["leader_ids"]) for unit in rows]}


@route("/units/<id:unit_id>", summary="A sub-unit with its members (its leaders, the team's coordinators)",
       tag="teams", response=UnitDetail)
def get_unit(unit_id: int):
    session = db.get_session()
    return _detail(session, units.get_unit(session, current_api_user(), unit_id))


@route("/units/<id:unit_id>", "PATCH", summary="Rename a sub-unit or name its leaders", tag="teams",
       body=UnitUpdate, response=UnitOut, roles=("coordinator",))
def update_unit(unit_id: int, body: UnitUpdate):
    session = db.get_session()
    unit = units.update_unit(session, current_api_user(), unit_id, name=body.name, leader_ids=body.leader_ids)
    return _unit(session, unit)


@route("/units/<id:unit_id>", "DELETE", summary="Delete a sub-unit (its members fall back to the team)",
       tag="teams", status=204, roles=("coordinator",))
def delete_unit(unit_id: int):
    units.delete_unit(db.get_session(), current_api_user(), unit_id)
    return None


@route("/units/<id:unit_id>/members", "PUT", summary="Set a sub-unit's members (and leaders)", tag="teams",
       body=UnitMembers, response=UnitDetail, roles=("coordinator",))
def set_members(unit_id: int, body: UnitMembers):
    session = db.get_session()
    unit = units.set_members(session, current_api_user(), unit_id, body.user_ids, body.leader_ids)
    return _detail(session, unit)
