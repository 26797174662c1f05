"""Stations of the county: creating and naming them, the station a person acts in, and the
join codes that open registration in one station (and team).

A ``county_admin`` is an admin in every station and acts in one at a time: the faces choose it
(:func:`act_in`), and every service then scopes by ``actor.station_id`` as for anyone else.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from ..config import STATION_SETTINGS
from ..errors import DomainError, FieldError
from ..models import Station, Team, User
from ..models.base import MAX_ID
from ..settings import setting
from ..timeutil import UTC, utcnow
from . import access, audit

#: How long a join code is good for unless told otherwise.
JOIN_DAYS = 30


def require_county_admin(actor: User) -> None:
    if not actor.is_county_admin:
        access.forbid(_l("Only the county's administrators may do this."))


def _station(session: Session, station_id) -> Station:
    station = (session.get(Station, station_id)
               if isinstance(station_id, int) and 0 < station_id <= MAX_ID else None)
    if station is None:
        raise DomainError("not_found", _l("No such station."))
    return station


def get_station(session: Session, actor: User, station_id: int) -> Station:
    """A station the actor may see: any for a county_admin, their own otherwise (not_found)."""
    if not actor.is_county_admin and station_id != actor.station_id:
        raise DomainError("not_found", _l("No such station."))
    return _station(session, station_id)


def list_stations(session: Session, actor: User) -> list[Station]:
    stmt = select(Station).order_by(Station.id)
    if not actor.is_county_admin:
        stmt = stmt.where(Station.id == actor.station_id)
    return list(session.exec(stmt))


def all_stations(session: Session) -> list[Station]:
    """Every station, for registration's list (names only are shown)."""
    return list(session.exec(select(Station).order_by(Station.id)))


def member_counts(session: Session, station_ids: list[int]) -> dict[int, int]:
    """Active members per station."""
    if not station_ids:
        return {}
    return dict(session.exec(select(User.station_id, func.count()).where(
        User.station_id.in_(station_ids), User.status == "active").group_by(User.station_id)).all())


def _check_zone(zone: str | None) -> str | None:
    zone = (zone or "").strip()
    if not zone:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError("timezone", _l("Unknown time zone.")) from None
    return zone


def _check_name(session: Session, name: str, station_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _l("Please enter a name."))
    if len(name) > 100:
        raise FieldError("name", _l("At most 100 characters."))
    clash = session.exec(select(Station.id).where(Station.name == name)).first()
    if clash is not None and clash != station_id:
        raise DomainError("name_taken", _l("A station with this name already exists."))
    return name


def create_station(session: Session, actor: User, *, name: str, short_name: str | None = None,
                   timezone: str | None = None) -> Station:
    require_county_admin(actor)
    station = Station(name=_check_name(session, name), short_name=(short_name or "").strip()[:32],
                      timezone=_check_zone(timezone))
    session.add(station)
    session.flush()
    audit.record(session, actor, "station.create", "station", station.id, station_id=station.id, name=station.name)
    return station


def update_station(session: Session, actor: User, station_id: int, *, name: str | None = None,
                   short_name: str | None = None, timezone: str | None = None) -> Station:
    require_county_admin(actor)
    station = _station(session, station_id)
    if name is not None:
        station.name = _check_name(session, name, station.id)
    if short_name is not None:
        station.short_name = short_name.strip()[:32]
    if timezone is not None:
        station.timezone = _check_zone(timezone)
    session.add(station)
    session.flush()
    audit.record(session, actor, "station.update", "station", station.id, station_id=station.id, name=station.name)
    return station


def zone_of(station: Station) -> str:
    return station.timezone or setting("STATION_TZ")


@functools.lru_cache(maxsize=256)
def own_values(settings_json: str) -> dict:
    """A station's stored settings (``services/station_settings.py``), parsed once per process
    for each distinct text: keyed by the text itself, one station's values never stand for
    another's. Read-only: callers copy."""
    try:
        values = json.loads(settings_json or "{}")
    except ValueError:
        return {}
    return {name: value for name, value in values.items() if name in STATION_SETTINGS} if isinstance(values, dict) else {}


def own_settings(station: Station) -> dict:
    """The settings a station sets itself (``settings.use_station``): its name, its time zone
    and the values of its settings page."""
    return {**own_values(station.settings_json), "STATION_NAME": station.name, "STATION_TZ": zone_of(station)}


def act_in(session: Session, user: User, station_id: int | None) -> Station:
    """The station ``user`` acts in for this request: ``station_id`` when they are a
    county_admin (not_found when there is no such station), their own otherwise (another
    station is not_found). The choice is the user object's, for this unit of work only: it is
    never written back."""
    if station_id is None or station_id == user.station_id:
        return _station(session, user.station_id)
    if not user.is_county_admin:
        raise DomainError("not_found", _l("No such station."))
    station = _station(session, station_id)
    set_committed_value(user, "station_id", station.id)
    return station


def act_in_if_any(session: Session, user: User, station_id: int | None) -> Station:
    """:func:`act_in`, falling back to the user's own station when ``station_id`` names none."""
    if station_id is not None and user.is_county_admin and session.get(Station, station_id) is None:
        station_id = None
    return act_in(session, user, station_id)


# -- join codes ---------------------------------------------------------------------------------
# A join code is signed (itsdangerous) over the station, the team (0: none), the station's
# ``join_version`` and the day it expires: nothing is stored, and revoking bumps the version,
# which voids every code of the station printed before.

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(setting("SECRET_KEY"), salt="station-join")


def _require_inviter(session: Session, actor: User, station_id: int) -> Station:
    station = get_station(session, actor, station_id)
    if not actor.has_role("coordinator"):
        access.forbid()
    return station


def join_code(session: Session, actor: User, station_id: int, *, team_id: int | None = None,
              days: int = JOIN_DAYS, now: datetime | None = None) -> tuple[str, datetime]:
    """A join code of the station (and team) for its coordinators and admins: the token and
    when it expires."""
    station = _require_inviter(session, actor, station_id)
    if team_id is not None:
        team = session.get(Team, team_id) if 0 < team_id <= MAX_ID else None
        if team is None or team.station_id != station.id:
            raise DomainError("not_found", _l("No such team."))
    expires = int(((now or utcnow()) + timedelta(days=days)).timestamp())
    token = _serializer().dumps([station.id, team_id or 0, station.join_version, expires])
    return token, datetime.fromtimestamp(expires, tz=UTC)


def revoke_join_codes(session: Session, actor: User, station_id: int) -> Station:
    """Void every join code of the station made so far."""
    station = _require_inviter(session, actor, station_id)
    station.join_version += 1
    session.add(station)
    session.flush()
    audit.record(session, actor, "station.join_revoke", "station", station.id, station_id=station.id)
    return station


def read_join(session: Session, join: str, *, now: datetime | None = None) -> tuple[Station, Team | None]:
    """The station (and team) a join code (its URL or last path segment) opens;
    ``invalid_code`` when it is forged, revoked or expired."""
    token = (join or "").strip().rstrip("/").rsplit("/", 1)[-1]
    refused = DomainError("invalid_code", _l("This join code is not valid (any more). "
                                             "Please ask the station for a new one."))
    try:
        station_id, team_id, version, expires = _serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError, TypeError):
        raise refused from None
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (station_id, team_id, version, expires)):
        raise refused
    station = session.get(Station, station_id) if 0 < station_id <= MAX_ID else None
    if station is None or station.join_version != version or expires <= (now or utcnow()).timestamp():
        raise refused
    team = session.get(Team, team_id) if 0 < team_id <= MAX_ID else None
    if team is not None and team.station_id != station.id:
        raise refused
    return station, team


def joining(session: Session, join: str) -> dict | None:
    """What a join code opens, for the registration page: ``{station, team}``, or None when
    the code is not (or no longer) good."""
    try:
        station, team = read_join(session, join)
    except DomainError:
        return None
    return {"station": station, "team": team}
