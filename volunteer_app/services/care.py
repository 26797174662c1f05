"""Care visits (关爱走访): the register of households a station visits regularly (elderly people
living alone, left-behind children, people with disabilities, others), who visits them, and
each visit.

Who sees what: a household's label, kind, grid and when it is due are shown to the station's
coordinators and admins and to the volunteers assigned to it; its personal data (name, address,
contact, needs) and the visits' notes and photos are opened only by them too, one household at
a time, and every opening is audited (``care.open``, ``care.photo``). That data is kept
encrypted (Fernet, a key from ``CARE_DATA_KEY`` or derived from ``SECRET_KEY``) and left out of
the register's export unless an admin asks for it (audited, ``care.export``).

A logged visit makes one confirmed ``care_visit`` service record per volunteer who went
(``services/service.py``: overlaps refused, the kind's points, ``minutes_served``); a visit
with a concern tells the visitors' coordinators and the station's admins.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models.base import GRID_LENGTH
from ..models import (HOUSEHOLD_KINDS, VISIT_CONDITIONS, CareAssignment, CareHousehold, CareVisit, CareVisitor,
                      TeamMembership, User)
from ..parsing import clean_text
from ..settings import setting
from .. import timeutil
from ..timeutil import isoformat, local
from . import access, audit, images, notices, outbox, service

KIND_LABELS = {
    "elderly_alone": _l("Elderly living alone"),
    "left_behind_child": _l("Left-behind child"),
    "disability": _l("Person with a disability"),
    "other": _l("Other household"),
}
CONDITION_LABELS = {"well": _l("Doing well"), "fair": _l("So-so"), "poor": _l("Not well")}
#: A household is "due" from this many days before its visit falls due.
DUE_SOON_DAYS = 3
MAX_VISITORS = 10
PHOTO_SIDE = 1600


def _fernet() -> Fernet:
    secret = setting("CARE_DATA_KEY") or f"care-data:{setting('SECRET_KEY')}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(str(secret).encode()).digest()))


def _seal(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode() if text else ""


def _open(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return ""




# -- who may see ----------------------------------------------------------------------------------

def is_staff(actor: User) -> bool:
    return actor.has_role("coordinator")


def assigned_ids(session: Session, household_id: int) -> list[int]:
    return list(session.exec(select(CareAssignment.user_id).where(CareAssignment.household_id == household_id)
                             .order_by(CareAssignment.user_id)))


def may_open(session: Session, actor: User, household: CareHousehold) -> bool:
    """The station's coordinators and admins, the household's assigned volunteers, and the
    police assistant of its grid."""
    if household.station_id != actor.station_id:
        return False
    area = access.assistant_area(actor)
    return (is_staff(actor) or (area is not None and household.grid == area)
            or actor.id in assigned_ids(session, household.id))


def _household(session: Session, actor: User, household_id: int) -> CareHousehold:
    """A household of the actor's station they may open (another station's: not_found)."""
    household = access.get_in_station(session, CareHousehold, household_id, actor, _l("No such household."))
    if not may_open(session, actor, household):
        access.forbid(_l("Only the volunteers assigned to this household and the coordinators may see it."))
    return household


# -- due dates ------------------------------------------------------------------------------------

def due_on(household: CareHousehold) -> date:
    since = household.last_visited_at or household.created_at
    return local(since).date() + timedelta(days=household.visit_every_days)


def due_state(household: CareHousehold, today: date) -> str:
    """``overdue`` (the due day has passed), ``due`` (within ``DUE_SOON_DAYS``) or ``ok``."""
    day = due_on(household)
    if day < today:
        return "overdue"
    return "due" if day <= today + timedelta(days=DUE_SOON_DAYS) else "ok"


@dataclass
class Row:
    """A household as lists show it: no personal data."""

    household: CareHousehold
    due_on: date
    state: str
    assigned: list[int]


def _rows(session: Session, households: list[CareHousehold], now: datetime) -> list[Row]:
    today = local(now).date()
    ids = [household.id for household in households]
    assigned: dict[int, list[int]] = {household_id: [] for household_id in ids}
    if ids:
        for household_id, user_id in session.exec(
                select(CareAssignment.household_id, CareAssignment.user_id)
                .where(CareAssignment.household_id.in_(ids)).order_by(CareAssignment.user_id)):
            assigned[household_id].append(user_id)
    rows = [Row(household, due_on(household), due_state(household, today), assigned[household.id])
            for household in households]
    return sorted(rows, key=lambda row: (row.due_on, row.household.id))


def list_households(session: Session, actor: User, *, mine: bool = False, state: str | None = None,
                    now: datetime | None = None) -> list[Row]:
    """The households the actor may see, soonest due first: a coordinator's or admin's, the
    station's (``mine``: only those assigned to them); a volunteer's, those assigned to them."""
    now = now or timeutil.utcnow()
    stmt = select(CareHousehold).where(CareHousehold.station_id == actor.station_id, CareHousehold.active)
    if mine or not is_staff(actor):
        assigned = CareHousehold.id.in_(select(CareAssignment.household_id).where(CareAssignment.user_id == actor.id))
        area = None if mine else access.assistant_area(actor)
        stmt = stmt.where(assigned | (CareHousehold.grid == area) if area is not None else assigned)
    rows = _rows(session, list(session.exec(stmt)), now)
    return [row for row in rows if state is None or row.state == state]


def area_households(session: Session, actor: User, *, now: datetime | None = None) -> list[Row]:
    """A police assistant's households of their area, soonest due first (403 for anyone else)."""
    area = access.assistant_area(actor)
    if area is None:
        access.forbid(_l("Only a police assistant with an area sees this."))
    stmt = select(CareHousehold).where(CareHousehold.station_id == actor.station_id, CareHousehold.active,
                                       CareHousehold.grid == area)
    return _rows(session, list(session.exec(stmt)), now or timeutil.utcnow())


def overdue_count(session: Session, station_id: int, now: datetime | None = None) -> int:
    """The station's active households whose visit is overdue (the dashboard's figure)."""
    today = local(now or timeutil.utcnow()).date()
    households = session.exec(select(CareHousehold).where(CareHousehold.station_id == station_id,
                                                          CareHousehold.active))
    return sum(1 for household in households if due_state(household, today) == "overdue")


# -- the register ---------------------------------------------------------------------------------

def _check_kind(kind) -> str:
    if kind not in HOUSEHOLD_KINDS:
        raise FieldError("kind", _l("Choose one of the kinds of household."))
    return kind


def _check_every(days) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise FieldError("visit_every_days", _l("Enter a whole number from %(low)s to %(high)s.", low=1, high=365))
    return days


def _volunteers(session: Session, actor: User, user_ids, field: str) -> list[User]:
    """Active people of the actor's station, by id (another station's: not_found)."""
    if not isinstance(user_ids, (list, tuple)) or len(user_ids) > MAX_VISITORS:
        raise FieldError(field, _l("Choose at most %(n)s people.", n=MAX_VISITORS))
    people = []
    for user_id in dict.fromkeys(user_ids):
        person = access.get_in_station(session, User, user_id, actor, _l("No such user."))
        if person.status != "active":
            raise FieldError(field, _l("%(name)s's account is not active.", name=person.display_name))
        people.append(person)
    return people


def create_household(session: Session, actor: User, *, kind: str, label: str, grid: str = "", name: str = "",
                     address: str = "", contact: str = "", needs: str = "", visit_every_days: int = 14,
                     volunteer_ids: list[int] = ()) -> CareHousehold:
    """A coordinator or admin registers a household (audited)."""
    access.require_role(actor, "coordinator")
    household = CareHousehold(
        station_id=actor.station_id, kind=_check_kind(kind), label=clean_text(label, "label", 50, required=True),
        grid=clean_text(grid, "grid", GRID_LENGTH), name_sealed=_seal(clean_text(name, "name", 50)),
        address_sealed=_seal(clean_text(address, "address", 200)),
        contact_sealed=_seal(clean_text(contact, "contact", 100)),
        needs_sealed=_seal(clean_text(needs, "needs", 500)), visit_every_days=_check_every(visit_every_days),
        created_by_id=actor.id)
    session.add(household)
    session.flush()
    _assign(session, actor, household, list(volunteer_ids))
    audit.record(session, actor, "care.create", "care_household", household.id, kind=household.kind)
    return household


def update_household(session: Session, actor: User, household_id: int, **changes) -> CareHousehold:
    """A coordinator or admin changes a household (only the fields given); audited."""
    access.require_role(actor, "coordinator")
    household = _household(session, actor, household_id)
    limits = {"name": 50, "address": 200, "contact": 100, "needs": 500}
    for field, value in changes.items():
        if field == "kind":
            household.kind = _check_kind(value)
        elif field == "label":
            household.label = clean_text(value, "label", 50, required=True)
        elif field == "grid":
            household.grid = clean_text(value, "grid", GRID_LENGTH)
        elif field in limits:
            setattr(household, f"{field}_sealed", _seal(clean_text(value, field, limits[field])))
        elif field == "visit_every_days":
            household.visit_every_days = _check_every(value)
        elif field == "active":
            household.active = bool(value)
        elif field == "volunteer_ids":
            _assign(session, actor, household, list(value or []))
    session.add(household)
    session.flush()
    audit.record(session, actor, "care.update", "care_household", household.id, fields=sorted(changes))
    return household


def _assign(session: Session, actor: User, household: CareHousehold, user_ids: list[int]) -> None:
    """The household's assigned volunteers become exactly ``user_ids``."""
    wanted = {person.id for person in _volunteers(session, actor, user_ids, "volunteer_ids")}
    current = {row.user_id: row for row in session.exec(
        select(CareAssignment).where(CareAssignment.household_id == household.id))}
    for user_id, row in current.items():
        if user_id not in wanted:
            session.delete(row)
    for user_id in sorted(wanted - set(current)):
        session.add(CareAssignment(station_id=household.station_id, household_id=household.id, user_id=user_id))
        notices.notify(session, user_id, "care", _l("A household was assigned to you"),
                       _l("%(label)s: please visit it every %(days)s days.", label=household.label,
                          days=household.visit_every_days), f"/care/{household.id}")
    session.flush()


@dataclass
class Opened:
    """A household with its personal data, as its page shows it."""

    household: CareHousehold
    name: str
    address: str
    contact: str
    needs: str
    due_on: date
    state: str
    assigned: list[User]
    visits: list[dict]


def open_household(session: Session, actor: User, household_id: int, *, now: datetime | None = None,
                   visits: int = 20) -> Opened:
    """A household's personal data and latest visits, for someone allowed; audited."""
    now = now or timeutil.utcnow()
    household = _household(session, actor, household_id)
    audit.record(session, actor, "care.open", "care_household", household.id)
    people = [session.get(User, user_id) for user_id in assigned_ids(session, household.id)]
    recent = list(session.exec(select(CareVisit).where(CareVisit.household_id == household.id)
                               .order_by(CareVisit.started_at.desc(), CareVisit.id.desc()).limit(visits)))
    return Opened(household, _open(household.name_sealed), _open(household.address_sealed),
                  _open(household.contact_sealed), _open(household.needs_sealed), due_on(household),
                  due_state(household, local(now).date()), people, [_visit_view(session, visit) for visit in recent])


def _visit_view(session: Session, visit: CareVisit) -> dict:
    ids = visitor_ids(session, visit.id)
    names = [person.display_name for person in (session.get(User, user_id) for user_id in ids) if person]
    return {"visit": visit, "note": _open(visit.note_sealed), "concern_note": _open(visit.concern_note_sealed),
            "visitor_ids": ids, "names": "、".join(names)}


def visitor_ids(session: Session, visit_id: int) -> list[int]:
    return list(session.exec(select(CareVisitor.user_id).where(CareVisitor.visit_id == visit_id)
                             .order_by(CareVisitor.user_id)))


# -- visits ---------------------------------------------------------------------------------------

def log_visit(session: Session, actor: User, household_id: int, *, started_at: datetime, ended_at: datetime,
              visitor_ids: list[int] | None = None, condition: str = "well", note: str = "",
              concern: bool = False, concern_note: str = "", now: datetime | None = None) -> CareVisit:
    """Log a visit: who went (default: the actor; a volunteer logs only visits they went on),
    how the person is, and a concern with its note. One confirmed ``care_visit`` record per
    visitor (``service_overlap`` when one overlaps their counted time: nothing is logged); a
    concern tells the coordinators."""
    now = now or timeutil.utcnow()
    if actor.status != "active":
        access.forbid(_l("This account is not active."))
    household = _household(session, actor, household_id)
    if not household.active:
        raise DomainError("not_open", _l("This household is no longer on the register."), status=409)
    people = _volunteers(session, actor, visitor_ids if visitor_ids else [actor.id], "visitor_ids")
    if not is_staff(actor) and actor.id not in {person.id for person in people}:
        access.forbid(_l("You may only log visits you went on."))
    if condition not in VISIT_CONDITIONS:
        raise FieldError("condition", _l("Choose how the person is."))
    note = clean_text(note, "note", 500)
    concern_note = clean_text(concern_note, "concern_note", 500, required=bool(concern))
    started_at, ended_at = service.check_times(started_at, ended_at, now)
    service.hold_people(session, [person.id for person in people] + [actor.id])
    visit = CareVisit(station_id=household.station_id, household_id=household.id, started_at=started_at,
                      ended_at=ended_at, condition=condition, concern=bool(concern), note_sealed=_seal(note),
                      concern_note_sealed=_seal(concern_note) if concern else "", created_by_id=actor.id)
    session.add(visit)
    session.flush()
    for person in people:
        session.add(CareVisitor(station_id=household.station_id, visit_id=visit.id, user_id=person.id))
    service.record_logged(session, actor, source="care_visit", source_key=f"care_visit:{visit.id}",
                          user_ids=[person.id for person in people], kind="care_visit", started_at=started_at,
                          ended_at=ended_at, place=household.label, now=now)
    if household.last_visited_at is None or ended_at > household.last_visited_at:
        household.last_visited_at = ended_at
        session.add(household)
    session.flush()
    audit.record(session, actor, "care.visit", "care_household", household.id, visit_id=visit.id,
                 visitors=[person.id for person in people], concern=visit.concern)
    if visit.concern:
        _tell_coordinators(session, household, people, now)
        outbox.emit(session, household.station_id, "care.concern", concern_event(household, visit), now=now)
    return visit


def concern_event(household: CareHousehold, visit: CareVisit) -> dict:
    """What a webhook hears of a concern: the household's label and grid, never its personal data
    (name, address, contact, needs) nor the visit's notes."""
    return {"visit_id": visit.id, "household_id": household.id, "label": household.label, "grid": household.grid,
            "kind": household.kind, "condition": visit.condition, "visited_at": isoformat(visit.ended_at)}


def coordinators_for(session: Session, station_id: int, people: list[User]) -> list[int]:
    """Who hears of a concern: the coordinators of the visitors' teams and the station's admins."""
    teams = select(TeamMembership.team_id).where(TeamMembership.user_id.in_([person.id for person in people]))
    coordinating = set(session.exec(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams),
                                                                        TeamMembership.role == "coordinator")))
    staff = session.exec(select(User).where(User.station_id == station_id, User.status == "active"))
    return sorted(user.id for user in staff
                  if user.is_admin or (user.id in coordinating and "coordinator" in user.role_set()))


def _tell_coordinators(session: Session, household: CareHousehold, people: list[User], now: datetime) -> None:
    names = "、".join(person.display_name for person in people)
    for user_id in coordinators_for(session, household.station_id, people):
        notices.notify(session, user_id, "care", _l("A care visit raised a concern"),
                       _l("%(label)s, visited by %(names)s.", label=household.label, names=names),
                       f"/care/{household.id}", now=now)


def _visit(session: Session, actor: User, visit_id: int) -> tuple[CareVisit, CareHousehold]:
    visit = access.get_in_station(session, CareVisit, visit_id, actor, _l("No such visit."))
    return visit, _household(session, actor, visit.household_id)


def close_concern(session: Session, actor: User, visit_id: int, *, now: datetime | None = None) -> CareVisit:
    """A coordinator marks a visit's concern as dealt with (audited)."""
    access.require_role(actor, "coordinator")
    visit, _household_row = _visit(session, actor, visit_id)
    if not visit.concern or visit.concern_closed_at is not None:
        raise DomainError("not_open", _l("This visit has no open concern."), status=409)
    visit.concern_closed_at = now or timeutil.utcnow()
    session.add(visit)
    session.flush()
    audit.record(session, actor, "care.concern_closed", "care_visit", visit.id)
    return visit


def _concern_open(station_id: int) -> tuple:
    """The station's visits with a concern not yet dealt with (a WHERE clause)."""
    return CareVisit.station_id == station_id, CareVisit.concern, CareVisit.concern_closed_at.is_(None)


def open_concern_count(station_id: int):
    """A scalar subquery: how many of the station's concerns are not yet dealt with."""
    return select(func.count(CareVisit.id)).where(*_concern_open(station_id)).scalar_subquery()


def open_concerns(session: Session, actor: User, *, limit: int = 50) -> list[tuple[CareVisit, CareHousehold]]:
    """Visits with a concern not yet dealt with, newest first (coordinators and admins)."""
    access.require_role(actor, "coordinator")
    return list(session.exec(
        select(CareVisit, CareHousehold).join(CareHousehold, CareHousehold.id == CareVisit.household_id)
        .where(*_concern_open(actor.station_id))
        .order_by(CareVisit.started_at.desc(), CareVisit.id.desc()).limit(limit)))


# -- photos ---------------------------------------------------------------------------------------

def photo_dir(instance_path: str | Path) -> Path:
    return Path(instance_path) / "care_photos"


def add_photo(session: Session, actor: User, visit_id: int, data: bytes, *, folder: str | Path) -> CareVisit:
    """A visitor (or a coordinator) adds the visit's photo, re-encoded without metadata; a
    second one replaces the first. The caller removes the file if the transaction fails."""
    visit, _household_row = _visit(session, actor, visit_id)
    if not is_staff(actor) and actor.id not in visitor_ids(session, visit.id):
        access.forbid(_l("Only those who went on the visit may add its photo."))
    picture = images.reencode(data, max_side=PHOTO_SIDE, keep_png=False)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.jpg"
    (folder / name).write_bytes(picture.data)
    visit.photo = name
    session.add(visit)
    session.flush()
    audit.record(session, actor, "care.photo_add", "care_visit", visit.id)
    return visit


def photo_path(session: Session, actor: User, visit_id: int, *, folder: str | Path) -> Path:
    """The visit's photo for someone who may open the household; audited."""
    visit, _household_row = _visit(session, actor, visit_id)
    if not visit.photo or not (Path(folder) / visit.photo).is_file():
        raise DomainError("not_found", _l("This visit has no photo."))
    audit.record(session, actor, "care.photo", "care_visit", visit.id)
    return Path(folder) / visit.photo


# -- export ---------------------------------------------------------------------------------------

def export_rows(session: Session, actor: User, *, personal: bool = False, now: datetime | None = None
                ) -> tuple[list[str], list[list]]:
    """The register as a table: kind, label, grid, every N days, last visit, due, state. Name,
    address, contact and needs only when an admin asks (``personal``; audited)."""
    access.require_role(actor, "coordinator")
    if personal and not actor.is_admin:
        access.forbid(_l("Only an administrator may export the households' personal data."))
    header = ["id", "kind", "label", "grid", "visit_every_days", "last_visited_on", "due_on", "state"]
    if personal:
        header += ["name", "address", "contact", "needs"]
    rows = []
    for row in list_households(session, actor, now=now):
        household = row.household
        line = [household.id, household.kind, household.label, household.grid, household.visit_every_days,
                local(household.last_visited_at).date().isoformat() if household.last_visited_at else "",
                row.due_on.isoformat(), row.state]
        if personal:
            line += [_open(household.name_sealed), _open(household.address_sealed),
                     _open(household.contact_sealed), _open(household.needs_sealed)]
        rows.append(line)
    if personal:
        audit.record(session, actor, "care.export", "care_household", None, households=len(rows))
    return header, rows
