"""Accounts: registration, approval, passwords, login with its rate limit, sessions and tokens."""
from __future__ import annotations

import functools
import gzip
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, update
from sqlmodel import Session, select

from .. import db, usernames
from ..config import parse_levels
from ..errors import DomainError, FieldError, keeps_writes
from ..models.base import GRID_LENGTH, MAX_ID
from ..models import ROLES, USER_STATUSES, ApiToken, LoginAttempt, Station, Team, TeamMembership, User  # noqa: F401 (USER_STATUSES for the pages)
from ..settings import setting
from ..timeutil import utcnow
from . import access, attempts, audit, stations

USERNAME_RE = re.compile(r"^[\w.\-@]{3,64}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()  # argon2id


def configure_hasher(*, fast: bool = False) -> None:
    """Tests use cheap parameters; production keeps argon2-cffi's defaults."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1) if fast else PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the username is unknown, so both paths cost the same.
_DUMMY_HASH: str | None = None


def _burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def normalise_username(username: str) -> str:
    return usernames.normalise(username)


def check_username(username: str) -> str:
    """The username as stored and compared (NFKC, case folded), or 422."""
    name = normalise_username(username)
    if not USERNAME_RE.match(name) or not usernames.has_visible(name):
        raise FieldError("username", _l("3 to 64 letters, digits, or . _ - @"))
    return name


def check_display_name(display_name: str) -> str:
    """A name to show: 1 to 64 characters, at least one of them visible (422 otherwise)."""
    display_name = display_name.strip()
    if not usernames.has_visible(display_name):
        raise FieldError("display_name", _l("Please enter your name."))
    if len(display_name) > 64:
        raise FieldError("display_name", _l("1 to 64 characters."))
    return display_name


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords of a breached-password list (``data/README.md``)."""
    with gzip.open(usernames.DATA_DIR / "common-passwords.txt.gz", "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_password(password: str) -> None:
    """At least 8 characters, not only whitespace, not a common password (422 otherwise)."""
    if len(password) < MIN_PASSWORD:
        raise FieldError("password", _l("At least 8 characters."))
    if len(password) > 256:
        raise FieldError("password", _l("At most 256 characters."))
    if not password.strip():
        raise FieldError("password", _l("A password cannot be only spaces."))
    if password.strip().lower() in common_passwords():
        raise FieldError("password", _l("This password is one of the most common ones and easy to guess. "
                                        "Please choose another."))


def default_station(session: Session) -> Station:
    station = session.exec(select(Station).order_by(Station.id)).first()
    if station is None:
        station = Station(name=setting("STATION_NAME"))
        session.add(station)
        session.flush()
    return station


def _username_free(session: Session, username: str) -> None:
    """409 ``username_taken`` when the (normalised) username, or one that looks like it, exists."""
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise DomainError("username_taken", _l("This username is taken."))
    if session.exec(select(User.id).where(User.username_skeleton == usernames.skeleton(username))).first():
        raise DomainError("username_taken", _l("This username looks like one that is taken. Please choose another."))


@keeps_writes
def register(session: Session, *, username: str, password: str, display_name: str,
             phone: str | None = None, station_id: int | None = None, language: str = "zh_CN",
             ip: str = "", join: str | None = None) -> User:
    """Self-registration: the account waits for a coordinator's approval.

    Limited, since anyone may call it and each costs a slow hash: more than
    ``REGISTER_MAX_PER_IP`` attempts from one address within ``REGISTER_WINDOW_MINUTES`` are
    ``too_many_attempts``; every attempt is recorded first, and kept even when the registration
    is refused (``keeps_writes``). A station keeps at most ``MAX_PENDING_REGISTRATIONS`` waiting
    for approval; beyond that registration is closed until staff catch up (``registrations_full``).

    ``join``: a station's join code (its URL or token): the account waits in that station (and
    joins its team once approved). Without one, ``station_id`` chooses (the first station by default)."""
    if ip:
        now = utcnow()
        since = now - timedelta(minutes=setting("REGISTER_WINDOW_MINUTES"))
        if attempts.count(session, "register", ip, since=since) >= setting("REGISTER_MAX_PER_IP"):
            raise DomainError("too_many_attempts", _l(
                "Too many registrations from this network. Please wait 10 minutes and try again."))
        attempts.record(session, "register", ip, now=now)
    username = check_username(username)
    check_password(password)
    display_name = check_display_name(display_name)
    _username_free(session, username)
    team_id = None
    if join:
        station, team = stations.read_join(session, join)
        station_id, team_id = station.id, (team.id if team else None)
    elif station_id is not None:
        if session.get(Station, station_id) is None:
            raise FieldError("station_id", _l("No such station."))
    station_id = station_id or default_station(session).id
    pending = session.exec(select(func.count()).select_from(User).where(
        User.station_id == station_id, User.status == "pending")).one()
    if pending >= setting("MAX_PENDING_REGISTRATIONS"):
        raise DomainError("registrations_full", _l(
            "This station has many registrations waiting for approval. Please try again in a few days, "
            "or ask your coordinator to add you."))
    user = User(station_id=station_id, username=username, display_name=display_name,
                phone=(phone or "").strip() or None, password_hash=hash_password(password),
                status="pending", roles="volunteer", language=language)
    session.add(user)
    session.flush()
    if team_id is not None:
        session.add(TeamMembership(team_id=team_id, user_id=user.id, role="member"))
        session.flush()
    return user


def create_user(session: Session, actor: User | None, *, username: str, password: str, display_name: str,
                roles: list[str] | None = None, team_id: int | None = None, phone: str | None = None,
                station_id: int | None = None) -> User:
    """A user created by staff (or the CLI, ``actor=None``), active at once."""
    roles = list(dict.fromkeys(roles or ["volunteer"]))
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles:
        raise FieldError("roles", _l("Roles are volunteer, clerk, coordinator, admin or county_admin."))
    team = None
    if actor is not None:
        access.require_role(actor, "coordinator")
        if "county_admin" in roles and not actor.is_county_admin:
            access.forbid(_l("Only the county's administrators may do this."))
        if station_id is not None and station_id != actor.station_id:
            stations.require_county_admin(actor)
            stations.get_station(session, actor, station_id)
        station_id = station_id or actor.station_id
        if team_id is not None:
            team = session.get(Team, team_id)
            if team is None or team.station_id != station_id:
                raise DomainError("not_found", _l("No such team."))
        if not actor.is_admin:
            if roles != ["volunteer"]:
                access.forbid(_l("Coordinators may only create volunteers."))
            if team is None or not access.is_team_manager(session, actor, team):
                access.forbid(_l("Coordinators create volunteers in a team they coordinate."))
    elif team_id is not None:
        team = session.get(Team, team_id)
        if team is None:
            raise DomainError("not_found", _l("No such team."))
    username = check_username(username)
    check_password(password)
    display_name = check_display_name(display_name)
    _username_free(session, username)
    station_id = station_id or (team.station_id if team else default_station(session).id)
    user = User(station_id=station_id, username=username, display_name=display_name,
                phone=(phone or "").strip() or None, password_hash=hash_password(password),
                status="active", roles=" ".join(roles), approved_at=utcnow())
    session.add(user)
    session.flush()
    if team is not None:
        session.add(TeamMembership(team_id=team.id, user_id=user.id, role="member"))
    audit.record(session, actor, "user.create", "user", user.id, station_id=station_id, roles=roles,
                 team_id=team_id)
    session.flush()
    return user


def get_user(session: Session, actor: User, user_id: int) -> User:
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_view_user(session, actor, user)
    return user


def person(session: Session, actor: User, user_id: int) -> User:
    """Someone of the actor's station, to name or show (not_found otherwise)."""
    return access.get_in_station(session, User, user_id, actor, _l("No such user."))


def people(session: Session, actor: User, user_ids) -> dict[int, User]:
    """``{id: user}`` for those of ``user_ids`` in the actor's station."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return {user.id: user for user in session.exec(
        select(User).where(User.id.in_(ids), User.station_id == actor.station_id))}


def approve(session: Session, actor: User, user_id: int) -> User:
    """Any coordinator of the station may approve a pending user (they have no team yet)."""
    access.require_role(actor, "coordinator")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.status == "disabled" and not actor.is_admin:
        access.forbid(_l("Only an administrator may enable a disabled account."))
    if user.status != "active":
        user.status = "active"
        user.approved_at = utcnow()
        session.add(user)
        audit.record(session, actor, "user.approve", "user", user.id)
        session.flush()
    return user


def reject(session: Session, actor: User, user_id: int) -> User:
    """Turn down a pending registration (the account is disabled, never deleted)."""
    access.require_role(actor, "coordinator")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.status != "pending":
        raise DomainError("conflict", _l("Only pending registrations can be rejected."))
    _disable(session, user)
    audit.record(session, actor, "user.reject", "user", user.id)
    session.flush()
    return user


def _disable(session: Session, user: User) -> None:
    user.status = "disabled"
    user.session_version += 1
    session.add(user)


def disable(session: Session, actor: User, user_id: int) -> User:
    access.require_role(actor, "admin")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.id == actor.id:
        access.forbid(_l("You cannot disable your own account."))
    if user.is_county_admin and not actor.is_county_admin:
        access.forbid(_l("Only the county's administrators may do this."))
    if user.status != "disabled":
        _disable(session, user)
        audit.record(session, actor, "user.disable", "user", user.id)
        session.flush()
    return user


def set_roles(session: Session, actor: User, user_id: int, roles: list[str] | None, area: str | None = None) -> User:
    """The station's admin gives roles (``None``: unchanged) and a police assistant's ``area``
    (a village, grid or company: the tips and care households of that grid are theirs to see)."""
    access.require_role(actor, "admin")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if area is not None:
        area = area.strip()
        if len(area) > GRID_LENGTH or "\x00" in area:
            raise FieldError("area", _l("At most %(n)s characters.", n=GRID_LENGTH))
        if area != user.area:
            audit.record(session, actor, "user.area", "user", user.id, before=user.area, after=area)
            user.area = area
            session.add(user)
    if roles is None:
        session.flush()
        return user
    roles = list(dict.fromkeys(roles))
    if not roles or any(role not in ROLES for role in roles):
        raise FieldError("roles", _l("Roles are volunteer, clerk, coordinator, admin, county_admin or "
                                     "police_assistant."))
    if ("county_admin" in roles) != user.is_county_admin and not actor.is_county_admin:
        access.forbid(_l("Only the county's administrators may do this."))
    if user.id == actor.id and not {"admin", "county_admin"} & set(roles):
        access.forbid(_l("You cannot remove your own administrator role."))
    before = user.roles
    user.roles = " ".join(roles)
    session.add(user)
    audit.record(session, actor, "user.roles", "user", user.id, before=before.split(), after=roles)
    session.flush()
    return user


# -- login and its rate limit ------------------------------------------------------------------

def _failures_since(session: Session, column, value: str, since: datetime) -> int:
    return session.exec(
        select(func.count()).select_from(LoginAttempt).where(column == value, LoginAttempt.created_at >= since)
    ).one()


@keeps_writes
def authenticate(session: Session, username: str, password: str, *, ip: str = "",
                 now: datetime | None = None) -> User:
    """Check a username and password under the rate limit.

    After ``LOGIN_MAX_FAILURES`` failures for one username within ``LOGIN_WINDOW_MINUTES``,
    every attempt for it is refused (right password or not) until older failures age out;
    refused attempts are not counted. A failure is kept even though the login is refused
    (``keeps_writes``).
    """
    now = now or utcnow()
    name = normalise_username(username)[:64]
    since = now - timedelta(minutes=setting("LOGIN_WINDOW_MINUTES"))
    if (_failures_since(session, LoginAttempt.username, name, since) >= setting("LOGIN_MAX_FAILURES")
            or (ip and _failures_since(session, LoginAttempt.ip, ip[:64], since)
                >= setting("LOGIN_MAX_FAILURES_PER_IP"))):
        raise DomainError("too_many_attempts",
                          _l("Too many failed attempts. Please wait 15 minutes and try again."))
    user = session.exec(select(User).where(User.username == name)).first()
    if user is None:
        _burn_time(password)
    if user is None or not verify_password(user, password):
        session.add(LoginAttempt(username=name, ip=ip[:64], created_at=now))
        raise DomainError("bad_credentials", _l("Wrong username or password."))
    if user.status == "pending":
        raise DomainError("pending_approval", _l("Your account is waiting for a coordinator's approval."))
    if user.status == "disabled":
        raise DomainError("account_disabled", _l("This account has been disabled."))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Ends every session and token of the user; the caller starts a new one for this device."""
    if not verify_password(user, current):
        raise FieldError("current_password", _l("The current password is wrong."))
    check_password(new)
    user.password_hash = hash_password(new)
    user.session_version += 1
    session.add(user)
    session.flush()


def end_all_sessions(session: Session, user: User) -> None:
    session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    session.refresh(user)


# -- tokens (API bearer tokens and browser sessions) --------------------------------------------

def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(session: Session, user: User, *, kind: str = "api", now: datetime | None = None,
                lifetime: timedelta | None = None) -> tuple[str, ApiToken]:
    now = now or utcnow()
    lifetime = lifetime or (timedelta(hours=setting("API_TOKEN_HOURS")) if kind == "api"
                            else timedelta(days=setting("WEB_SESSION_DAYS")))
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, kind=kind, token_hash=_digest(raw), session_version=user.session_version,
                     created_at=now, expires_at=now + lifetime)
    session.add(token)
    session.flush()
    return raw, token


#: The user a token hash names, with what decides whether the token still holds (plain columns:
#: one entity for the ORM to load, not two); built once (every request runs it).
_TOKEN_LOOKUP = (select(User, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.session_version)
                 .join(ApiToken, ApiToken.user_id == User.id)
                 .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.kind == bindparam("kind")))


def resolve_token(session: Session, raw: str, *, kind: str = "api", now: datetime | None = None) -> User | None:
    """The active user a token belongs to, or None (unknown, expired, revoked or outdated)."""
    if not raw or len(raw) > 128:
        return None
    now = now or utcnow()
    row = session.exec(_TOKEN_LOOKUP, params={"token_hash": _digest(raw), "kind": kind}).first()
    if row is None:
        return None
    user, revoked_at, expires_at, session_version = row
    if (revoked_at is not None or expires_at <= now or user.status != "active"
            or session_version != user.session_version):
        return None
    return user


def token_holder(session: Session, raw: str, *, kind: str = "api", hold: bool = False,
                 station_id: int | None = None) -> User | None:
    """:func:`resolve_token` for a request that may write afterwards: on SQLite in a short read
    transaction of its own (``db.read_before_writing``; ``hold``: left open for the request's
    first read), so that the write lock is taken for the writes alone. The holder's station
    (and ``station_id``, the one a county_admin chose) are read with it, for
    ``stations.act_in`` to find in the session."""
    with db.read_before_writing(session, hold=hold):
        user = resolve_token(session, raw, kind=kind)
        if user is not None:
            # held by the session (its identity map alone would let them go)
            session.info["stations_read"] = [session.get(Station, wanted) for wanted in {user.station_id, station_id}
                                             if isinstance(wanted, int) and 0 < wanted <= MAX_ID]
        return user


def revoke_token(session: Session, raw: str, *, holder: User | None = None) -> None:
    """End one token: a browser session at logout, or an API token given back by its ``holder``
    (their other tokens stay valid)."""
    stmt = select(ApiToken).where(ApiToken.token_hash == _digest(raw))
    if holder is not None:
        stmt = stmt.where(ApiToken.user_id == holder.id, ApiToken.kind == "api")
    token = session.exec(stmt).first()
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()


# -- profile -------------------------------------------------------------------------------------

def update_profile(session: Session, user: User, *, display_name: str | None = None,
                   phone: str | None = None, language: str | None = None, large_mode: bool | None = None,
                   leaderboard_anonymous: bool | None = None) -> User:
    if display_name is not None:
        user.display_name = check_display_name(display_name)
    if phone is not None:
        phone = phone.strip()
        if len(phone) > 32:
            raise FieldError("phone", _l("At most 32 characters."))
        user.phone = phone or None
    if language is not None:
        if language not in setting("LANGUAGES"):
            raise FieldError("language", _l("Unknown language."))
        user.language = language
    if large_mode is not None:
        user.large_mode = large_mode
        user.large_mode_offered = True
    if leaderboard_anonymous is not None:
        user.leaderboard_anonymous = leaderboard_anonymous
    session.add(user)
    session.flush()
    return user


def level_for(lifetime_points: int) -> str:
    """The highest level whose lifetime-points threshold has been reached."""
    name = ""
    for level, threshold in parse_levels(setting("LEVEL_THRESHOLDS")):
        if lifetime_points >= threshold:
            name = level
    return name


def level_progress(lifetime_points: int) -> dict:
    """Current level, the next one and how far along the way (for the home page)."""
    levels = parse_levels(setting("LEVEL_THRESHOLDS"))
    current = level_for(lifetime_points)
    upcoming = [(name, threshold) for name, threshold in levels if threshold > lifetime_points]
    if not upcoming:
        return {"level": current, "next": None, "needed": 0, "percent": 100}
    next_name, next_threshold = upcoming[0]
    floor = max([t for _, t in levels if t <= lifetime_points], default=0)
    span = max(next_threshold - floor, 1)
    return {"level": current, "next": next_name, "needed": next_threshold - lifetime_points,
            "percent": int(100 * (lifetime_points - floor) / span)}


def roles_of(user: User) -> list[str]:
    """A person's roles, in the order of ``ROLES``."""
    return sorted(user.role_set(), key=ROLES.index)


def sees_phone(session: Session, viewer: User | None, user: User) -> bool:
    """The phone number is shown to the person and their coordinators only."""
    return viewer is not None and (viewer.id == user.id or access.coordinates_user(session, viewer, user))


def search_users(session: Session, actor: User, *, query: str = "", status: str | None = None,
                 team_id: int | None = None, limit: int = 50, offset: int = 0) -> list[User]:
    """Users of the actor's station a coordinator may see (admins: all; coordinators: their teams
    and pending registrations)."""
    access.require_role(actor, "coordinator")
    stmt = select(User).where(User.station_id == actor.station_id)
    if not actor.is_admin:
        teams = access.coordinated_team_ids(session, actor)
        member_ids = select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams or {-1}))
        stmt = stmt.where((User.id.in_(member_ids)) | (User.status == "pending"))
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(func.lower(User.username).like(like) | func.lower(User.display_name).like(like)
                          | User.phone.like(like))
    if status:
        stmt = stmt.where(User.status == status)
    if team_id:
        stmt = stmt.where(User.id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id == team_id)))
    return list(session.exec(stmt.order_by(User.id.desc()).offset(offset).limit(limit)))


def count_pending(session: Session, actor: User) -> int:
    """Registrations waiting for approval in the actor's station (for staff)."""
    access.require_role(actor, "coordinator")
    return session.exec(
        select(func.count()).select_from(User).where(User.station_id == actor.station_id, User.status == "pending")
    ).one()


def enable(session: Session, actor: User, user_id: int) -> User:
    """An administrator lets a disabled account sign in again (old sessions stay ended)."""
    access.require_role(actor, "admin")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.status == "disabled":
        user.status = "active"
        user.approved_at = user.approved_at or utcnow()
        session.add(user)
        audit.record(session, actor, "user.enable", "user", user.id)
        session.flush()
    return user


def get_user_for_staff(session: Session, actor: User, user_id: int) -> User:
    """A user as staff pages show them: admins see everyone of the station, coordinators the
    people of their teams and every pending registration (any coordinator may approve those)."""
    access.require_role(actor, "coordinator")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.status != "pending":
        access.require_view_user(session, actor, user)
    return user
