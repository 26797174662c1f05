"""Teams and their members."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import MEMBER_ROLES, Team, TeamMembership, User
from . import access, audit


def create_team(session: Session, actor: User, *, name: str, description: str | None = None) -> Team:
    access.require_role(actor, "admin")
    name = name.strip()
    if not name:
        raise FieldError("name", _l("Please enter a name."))
    if session.exec(select(Team.id).where(Team.station_id == actor.station_id, Team.name == name)).first():
        raise DomainError("name_taken", _l("A team with this name already exists."))
    team = Team(station_id=actor.station_id, name=name, description=(description or "").strip())
    session.add(team)
    session.flush()
    audit.record(session, actor, "team.create", "team", team.id, name=name)
    return team


def get_team(session: Session, actor: User, team_id: int) -> Team:
    return access.get_in_station(session, Team, team_id, actor, _l("No such team."))


def member_counts(session: Session, team_ids: list[int]) -> dict[int, int]:
    if not team_ids:
        return {}
    rows = session.exec(
        select(TeamMembership.team_id, func.count()).where(TeamMembership.team_id.in_(team_ids))
        .group_by(TeamMembership.team_id)
    )
    return dict(rows.all())


def list_teams(session: Session, actor: User) -> list[Team]:
    return list(session.exec(select(Team).where(Team.station_id == actor.station_id).order_by(Team.name)))


def teams_of(session: Session, user: User) -> list[Team]:
    """The teams ``user`` belongs to (any role), in the order they were made."""
    return list(session.exec(select(Team).join(TeamMembership, TeamMembership.team_id == Team.id)
                             .where(TeamMembership.user_id == user.id, Team.station_id == user.station_id)
                             .order_by(Team.id)))


def members(session: Session, team_id: int) -> list[tuple[User, TeamMembership]]:
    return list(session.exec(
        select(User, TeamMembership).join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id)
        .order_by(TeamMembership.role.desc(), User.display_name)
    ).all())


def add_member(session: Session, actor: User, team_id: int, user_id: int, role: str = "member") -> TeamMembership:
    """Add someone to a team, or change their role in it.

    Making someone a team coordinator has effect only for holders of the ``coordinator`` role;
    when an admin does it, the role is granted too (a coordinator cannot grant roles). Whom a
    coordinator may add: :func:`access.may_enlist`.
    """
    team = get_team(session, actor, team_id)
    access.require_team_manager(session, actor, team)
    if role not in MEMBER_ROLES:
        raise FieldError("role", _l("The role is member or coordinator."))
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_may_enlist(session, actor, user)
    if user.status != "active":
        raise FieldError("user_id", _l("Only active accounts can join a team."))
    membership = session.exec(
        select(TeamMembership).where(TeamMembership.team_id == team.id, TeamMembership.user_id == user.id)
    ).first()
    if membership is None:
        membership = TeamMembership(team_id=team.id, user_id=user.id, role=role)
    else:
        membership.role = role
    session.add(membership)
    if role == "coordinator" and actor.is_admin and "coordinator" not in user.role_set():
        user.roles = " ".join(sorted(user.role_set() | {"coordinator"}))
        session.add(user)
    audit.record(session, actor, "team.member", "team", team.id, user_id=user.id, role=role)
    session.flush()
    return membership


def remove_member(session: Session, actor: User, team_id: int, user_id: int) -> None:
    team = get_team(session, actor, team_id)
    access.require_team_manager(session, actor, team)
    membership = session.exec(
        select(TeamMembership).where(TeamMembership.team_id == team.id, TeamMembership.user_id == user_id)
    ).first()
    if membership is None:
        raise DomainError("not_found", _l("This person is not in the team."))
    session.delete(membership)
    audit.record(session, actor, "team.remove_member", "team", team.id, user_id=user_id)
    session.flush()


def managed_teams(session: Session, actor: User) -> list[Team]:
    """Teams the actor may manage: every team of the station for an admin, else the ones they
    coordinate."""
    stmt = select(Team).where(Team.station_id == actor.station_id)
    if not actor.is_admin:
        stmt = stmt.where(Team.id.in_(access.coordinated_team_ids(session, actor) or {-1}))
    return list(session.exec(stmt.order_by(Team.name)))


def team_for_manager(session: Session, actor: User, team_id: int) -> Team:
    """A team of the actor's station that the actor manages (404 / 403 otherwise)."""
    team = get_team(session, actor, team_id)
    access.require_team_manager(session, actor, team)
    return team


def membership_of(session: Session, team_id: int, user_id: int) -> TeamMembership | None:
    return session.exec(
        select(TeamMembership).where(TeamMembership.team_id == team_id, TeamMembership.user_id == user_id)
    ).first()


def candidates(session: Session, actor: User, team_id: int, query: str = "", limit: int = 20) -> list[User]:
    """Active people of the station who are not in the team yet and whom the actor may add
    (:func:`access.may_enlist`), matching ``query`` (name, username or phone)."""
    team = team_for_manager(session, actor, team_id)
    query = (query or "").strip().lower()[:64]
    if not query:
        return []
    in_team = select(TeamMembership.user_id).where(TeamMembership.team_id == team.id)
    like = f"%{query}%"
    stmt = (select(User).where(User.station_id == team.station_id, User.status == "active",
                               User.id.not_in(in_team))
            .where(func.lower(User.username).like(like) | func.lower(User.display_name).like(like)
                   | User.phone.like(like))
            .order_by(User.display_name, User.id).limit(100))
    allowed = [user for user in session.exec(stmt) if access.may_enlist(session, actor, user)]
    return allowed[:max(1, min(limit, 100))]


def add_member_by_username(session: Session, actor: User, team_id: int, username: str,
                           role: str = "member") -> TeamMembership:
    """:func:`add_member` for a username typed by a coordinator."""
    team = team_for_manager(session, actor, team_id)
    name = (username or "").strip().lower()[:64]
    if not name:
        raise FieldError("username", _l("Please enter a username."))
    user = session.exec(select(User).where(User.username == name, User.station_id == team.station_id)).first()
    if user is None:
        raise FieldError("username", _l("There is no account with this username."))
    return add_member(session, actor, team.id, user.id, role)
