"""Who may act on whom: the authorization rules every face shares."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..errors import DomainError
from ..models import Team, TeamMembership, Unit, User
from ..models.base import MAX_ID


def forbid(message=None):
    raise DomainError("forbidden", message or _l("You are not allowed to do this."))


def require_role(actor: User, *roles: str) -> None:
    """``admin`` passes every role check."""
    if not actor.has_role(*roles):
        forbid()


def team_ids_of(session: Session, user_id: int) -> list[int]:
    return list(session.exec(
        select(TeamMembership.team_id).where(TeamMembership.user_id == user_id).order_by(TeamMembership.team_id)
    ))


def coordinated_team_ids(session: Session, actor: User) -> set[int]:
    """Teams the actor coordinates: coordinator role and a coordinator membership."""
    if "coordinator" not in actor.role_set():
        return set()
    return set(session.exec(
        select(TeamMembership.team_id).where(
            TeamMembership.user_id == actor.id, TeamMembership.role == "coordinator")
    ))


def is_team_manager(session: Session, actor: User, team: Team) -> bool:
    if actor.station_id != team.station_id:
        return False
    return actor.is_admin or team.id in coordinated_team_ids(session, actor)


def require_team_manager(session: Session, actor: User, team: Team) -> None:
    if not is_team_manager(session, actor, team):
        forbid(_l("Only this team's coordinators may do this."))


def led_unit_ids(session: Session, actor: User) -> set[int]:
    """The sub-units the actor leads (a leader's membership of the unit)."""
    return set(session.exec(select(TeamMembership.unit_id).where(
        TeamMembership.user_id == actor.id, TeamMembership.unit_leader.is_(True),
        TeamMembership.unit_id.is_not(None))))


def is_unit_manager(session: Session, actor: User, unit: Unit) -> bool:
    """The unit's leaders, and whoever manages its team."""
    if actor.station_id != unit.station_id:
        return False
    team = session.get(Team, unit.team_id)
    return is_team_manager(session, actor, team) or unit.id in led_unit_ids(session, actor)


def require_unit_manager(session: Session, actor: User, unit: Unit) -> None:
    if not is_unit_manager(session, actor, unit):
        forbid(_l("Only this sub-unit's leaders and the team's coordinators may do this."))


def assistant_area(actor: User) -> str | None:
    """The area a police assistant answers for (tips and care households of that grid); None
    for anyone else, or an assistant without an area."""
    if "police_assistant" not in actor.role_set():
        return None
    return (actor.area or "").strip() or None


def coordinates_user(session: Session, actor: User, target: User) -> bool:
    """Admin of the station, or coordinator of a team the target belongs to."""
    if actor.station_id != target.station_id:
        return False
    if actor.is_admin:
        return True
    teams = coordinated_team_ids(session, actor)
    return bool(teams) and bool(teams & set(team_ids_of(session, target.id)))


#: Roles whose holders only an admin places in a team.
STAFF_ROLES = frozenset({"clerk", "coordinator", "admin", "county_admin"})


def may_enlist(session: Session, actor: User, target: User) -> bool:
    """Whom the actor may put into a team they manage: an admin, anyone of the station; a
    coordinator, only people without a staff role who are in no team yet or already in a team
    they coordinate (moving someone from another team is an admin's act)."""
    if actor.station_id != target.station_id:
        return False
    if actor.is_admin:
        return True
    if target.role_set() & STAFF_ROLES:
        return False
    return not team_ids_of(session, target.id) or coordinates_user(session, actor, target)


def require_may_enlist(session: Session, actor: User, target: User) -> None:
    if not may_enlist(session, actor, target):
        forbid(_l("Only an administrator may move this person into the team."))


def require_same_station(actor: User, target) -> None:
    """Anything of another station is not_found (never forbidden: that would say it exists)."""
    if getattr(target, "station_id", actor.station_id) != actor.station_id:
        raise DomainError("not_found", _l("Not found."))


def require_view_user(session: Session, actor: User, target: User) -> None:
    require_same_station(actor, target)
    if actor.id != target.id and not coordinates_user(session, actor, target):
        forbid(_l("You may only see your own data."))


def require_manage_user(session: Session, actor: User, target: User) -> None:
    require_same_station(actor, target)
    if not coordinates_user(session, actor, target):
        forbid(_l("Only this volunteer's coordinators may do this."))


def refuse_self_dealing(actor: User, target: User | int) -> None:
    """Nobody acts as staff for their own benefit: an award, an adjustment, an on-behalf
    check-in, a hand-confirmed shift or lifted no-shows for oneself are refused, whatever the
    actor's roles (``target``: the user or their id)."""
    if actor.id == (target if isinstance(target, int) else target.id):
        forbid(_l("Someone else must do this for you."))


def get_in_station(session: Session, model, obj_id: int, actor: User, message=None):
    """Load a row of the actor's station or refuse with not_found."""
    obj = session.get(model, obj_id) if isinstance(obj_id, int) and 0 < obj_id <= MAX_ID else None
    if obj is None or getattr(obj, "station_id", actor.station_id) != actor.station_id:
        raise DomainError("not_found", message or _l("Not found."))
    return obj
