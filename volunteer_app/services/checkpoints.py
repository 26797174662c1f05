"""Checkpoints: the patrol points that carry a printed QR poster.

A poster holds ``PUBLIC_BASE_URL/c/<token>``; the token is signed over the checkpoint id and its
``code_version`` (services/codes.py), so :func:`rotate_code` voids every poster printed before.
Coordinators manage the checkpoints of the teams they coordinate and the station-wide ones
(no team); admins manage all of their station's.
"""
from __future__ import annotations

import ipaddress
import math
from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import Checkin, Checkpoint, Event, Team, User
from ..models.base import GRID_LENGTH, MAX_ID
from . import access, audit, codes, service

EDITABLE = ("name", "description", "grid", "latitude", "longitude", "radius_m", "require_location", "points",
            "cooldown_minutes", "team_id", "active", "duty_post", "service_kind", "max_duty_hours")
LIMITS = {"radius_m": (10, 100_000), "points": (0, 10_000), "cooldown_minutes": (0, 7 * 24 * 60),
          "max_duty_hours": (1, 24)}


def checkin_path(token: str) -> str:
    """The path of the phone check-in page for a token (poster token or live event code)."""
    return f"/c/{token}"


def checkin_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + checkin_path(token)


def is_loopback_url(url: str | None) -> bool:
    """True for an address only this computer can open (``localhost``, 127.x, ::1, 0.0.0.0):
    a poster printed with it works on no phone."""
    host = (urlsplit(url or "").hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


# -- GCJ-02 -----------------------------------------------------------------------------------------
# Map apps in China (AMap, Tencent, Baidu's base layer) show positions in GCJ-02, a deliberately
# shifted datum some hundreds of metres off the phones' GPS (WGS-84) that check-ins report.

_A = 6378245.0
_EE = 0.00669342162296594323


def _in_china(lat: float, lng: float) -> bool:
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """The published forward transform (outside China positions are left as they are)."""
    if not _in_china(lat, lng):
        return lat, lng
    dlat, dlng = _shift_lat(lng - 105.0, lat - 35.0), _shift_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """A GCJ-02 pair (copied from a Chinese map app) as WGS-84, by the iterative inverse of the
    forward transform: correct the guess by the error it makes, to well under a centimetre."""
    guess_lat, guess_lng = lat, lng
    for _step in range(30):
        shifted_lat, shifted_lng = wgs84_to_gcj02(guess_lat, guess_lng)
        error_lat, error_lng = shifted_lat - lat, shifted_lng - lng
        guess_lat, guess_lng = guess_lat - error_lat, guess_lng - error_lng
        if abs(error_lat) < 1e-10 and abs(error_lng) < 1e-10:
            break
    return guess_lat, guess_lng


def token(checkpoint: Checkpoint) -> str:
    return codes.checkpoint_token(checkpoint.id, checkpoint.code_version)


def can_manage(session: Session, actor: User, checkpoint: Checkpoint) -> bool:
    if actor.station_id != checkpoint.station_id or not actor.has_role("coordinator"):
        return False
    if actor.is_admin or checkpoint.team_id is None:
        return True
    return checkpoint.team_id in access.coordinated_team_ids(session, actor)


def require_manage(session: Session, actor: User, checkpoint: Checkpoint) -> None:
    if not can_manage(session, actor, checkpoint):
        access.forbid(_l("Only this team's coordinators may change this checkpoint."))


def _check_team(session: Session, actor: User, team_id: int | None) -> None:
    if team_id is None:
        return
    team = access.get_in_station(session, Team, team_id, actor, _l("No such team."))
    access.require_team_manager(session, actor, team)


def _clean(session: Session, actor: User, values: dict) -> dict:
    """Normalise and check the editable fields that are present in ``values``."""
    out = {}
    for key, value in values.items():
        if key not in EDITABLE:
            raise FieldError(key, _l("Unknown field."))
        if key == "service_kind":
            if value is None:
                continue
            value = service.kind_of(session, actor.station_id, value, field=key).key
        if key in ("name", "description", "grid"):
            value = (value or "").strip()
            if key == "name" and not value:
                raise FieldError("name", _l("Please enter a name."))
            if len(value) > {"name": 100, "grid": GRID_LENGTH}.get(key, 1000):
                raise FieldError(key, _l("This text is too long."))
        elif key in LIMITS:
            low, high = LIMITS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise FieldError(key, _l("Enter a whole number from %(low)s to %(high)s.", low=low, high=high))
        elif key == "latitude" and value is not None and not -90 <= value <= 90:
            raise FieldError(key, _l("A latitude lies between -90 and 90."))
        elif key == "longitude" and value is not None and not -180 <= value <= 180:
            raise FieldError(key, _l("A longitude lies between -180 and 180."))
        out[key] = value
    return out


def _check_position(checkpoint: Checkpoint) -> None:
    if (checkpoint.latitude is None) != (checkpoint.longitude is None):
        raise FieldError("longitude" if checkpoint.longitude is None else "latitude",
                         _l("Give both latitude and longitude, or neither."))
    if checkpoint.require_location and checkpoint.latitude is None:
        raise FieldError("require_location", _l("A checkpoint that requires a position needs its own position."))


def create(session: Session, actor: User, *, name: str, description: str | None = None, grid: str | None = None,
           latitude: float | None = None, longitude: float | None = None, radius_m: int = 150,
           require_location: bool = False, points: int = 5, cooldown_minutes: int = 30,
           team_id: int | None = None, active: bool = True, duty_post: bool = False,
           service_kind: str | None = None, max_duty_hours: int = 12) -> Checkpoint:
    """A new checkpoint; a ``duty_post`` (茶室, 调解室) signs people in and out of duty
    (service records of ``service_kind``, at most ``max_duty_hours`` each)."""
    access.require_role(actor, "coordinator")
    values = _clean(session, actor, dict(name=name, description=description, grid=grid, latitude=latitude,
                                         longitude=longitude,
                                         radius_m=radius_m, require_location=require_location, points=points,
                                         cooldown_minutes=cooldown_minutes, team_id=team_id, active=active,
                                         duty_post=bool(duty_post), service_kind=service_kind,
                                         max_duty_hours=max_duty_hours))
    _check_team(session, actor, team_id)
    checkpoint = Checkpoint(station_id=actor.station_id, **values)
    _check_position(checkpoint)
    session.add(checkpoint)
    session.flush()
    audit.record(session, actor, "checkpoint.create", "checkpoint", checkpoint.id, name=checkpoint.name)
    return checkpoint


def get(session: Session, actor: User, checkpoint_id: int) -> Checkpoint:
    return access.get_in_station(session, Checkpoint, checkpoint_id, actor, _l("No such checkpoint."))


def get_managed(session: Session, actor: User, checkpoint_id: int) -> Checkpoint:
    checkpoint = get(session, actor, checkpoint_id)
    require_manage(session, actor, checkpoint)
    return checkpoint


def update(session: Session, actor: User, checkpoint_id: int, **changes) -> Checkpoint:
    checkpoint = get_managed(session, actor, checkpoint_id)
    values = _clean(session, actor, changes)
    if "team_id" in values and values["team_id"] != checkpoint.team_id:
        _check_team(session, actor, values["team_id"])
    for key, value in values.items():
        setattr(checkpoint, key, value)
    _check_position(checkpoint)
    session.add(checkpoint)
    session.flush()
    audit.record(session, actor, "checkpoint.update", "checkpoint", checkpoint.id,
                 changes={key: value for key, value in values.items()})
    return checkpoint


def rotate_code(session: Session, actor: User, checkpoint_id: int) -> Checkpoint:
    """A new poster code; every poster printed before now reads ``invalid_code``."""
    checkpoint = get_managed(session, actor, checkpoint_id)
    checkpoint.code_version += 1
    session.add(checkpoint)
    session.flush()
    audit.record(session, actor, "checkpoint.rotate_code", "checkpoint", checkpoint.id,
                 code_version=checkpoint.code_version)
    return checkpoint


def last_scans(session: Session, checkpoint_ids: list[int]) -> dict[int, datetime]:
    if not checkpoint_ids:
        return {}
    rows = session.exec(
        select(Checkin.checkpoint_id, func.max(Checkin.created_at))
        .where(Checkin.checkpoint_id.in_(checkpoint_ids)).group_by(Checkin.checkpoint_id))
    return dict(rows.all())


def list_for(session: Session, actor: User, *, team_id: int | None = None, active_only: bool = False,
             limit: int = 500) -> list[Checkpoint]:
    """The station's checkpoints (any signed-in user may see the list), by name."""
    stmt = select(Checkpoint).where(Checkpoint.station_id == actor.station_id)
    if team_id is not None:
        stmt = stmt.where(Checkpoint.team_id == team_id)
    if active_only:
        stmt = stmt.where(Checkpoint.active == True)  # noqa: E712
    return list(session.exec(stmt.order_by(Checkpoint.active.desc(), Checkpoint.name, Checkpoint.id).limit(limit)))


def waiting_at(session: Session, path: str | None) -> str | None:
    """The name of the checkpoint (or event) whose check-in page ``path`` is (``/c/<token>``), for
    the login page to say what waits; None for any other path or a code no longer valid. Shown
    to someone not yet signed in who stands at the poster: the name only."""
    if not path or not path.startswith("/c/"):
        return None
    try:
        kind, obj_id, extra = codes.read_scanned(path)
    except DomainError:
        return None
    if kind == "event":
        event = session.get(Event, obj_id) if 0 < obj_id <= MAX_ID else None
        return event.title if event else None
    checkpoint = session.get(Checkpoint, obj_id) if 0 < obj_id <= MAX_ID else None
    if checkpoint is None or not checkpoint.active or checkpoint.code_version != extra:
        return None
    return checkpoint.name
