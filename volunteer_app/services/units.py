"""Sub-units (分队) of a team: a name, members and leaders drawn from the team.

A member belongs to at most one sub-unit of their team: the sub-unit is a field of their team
membership (``unit_id``, ``unit_leader``), so there is nothing to keep in step. The team's
coordinators and the station's admins create, rename, delete (members fall back to the team)
and fill sub-units; a sub-unit's leaders see its roster (and the attendance of its shifts,
``shifts.attendance``).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import Shift, Team, TeamMembership, Unit, User
from ..models.base import MAX_ID
from . import access, audit

#: At most this many sub-units a team, and people named in one call.
MAX_UNITS = 100
MAX_PEOPLE = 2000


def get_unit(session: Session, actor: User, unit_id: int) -> Unit:
    return access.get_in_station(session, Unit, unit_id, actor, _l("No such sub-unit."))


def _managed_team(session: Session, actor: User, team_id: int) -> Team:
    team = access.get_in_station(session, Team, team_id, actor, _l("No such team."))
    access.require_team_manager(session, actor, team)
    return team


def _clean_name(session: Session, team_id: int, name: str, unit_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise FieldError("name", _l("Please enter a name."))
    if len(name) > 100:
        raise FieldError("name", _l("A name has at most 100 characters."))
    clash = select(Unit.id).where(Unit.team_id == team_id, Unit.name == name)
    if unit_id is not None:
        clash = clash.where(Unit.id != unit_id)
    if session.exec(clash).first():
        raise DomainError("name_taken", _l("The team has a sub-unit of this name already."))
    return name


def _memberships(session: Session, team_id: int, user_ids, field: str) -> list[TeamMembership]:
    """The team memberships of ``user_ids``; anyone not in the team is refused (422)."""
    ids = list(dict.fromkeys(user_ids or []))
    if len(ids) > MAX_PEOPLE:
        raise FieldError(field, _l("Too many people at once."))
    if not ids:
        return []
    rows = list(session.exec(select(TeamMembership).where(TeamMembership.team_id == team_id,
                                                          TeamMembership.user_id.in_(ids))))
    if len(rows) != len(ids):
        raise FieldError(field, _l("Everyone named must be a member of the team."))
    return rows


def _place(session: Session, rows: list[TeamMembership], unit: Unit, leaders: set[int]) -> None:
    for row in rows:
        row.unit_id, row.unit_leader = unit.id, row.user_id in leaders
        session.add(row)


def create_unit(session: Session, actor: User, team_id: int, *, name: str,
                leader_ids: list[int] | None = None) -> Unit:
    """A new sub-unit of the team; its leaders (members of the team) join it as leaders."""
    team = _managed_team(session, actor, team_id)
    name = _clean_name(session, team.id, name)
    if session.exec(select(func.count(Unit.id)).where(Unit.team_id == team.id)).one() >= MAX_UNITS:
        raise FieldError("name", _l("A team has at most %(count)d sub-units.", count=MAX_UNITS))
    leaders = _memberships(session, team.id, leader_ids, "leader_ids")
    unit = Unit(station_id=team.station_id, team_id=team.id, name=name)
    session.add(unit)
    session.flush()
    _place(session, leaders, unit, {row.user_id for row in leaders})
    session.flush()
    audit.record(session, actor, "unit.create", "unit", unit.id, team_id=team.id, name=name,
                 leader_ids=sorted(row.user_id for row in leaders))
    return unit


def update_unit(session: Session, actor: User, unit_id: int, *, name: str | None = None,
                leader_ids: list[int] | None = None) -> Unit:
    """Rename, and/or make exactly ``leader_ids`` its leaders (they join it if not in it yet;
    former leaders stay in it as members)."""
    unit = get_unit(session, actor, unit_id)
    _managed_team(session, actor, unit.team_id)
    if name is not None:
        unit.name = _clean_name(session, unit.team_id, name, unit.id)
        session.add(unit)
    if leader_ids is not None:
        leaders = _memberships(session, unit.team_id, leader_ids, "leader_ids")
        for row in session.exec(select(TeamMembership).where(TeamMembership.unit_id == unit.id,
                                                              TeamMembership.unit_leader.is_(True))):
            row.unit_leader = False
            session.add(row)
        _place(session, leaders, unit, {row.user_id for row in leaders})
    session.flush()
    audit.record(session, actor, "unit.update", "unit", unit.id, name=unit.name,
                 leader_ids=None if leader_ids is None else sorted(set(leader_ids)))
    return unit


def set_members(session: Session, actor: User, unit_id: int, user_ids: list[int],
                leader_ids: list[int] | None = None) -> Unit:
    """Make exactly ``user_ids`` (members of the team) the sub-unit's members: they leave any
    other sub-unit of the team, and those left out fall back to the team. Leaders: ``leader_ids``
    (among ``user_ids``), or the leaders who stay."""
    unit = get_unit(session, actor, unit_id)
    _managed_team(session, actor, unit.team_id)
    rows = _memberships(session, unit.team_id, user_ids, "user_ids")
    wanted = {row.user_id for row in rows}
    if leader_ids is not None and not set(leader_ids) <= wanted:
        raise FieldError("leader_ids", _l("Leaders must be among the sub-unit's members."))
    current = list(session.exec(select(TeamMembership).where(TeamMembership.unit_id == unit.id)))
    leaders = (set(leader_ids) if leader_ids is not None
               else {row.user_id for row in current if row.unit_leader} & wanted)
    for row in current:
        if row.user_id not in wanted:
            row.unit_id, row.unit_leader = None, False
            session.add(row)
    _place(session, rows, unit, leaders)
    session.flush()
    audit.record(session, actor, "unit.members", "unit", unit.id, user_ids=sorted(wanted),
                 leader_ids=sorted(leaders))
    return unit


def delete_unit(session: Session, actor: User, unit_id: int) -> None:
    """Its members fall back to the team; its shifts become the team's."""
    unit = get_unit(session, actor, unit_id)
    _managed_team(session, actor, unit.team_id)
    for row in session.exec(select(TeamMembership).where(TeamMembership.unit_id == unit.id)):
        row.unit_id, row.unit_leader = None, False
        session.add(row)
    for shift in session.exec(select(Shift).where(Shift.unit_id == unit.id)):
        shift.unit_id = None
        session.add(shift)
    session.flush()
    audit.record(session, actor, "unit.delete", "unit", unit.id, team_id=unit.team_id, name=unit.name)
    session.delete(unit)
    session.flush()


def list_units(session: Session, actor: User, team_id: int) -> list[Unit]:
    """The team's sub-units, by name (anyone of the station may see them)."""
    team = access.get_in_station(session, Team, team_id, actor, _l("No such team."))
    return list(session.exec(select(Unit).where(Unit.team_id == team.id).order_by(Unit.name, Unit.id)))


def summaries(session: Session, units: list[Unit]) -> dict[int, dict]:
    """``{unit_id: {"member_count": n, "leader_ids": [...], "leaders": [User, ...]}}``."""
    out = {unit.id: {"member_count": 0, "leader_ids": [], "leaders": []} for unit in units}
    if not units:
        return out
    rows = session.exec(select(TeamMembership.unit_id, TeamMembership.unit_leader, User)
                        .join(User, User.id == TeamMembership.user_id)
                        .where(TeamMembership.unit_id.in_(list(out))).order_by(User.display_name, User.id))
    for unit_id, leader, user in rows:
        out[unit_id]["member_count"] += 1
        if leader:
            out[unit_id]["leader_ids"].append(user.id)
            out[unit_id]["leaders"].append(user)
    return out


def roster(session: Session, actor: User, unit_id: int) -> tuple[Unit, list[tuple[User, TeamMembership]]]:
    """The sub-unit and its members (leaders first), for its leaders and the team's managers."""
    unit = get_unit(session, actor, unit_id)
    access.require_unit_manager(session, actor, unit)
    rows = list(session.exec(select(User, TeamMembership).join(TeamMembership, TeamMembership.user_id == User.id)
                             .where(TeamMembership.unit_id == unit.id)
                             .order_by(TeamMembership.unit_leader.desc(), User.display_name, User.id)).all())
    return unit, rows


def unit_in_team(session: Session, actor: User, team_id: int, unit_id: int | None, field: str = "unit_id"):
    """``unit_id`` as a sub-unit of the team (None stays None); another team's is refused (422)."""
    if unit_id is None:
        return None
    unit = session.get(Unit, unit_id) if isinstance(unit_id, int) and 0 < unit_id <= MAX_ID else None
    if unit is None or unit.station_id != actor.station_id or unit.team_id != team_id:
        raise FieldError(field, _l("Choose a sub-unit of this team."))
    return unit


def led_units(session: Session, user: User) -> list[Unit]:
    ids = access.led_unit_ids(session, user)
    if not ids:
        return []
    return list(session.exec(select(Unit).where(Unit.id.in_(ids), Unit.station_id == user.station_id)
                             .order_by(Unit.name)))


def assign_member(session: Session, actor: User, team_id: int, user_id: int, unit_id: int | None,
                  leader: bool = False) -> TeamMembership:
    """Put one member of the team into a sub-unit of it (as a leader or not), or back into the
    team alone (``unit_id`` None)."""
    team = _managed_team(session, actor, team_id)
    unit = unit_in_team(session, actor, team.id, unit_id)
    rows = _memberships(session, team.id, [user_id], "user_id")
    row = rows[0]
    row.unit_id, row.unit_leader = (unit.id, bool(leader)) if unit else (None, False)
    session.add(row)
    session.flush()
    audit.record(session, actor, "unit.assign", "team", team.id, user_id=user_id,
                 unit_id=row.unit_id, leader=row.unit_leader)
    return row
