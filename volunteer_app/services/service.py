"""Service records (服务记录) and hours: every stretch of service is a record, and hours served are
the sum of the ``confirmed`` records' minutes, nothing else.

Where records come from (``source``):

* ``duty_post``: the first scan at a duty post (茶室, 调解室, 警务亭) opens a record, the next scan
  there or :func:`sign_out` closes it (``confirmed``); one left open past the post's
  ``max_duty_hours`` closes at sign-in + that limit as ``pending`` (:func:`settle`).
* ``route``: a completed shift route (services/shifts/attendance.py calls :func:`record_route`).
* ``outing``: scans at patrol points off any shift route, each within ``OUTING_GAP_MINUTES`` of
  the previous, form one outing from the first scan to the last plus ``OUTING_TAIL_MINUTES``.
* ``event``: sign-in and sign-out codes (``credit: scans``), or the whole event for everyone who
  signed in (``credit: full``, confirmed once the event has ended).
* ``makeup``: a volunteer asks for hours that were not scanned; a coordinator confirms or rejects.
* ``entry``: a coordinator records service for a member without a smartphone.
* ``care_visit`` and ``mediation``: a logged care visit (one record per volunteer who went) or
  mediation case (one per mediator), made by :func:`record_logged`.

No two ``open`` or ``confirmed`` records of one person overlap: a make-up, an entry or a
corrected confirmation that would is ``service_overlap``; a scan-made record is trimmed to start
where the earlier one ends. ``users.minutes_served`` is kept equal to the sum (in the same
transaction, checked by :func:`check_integrity`). Points: duty-post records, entries and (when
their kind says so) make-ups earn the kind's ``points_per_hour`` x hours, rounded down, as one
``service`` ledger entry when confirmed; the others are paid by their check-ins and shifts.

Callers hold the volunteer's row lock (a check-in does; the functions here that start from a
request take it), so one person's records change one at a time. Nothing here commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import Checkin, Checkpoint, Event, ServiceKind, ServiceRecord, TeamMembership, User
from ..parsing import clean_text, is_id
from ..settings import setting
from .. import db, timeutil
from ..timeutil import as_utc, isoformat, local, night_minutes
from . import access, audit, hours, images, ledger, notices, outbox
from .geo import check_geofence

#: The kinds every station has, in the order they are offered (``ServiceKind`` rows change their
#: settings or add a station's own).
DEFAULT_KINDS = {
    "patrol": _l("Patrol"),
    "tea_room": _l("Tea-room duty"),
    "mediation": _l("Mediation"),
    "publicity": _l("Anti-fraud publicity"),
    "care_visit": _l("Care visit"),
    "civility": _l("Civility persuasion"),
    "neighbour_help": _l("Neighbour help"),
    "training": _l("Training"),
    "other": _l("Other"),
}
DEFAULT_POINTS_PER_HOUR = 10
#: Statuses whose records take up time (no other record of the person may overlap them).
HOLDING = ("open", "confirmed")
MAX_RECORD = timedelta(hours=24)
SOURCE_LABELS = {
    "route": _l("Shift route"), "duty_post": _l("Duty post"), "outing": _l("Patrol outing"),
    "event": _l("Event"), "makeup": _l("Make-up request"), "entry": _l("Entered by a coordinator"),
    "care_visit": _l("Care visit log"), "mediation": _l("Mediation case log"),
}
STATUS_LABELS = {"open": _l("On duty"), "pending": _l("Waiting for review"), "confirmed": _l("Confirmed"),
                 "rejected": _l("Rejected")}


# -- kinds ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    key: str
    name: str
    points_per_hour: int
    makeup_earns_points: bool
    active: bool = True


def kinds(session: Session, station_id: int, *, include_inactive: bool = False) -> list[Kind]:
    """The station's kinds of service: the defaults (with the station's settings) then its own."""
    rows = {row.key: row for row in session.exec(select(ServiceKind).where(ServiceKind.station_id == station_id)
                                                 .order_by(ServiceKind.id))}
    out = []
    for key, name in DEFAULT_KINDS.items():
        row = rows.pop(key, None)
        out.append(Kind(key, (row.name if row and row.name else str(name)),
                        row.points_per_hour if row else DEFAULT_POINTS_PER_HOUR,
                        row.makeup_earns_points if row else False, row.active if row else True))
    out += [Kind(row.key, row.name or row.key, row.points_per_hour, row.makeup_earns_points, row.active)
            for row in rows.values()]
    return out if include_inactive else [kind for kind in out if kind.active]


def kind_of(session: Session, station_id: int, key: str | None, *, field: str = "kind") -> Kind:
    """The station's kind ``key``; another station's, an unknown or a retired one is refused."""
    for kind in kinds(session, station_id):
        if kind.key == key:
            return kind
    raise FieldError(field, _l("Choose one of the station's kinds of service."))


def any_kind(session: Session, station_id: int, key: str) -> Kind:
    """The station's kind ``key``, retired ones too; a kind no longer known keeps its key as its
    name and the default points per hour."""
    for kind in kinds(session, station_id, include_inactive=True):
        if kind.key == key:
            return kind
    return Kind(key, key, DEFAULT_POINTS_PER_HOUR, False)


def kind_name(session: Session, station_id: int, key: str) -> str:
    return any_kind(session, station_id, key).name


def set_kind(session: Session, actor: User, key: str, *, name: str | None = None,
             points_per_hour: int | None = None, makeup_earns_points: bool | None = None,
             active: bool | None = None) -> Kind:
    """An admin changes a kind's settings, or adds the station's own kind (a new ``key``)."""
    access.require_role(actor, "admin")
    key = (key or "").strip().lower()
    if not key or len(key) > 32 or not key.replace("_", "").isascii() or not key.replace("_", "").isalnum():
        raise FieldError("key", _l("A key is 1 to 32 letters, digits or underscores."))
    row = session.exec(select(ServiceKind).where(ServiceKind.station_id == actor.station_id,
                                                 ServiceKind.key == key)).first()
    if row is None:
        if key not in DEFAULT_KINDS and not (name or "").strip():
            raise FieldError("name", _l("Please enter a name."))
        row = ServiceKind(station_id=actor.station_id, key=key)
    if name is not None:
        name = name.strip()
        if len(name) > 50 or (not name and key not in DEFAULT_KINDS):
            raise FieldError("name", _l("Please enter a name (at most 50 characters)."))
        row.name = name
    if points_per_hour is not None:
        if not isinstance(points_per_hour, int) or isinstance(points_per_hour, bool) or not 0 <= points_per_hour <= 1000:
            raise FieldError("points_per_hour", _l("Enter a whole number from %(low)s to %(high)s.", low=0, high=1000))
        row.points_per_hour = points_per_hour
    if makeup_earns_points is not None:
        row.makeup_earns_points = bool(makeup_earns_points)
    if active is not None:
        row.active = bool(active)
    session.add(row)
    session.flush()
    audit.record(session, actor, "service.kind", "service_kind", row.id, key=key, points_per_hour=row.points_per_hour,
                 makeup_earns_points=row.makeup_earns_points, active=row.active)
    return next(kind for kind in kinds(session, actor.station_id, include_inactive=True) if kind.key == key)


# -- minutes and points ---------------------------------------------------------------------------

def minutes_between(start: datetime, end: datetime | None) -> int:
    """Whole minutes of ``[start, end)`` (never below 0)."""
    if end is None or end <= start:
        return 0
    return int((end - start).total_seconds() // 60)


def weighted_minutes(start: datetime, end: datetime | None) -> int:
    """Minutes with those between 22:00 and 06:00 station time x the night factor, rounded down."""
    minutes = minutes_between(start, end)
    if not minutes:
        return 0
    night = min(minutes, night_minutes(start, end))
    if not night:
        return minutes
    return int(Fraction(minutes - night) + Fraction(night) * Fraction(str(setting("NIGHT_FACTOR"))))


def _times(start: datetime, end: datetime | None) -> dict:
    return {"started_at": start, "ended_at": end, "minutes": minutes_between(start, end),
            "weighted_minutes": weighted_minutes(start, end)}


def _set_times(record: ServiceRecord, start: datetime, end: datetime | None) -> None:
    for key, value in _times(start, end).items():
        setattr(record, key, value)


_users = User.__table__
_ADD_MINUTES = db.Prepared(update(_users).where(_users.c.id == bindparam("user_id"))
                           .values(minutes_served=_users.c.minutes_served + bindparam("delta"))
                           .returning(_users.c.minutes_served))


def _add_minutes(session: Session, user_id: int, delta: int) -> None:
    """Keep ``users.minutes_served`` equal to the sum of the confirmed records (one statement;
    the user's object in the session, when loaded, gets the new value)."""
    if delta:
        session.flush()
        minutes = _ADD_MINUTES.scalar(session, {"user_id": user_id, "delta": delta})
        user = session.identity_map.get(identity_key(User, user_id))
        if user is not None:
            set_committed_value(user, "minutes_served", minutes)


def _counted(session: Session, record: ServiceRecord, *, was: tuple[datetime, int] | None = None) -> None:
    """Count a confirmed ``record`` (or its change from ``was``: its start and minutes before)
    in the person's ``minutes_served`` and in the day totals the reports read."""
    _add_minutes(session, record.user_id, record.minutes - (was[1] if was else 0))
    hours.count(session, record, was=was)


def earns_points(record: ServiceRecord) -> bool:
    return record.source in ("duty_post", "entry", "makeup", "care_visit", "mediation")


def _pay(session: Session, record: ServiceRecord, kind: Kind, actor_id: int | None, now: datetime) -> None:
    """The record's own ``service`` entry, once, when it is confirmed."""
    if not earns_points(record) or (record.source == "makeup" and not kind.makeup_earns_points):
        return
    points = int(kind.points_per_hour * record.minutes // 60)
    if points <= 0:
        return
    record.points = points
    session.add(record)
    ledger.post(session, record.user_id, points, "service", f"service:{record.id}",
                reason=f"{kind.name} {record.place}".strip()[:500], actor_id=actor_id, now=now)


def _confirm(session: Session, record: ServiceRecord, actor: User | None, now: datetime) -> None:
    """Make ``record`` count: status, the person's minutes, its points (record already holds its times)."""
    record.status = "confirmed"
    if actor is not None:
        record.confirmed_by_id = actor.id
        record.reviewed_at = now
    session.add(record)
    session.flush()
    _counted(session, record)
    _pay(session, record, any_kind(session, record.station_id, record.kind), actor.id if actor else None, now)


# -- overlaps -------------------------------------------------------------------------------------

def _holding(session: Session, user_id: int, start: datetime, end: datetime, *, exclude_id: int | None = None
             ) -> list[ServiceRecord]:
    """The person's open and confirmed records that share time with ``[start, end)`` (an open
    record without an end holds all time from its start)."""
    stmt = select(ServiceRecord).where(
        ServiceRecord.user_id == user_id, ServiceRecord.status.in_(HOLDING),
        ServiceRecord.started_at < end,
        or_(ServiceRecord.ended_at.is_(None), ServiceRecord.ended_at > start))
    if exclude_id is not None:
        stmt = stmt.where(ServiceRecord.id != exclude_id)
    return list(session.exec(stmt.order_by(ServiceRecord.started_at)))


def _refuse_overlap(session: Session, user_id: int, start: datetime, end: datetime, *,
                    exclude_id: int | None = None) -> None:
    clash = _holding(session, user_id, start, end, exclude_id=exclude_id)
    if clash:
        other = clash[0]
        raise DomainError("service_overlap", _l(
            "This overlaps a record already counted: %(kind)s %(start)s to %(end)s.",
            kind=kind_name(session, other.station_id, other.kind), start=_when(other.started_at),
            end=_when(other.ended_at) if other.ended_at else _l("now")),
            status=409, record_id=other.id, started_at=isoformat(other.started_at),
            ended_at=isoformat(other.ended_at))


def _trimmed(session: Session, user_id: int, start: datetime, end: datetime, *, exclude_id: int | None = None
             ) -> tuple[datetime, datetime]:
    """``[start, end)`` made to start where earlier records of the person end and to end where
    later ones start (scan-made records are trimmed, never refused). Never inverted."""
    for other in _holding(session, user_id, start, end, exclude_id=exclude_id):
        if other.started_at <= start:
            start = max(start, other.ended_at) if other.ended_at else end
        else:
            end = min(end, other.started_at)
    return start, max(start, end)


def _when(value: datetime) -> str:
    return local(value).strftime("%m-%d %H:%M")


# -- duty posts -----------------------------------------------------------------------------------

def open_record(session: Session, user_id: int) -> ServiceRecord | None:
    """The person's open record (a duty or an event they have not signed out of), if any."""
    return session.exec(select(ServiceRecord).where(ServiceRecord.user_id == user_id, ServiceRecord.status == "open",
                                                    ServiceRecord.ended_at.is_(None))
                        .order_by(ServiceRecord.started_at.desc())).first()


def _duty_limit(session: Session, record: ServiceRecord) -> timedelta:
    checkpoint = session.get(Checkpoint, record.checkpoint_id) if record.checkpoint_id else None
    return timedelta(hours=checkpoint.max_duty_hours if checkpoint else 12)


def is_sign_out(session: Session, user_id: int, checkpoint, at: datetime) -> bool:
    """Whether a scan at duty post ``checkpoint`` signs the person out (their open duty there,
    still within the post's longest duty) rather than in."""
    record = open_record(session, user_id)
    return (record is not None and record.source == "duty_post" and record.checkpoint_id == checkpoint.id
            and at >= record.started_at and at - record.started_at <= timedelta(hours=checkpoint.max_duty_hours))


def _close(session: Session, record: ServiceRecord, end: datetime, now: datetime, *, status: str = "confirmed",
           actor: User | None = None) -> ServiceRecord:
    """Close an open record at ``end``: confirmed (counts now) or pending (a coordinator looks)."""
    start, end = record.started_at, max(record.started_at, end)
    if record.source != "event":
        end = min(end, record.started_at + _duty_limit(session, record))
    _set_times(record, start, end)
    if status == "confirmed":
        _confirm(session, record, actor, now)
    else:
        record.status = status
        session.add(record)
        session.flush()
        if status == "pending":
            _tell_pending(session, record, now)
    return record


def _tell_pending(session: Session, record: ServiceRecord, now: datetime) -> None:
    """The station's webhooks hear of a record waiting for a coordinator (``service.pending``)."""
    from ..schemas.service import ServiceRecordOut
    outbox.emit(session, record.station_id, "service.pending", lambda: outbox.dump(ServiceRecordOut, ServiceRecordOut.of(record)),
                now=now)


def _settle_open(session: Session, record: ServiceRecord, at: datetime, now: datetime) -> None:
    """Before a new record starts at ``at``: an open duty elsewhere (or one past its limit) ends."""
    if record.source == "duty_post":
        limit = record.started_at + _duty_limit(session, record)
        if at > limit:
            _close(session, record, limit, now, status="pending")
        else:
            _close(session, record, at, now)
    elif record.source == "event":
        _close_event_record(session, record, at, now)


def duty_scan(session: Session, user_id: int, station_id: int, checkpoint, at: datetime, *,
              sign_out: bool) -> ServiceRecord:
    """A scan at a duty post (after the check-in was written): close the open duty there
    (``sign_out``), or open one, first closing whatever other record is open."""
    now = at
    current = open_record(session, user_id)
    if sign_out:
        return _close(session, current, at, now)
    if current is not None:
        _settle_open(session, current, at, now)
    start, _end = _trimmed(session, user_id, at, at + timedelta(seconds=1))
    record = ServiceRecord(station_id=station_id, user_id=user_id, kind=checkpoint.service_kind or "tea_room",
                           place=checkpoint.name, checkpoint_id=checkpoint.id, started_at=start, last_scan_at=at,
                           source="duty_post", status="open")
    session.add(record)
    session.flush()
    return record


def sign_out(session: Session, actor: User, record_id: int, *, latitude: float | None = None,
             longitude: float | None = None, now: datetime | None = None) -> ServiceRecord:
    """Sign out of one's open duty from the phone (inside the post's geofence where it needs a
    position); ``not_open`` when the record is not an open duty."""
    now = now or timeutil.utcnow()
    if (latitude is None) != (longitude is None):
        raise FieldError("longitude" if longitude is None else "latitude",
                         _l("Give both latitude and longitude, or neither."))
    ledger.lock_user(session, actor.id)
    record = _own_record(session, actor, record_id)
    if record.status != "open" or record.ended_at is not None or record.source != "duty_post":
        raise _not_open()
    checkpoint = session.get(Checkpoint, record.checkpoint_id) if record.checkpoint_id else None
    if checkpoint is not None:
        check_geofence(checkpoint, latitude, longitude)
    limit = record.started_at + _duty_limit(session, record)
    if now > limit:
        return _close(session, record, limit, now, status="pending")
    return _close(session, record, now, now)


def _not_open() -> DomainError:
    return DomainError("not_open", _l("You are not signed in here, or you have already signed out."), status=409)


def running(session: Session, user: User, now: datetime | None = None) -> dict | None:
    """The person's open duty or event for home: the record, its place and how long so far."""
    record = open_record(session, user.id)
    if record is None:
        return None
    now = now or timeutil.utcnow()
    minutes = minutes_between(record.started_at, now)
    post = session.get(Checkpoint, record.checkpoint_id) if record.checkpoint_id else None
    return {"record": record, "place": record.place, "kind": kind_name(session, record.station_id, record.kind),
            "hours": minutes // 60, "minutes": minutes % 60, "is_duty": record.source == "duty_post",
            "needs_position": bool(post and (post.require_location or post.latitude is not None))}


# -- patrol outings -------------------------------------------------------------------------------

def _outing_bounds() -> tuple[timedelta, timedelta]:
    return timedelta(minutes=int(setting("OUTING_GAP_MINUTES"))), timedelta(minutes=int(setting("OUTING_TAIL_MINUTES")))


_records = ServiceRecord.__table__
#: A person's open and confirmed records that reach into ``[earliest, latest]`` (a scan's reach).
_NEAR = db.Prepared(
    select(*_records.columns).where(
        _records.c.user_id == bindparam("user_id"),
        or_(*(_records.c.status == status for status in HOLDING)),
        _records.c.started_at <= bindparam("latest", type_=_records.c.started_at.type),
        or_(_records.c.ended_at.is_(None),
            _records.c.ended_at >= bindparam("earliest", type_=_records.c.ended_at.type)))
    .order_by(_records.c.started_at))
_EXTEND = db.Prepared(update(_records).where(_records.c.id == bindparam("record_id")).values(
    {key: bindparam(key, type_=_records.c[key].type)
     for key in ("started_at", "ended_at", "last_scan_at", "minutes", "weighted_minutes")}))


def _near(session: Session, user_id: int, earliest: datetime, latest: datetime) -> list[ServiceRecord]:
    """:data:`_NEAR` as the session's objects (those it holds already, with their unflushed
    changes written first; the others built from the rows without the ORM's query machinery)."""
    if any(isinstance(obj, ServiceRecord) for obj in (*session.new, *session.dirty)):
        session.flush()
    keys = [column.key for column in _records.columns]
    near = []
    for row in _NEAR.all(session, {"user_id": user_id, "earliest": earliest, "latest": latest}):
        held = session.identity_map.get(identity_key(ServiceRecord, row[0]))
        near.append(held if held is not None else db.written(session, ServiceRecord, dict(zip(keys, row))))
    return near


def _extend_outing(session: Session, outing: ServiceRecord, first: datetime, last: datetime, end: datetime) -> None:
    """The outing now runs from ``first`` to ``end`` with its last scan at ``last``: one UPDATE,
    after which the object holds what the row holds (nothing left for a flush)."""
    values = {**_times(first, end), "last_scan_at": last}
    _EXTEND.all(session, {"record_id": outing.id, **values})
    for key, value in values.items():
        set_committed_value(outing, key, value)


def patrol_scan(session: Session, user_id: int, station_id: int, checkpoint, at: datetime) -> ServiceRecord | None:
    """A scan at a patrol point off any shift route: start or extend the person's outing.
    While a duty or an event record is open the time is already counted: nothing is made."""
    gap, tail = _outing_bounds()
    near = _near(session, user_id, at - gap - tail, at + gap + tail)
    if any(record.ended_at is None for record in near):
        return None
    outing = next((record for record in reversed(near) if record.source == "outing" and record.status == "confirmed"
                   and record.started_at - gap <= at <= (record.last_scan_at or record.started_at) + gap), None)
    if outing is not None:
        first = min(outing.started_at, at)
        last = max(outing.last_scan_at or outing.started_at, at)
        others = [record for record in near if record.id != outing.id
                  and record.started_at < last + tail and (record.ended_at or last) > first]
        if not others:
            was = (outing.started_at, outing.minutes)
            _extend_outing(session, outing, first, last, last + tail)
            _counted(session, outing, was=was)
            return outing
    first = at
    if outing is None and not tail:  # with no tail a lone scan made no record: find the scan before
        first = session.exec(select(func.min(Checkin.created_at)).join(Checkpoint, Checkpoint.id == Checkin.checkpoint_id)
                             .where(Checkin.user_id == user_id, Checkin.shift_id.is_(None),
                                    Checkpoint.duty_post.is_(False), Checkin.created_at >= at - gap,
                                    Checkin.created_at <= at)).one() or at
    start, end = _trimmed(session, user_id, first, at + tail)
    if end <= start:
        return None  # no time, or wholly inside time already counted
    record = ServiceRecord(station_id=station_id, user_id=user_id, kind="patrol", place=checkpoint.name,
                           checkpoint_id=checkpoint.id, last_scan_at=at, source="outing", status="confirmed",
                           started_at=start)
    _set_times(record, start, end)
    session.add(record)
    session.flush()
    _counted(session, record)
    return record


# -- shift routes ---------------------------------------------------------------------------------

def record_route(session: Session, user_id: int, shift, start: datetime, end: datetime, *,
                 confirmed_by: User | None = None) -> ServiceRecord:
    """The completed route's record (``route:<shift>:<user>``), or its later extension: confirmed,
    kind patrol, ``[start, end)`` trimmed against the person's other records; returns it."""
    key = f"route:{shift.id}:{user_id}"
    record = session.exec(select(ServiceRecord).where(ServiceRecord.source_key == key)).first()
    start, end = _trimmed(session, user_id, start, max(start, end), exclude_id=record.id if record else None)
    if record is None:
        record = ServiceRecord(station_id=shift.station_id, user_id=user_id, kind="patrol", place=shift.title,
                               shift_id=shift.id, source="route", status="confirmed", source_key=key,
                               started_at=start, last_scan_at=end,
                               confirmed_by_id=confirmed_by.id if confirmed_by else None)
        _set_times(record, start, end)
        session.add(record)
        session.flush()
        _counted(session, record)
        return record
    if end > (record.ended_at or record.started_at):
        was = (record.started_at, record.minutes)
        _set_times(record, record.started_at, end)
        record.last_scan_at = end
        session.add(record)
        session.flush()
        _counted(session, record, was=was)
    return record


# -- events ---------------------------------------------------------------------------------------

def _event_key(event_id: int, user_id: int) -> str:
    return f"event:{event_id}:{user_id}"


def event_sign_in(session: Session, user_id: int, event, at: datetime) -> ServiceRecord:
    """After an event sign-in: the record of the event (open until the sign-out code; with
    ``credit: full`` the whole event, confirmed once it has ended)."""
    now = at
    current = open_record(session, user_id)
    if current is not None:
        _settle_open(session, current, at, now)
    record = ServiceRecord(station_id=event.station_id, user_id=user_id, kind=event.service_kind or "publicity",
                           place=event.title, event_id=event.id, source="event", status="open",
                           source_key=_event_key(event.id, user_id), last_scan_at=at,
                           started_at=min(max(at, event.starts_at), event.ends_at))
    if event.credit == "full":
        start, end = _trimmed(session, user_id, event.starts_at, event.ends_at)
        _set_times(record, start, end)
        session.add(record)
        session.flush()
        if event.ends_at <= now:
            _confirm(session, record, None, now)
        return record
    record.started_at, _end = _trimmed(session, user_id, record.started_at, record.started_at + timedelta(seconds=1))
    session.add(record)
    session.flush()
    return record


def event_sign_out(session: Session, user_id: int, event, at: datetime) -> ServiceRecord:
    """The sign-out code: close the person's event record once, clamped to the event's window."""
    record = session.exec(select(ServiceRecord).where(ServiceRecord.source_key == _event_key(event.id, user_id))
                          .with_for_update()).first()
    if record is None or record.status != "open" or record.ended_at is not None:
        raise _not_open()
    return _close_event_record(session, record, at, at)


def _close_event_record(session: Session, record: ServiceRecord, at: datetime, now: datetime) -> ServiceRecord:
    event = session.get(Event, record.event_id)
    end = min(max(at, record.started_at), event.ends_at) if event else at
    start, end = _trimmed(session, record.user_id, record.started_at, end, exclude_id=record.id)
    record.started_at = start
    return _close(session, record, end, now)


# -- settling what time has decided ---------------------------------------------------------------

def settle(session: Session, *, user_id: int | None = None, station_id: int | None = None,
           now: datetime | None = None) -> int:
    """Close what is due: open duties past their post's limit (pending, at sign-in + limit),
    event records whose event ended (``full``: confirmed; ``scans`` never signed out: pending at
    the event's end for a coordinator). For one person, one station or everyone; returns how many changed.
    Run by the views that show records and by ``volunteer-app settle-service``."""
    now = now or timeutil.utcnow()
    stmt = select(ServiceRecord).where(ServiceRecord.status == "open")
    if user_id is not None:
        stmt = stmt.where(ServiceRecord.user_id == user_id)
    if station_id is not None:
        stmt = stmt.where(ServiceRecord.station_id == station_id)
    changed = 0
    for record in list(session.exec(stmt.order_by(ServiceRecord.user_id, ServiceRecord.started_at))):
        if record.source == "duty_post":
            limit = record.started_at + _duty_limit(session, record)
            if now > limit:
                _close(session, record, limit, now, status="pending")
                changed += 1
        elif record.source == "event":
            event = session.get(Event, record.event_id)
            if event is None or event.ends_at > now:
                continue
            if record.ended_at is not None:  # full credit: its times are set
                _confirm(session, record, None, now)
            else:
                _close(session, record, event.ends_at, now, status="pending")
            changed += 1
    return changed


# -- make-ups and entries -------------------------------------------------------------------------

def _check_times(started_at: datetime | None, ended_at: datetime | None, now: datetime, *,
                 max_days: int | None = None) -> tuple[datetime, datetime]:
    if started_at is None or getattr(started_at, "tzinfo", None) is None:
        raise FieldError("started_at", _l("Please give the start time."))
    if ended_at is None or getattr(ended_at, "tzinfo", None) is None:
        raise FieldError("ended_at", _l("Please give the end time."))
    started_at, ended_at = as_utc(started_at), as_utc(ended_at)
    if ended_at <= started_at:
        raise FieldError("ended_at", _l("The end must come after the start."))
    if ended_at - started_at > MAX_RECORD:
        raise FieldError("ended_at", _l("One record covers at most 24 hours. Please make one per day."))
    if ended_at > now + timedelta(minutes=1):
        raise FieldError("ended_at", _l("This time is still to come. Service can be recorded once it is done."))
    if max_days is not None and started_at < now - timedelta(days=max_days):
        raise FieldError("started_at", _l("Make-up requests reach back at most %(days)s days.", days=max_days))
    return started_at, ended_at




#: The longest side of a make-up's photo, in pixels.
PHOTO_SIDE = 1600


def photo_dir(instance_path: str | Path) -> Path:
    """Where make-ups' photos are kept (inside the instance folder, served only through :func:`photo`)."""
    return Path(instance_path) / "service_photos"


def request_makeup(session: Session, actor: User, *, kind: str, started_at: datetime, ended_at: datetime,
                   place: str, note: str, checkpoint_id: int | None = None, photo: bytes | None = None,
                   folder: str | Path | None = None, now: datetime | None = None) -> ServiceRecord:
    """A volunteer asks for hours that were not scanned (forgot to sign out, phone died): a
    ``pending`` record for their team's coordinator; refused when it overlaps counted time.
    ``photo`` (the upload's bytes, optional: a sign-in sheet, the place) is checked and
    re-encoded before anything is written, and stored in ``folder`` once every rule has passed."""
    now = now or timeutil.utcnow()
    if actor.status != "active":
        access.forbid(_l("This account is not active."))
    picture = _picture(photo) if photo else None
    service_kind = kind_of(session, actor.station_id, kind)
    started_at, ended_at = _check_times(started_at, ended_at, now, max_days=int(setting("MAKEUP_MAX_DAYS")))
    place = clean_text(place, "place", 200)
    note = clean_text(note, "note", 500, required=True)
    if checkpoint_id is not None:
        checkpoint = access.get_in_station(session, Checkpoint, checkpoint_id, actor, _l("No such checkpoint."))
        place = place or checkpoint.name
    if not place:
        raise FieldError("place", _l("Please say where you served."))
    ledger.lock_user(session, actor.id)
    _refuse_overlap(session, actor.id, started_at, ended_at)
    record = ServiceRecord(station_id=actor.station_id, user_id=actor.id, kind=service_kind.key, place=place,
                           checkpoint_id=checkpoint_id, source="makeup", status="pending", note=note,
                           created_by_id=actor.id, started_at=started_at)
    _set_times(record, started_at, ended_at)
    session.add(record)
    session.flush()
    if picture is not None:
        _keep_photo(session, record, picture, folder)
    audit.record(session, actor, "service.makeup", "service_record", record.id, kind=record.kind,
                 started_at=isoformat(started_at), ended_at=isoformat(ended_at))
    _tell_pending(session, record, now)
    return record


def record_entry(session: Session, actor: User, *, user_id: int, kind: str, started_at: datetime,
                 ended_at: datetime, place: str, note: str = "", now: datetime | None = None) -> ServiceRecord:
    """A coordinator records service for a member (no smartphone): confirmed at once, points as
    the kind says; audited. Not for oneself."""
    now = now or timeutil.utcnow()
    access.require_role(actor, "coordinator")
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.refuse_self_dealing(actor, target)
    access.require_manage_user(session, actor, target)
    service_kind = kind_of(session, actor.station_id, kind)
    started_at, ended_at = _check_times(started_at, ended_at, now)
    place = clean_text(place, "place", 200, required=True)
    note = clean_text(note, "note", 500)
    ledger.lock_user(session, target.id)
    _refuse_overlap(session, target.id, started_at, ended_at)
    record = ServiceRecord(station_id=target.station_id, user_id=target.id, kind=service_kind.key, place=place,
                           source="entry", status="pending", note=note, created_by_id=actor.id, started_at=started_at)
    _set_times(record, started_at, ended_at)
    session.add(record)
    session.flush()
    _confirm(session, record, actor, now)
    audit.record(session, actor, "service.entry", "user", target.id, record_id=record.id, kind=record.kind,
                 minutes=record.minutes, points=record.points)
    return record


def check_times(started_at: datetime | None, ended_at: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """A logged stretch of service: both times with an offset, end after start, within 24 hours,
    not in the future (refused on ``started_at``/``ended_at``)."""
    return _check_times(started_at, ended_at, now)


def hold_people(session: Session, user_ids) -> None:
    """Lock these people's rows in id order, before writing rows that refer to them: on
    PostgreSQL such a row takes a key-share lock on the person, and two transactions that
    lock afterwards would deadlock."""
    for user_id in sorted(set(user_ids)):
        ledger.lock_user(session, user_id)


def record_logged(session: Session, actor: User, *, source: str, source_key: str, user_ids: list[int],
                  kind: str, started_at: datetime, ended_at: datetime, place: str, note: str = "",
                  now: datetime | None = None) -> list[ServiceRecord]:
    """Confirmed records of one logged deed (a care visit, a mediation case), one per person in
    ``user_ids`` (``source_key`` + ``:<user>``), points as the kind says. All or nothing: when
    any of them overlaps counted time, ``service_overlap``. The people are locked in id order."""
    now = now or timeutil.utcnow()
    started_at, ended_at = _check_times(started_at, ended_at, now)
    service_kind = any_kind(session, actor.station_id, kind)
    records = []
    for user_id in sorted(set(user_ids)):
        ledger.lock_user(session, user_id)
        _refuse_overlap(session, user_id, started_at, ended_at)
        record = ServiceRecord(station_id=actor.station_id, user_id=user_id, kind=service_kind.key,
                               place=place[:200], source=source, status="pending", note=note[:500],
                               source_key=f"{source_key}:{user_id}", created_by_id=actor.id,
                               started_at=started_at)
        _set_times(record, started_at, ended_at)
        session.add(record)
        session.flush()
        _confirm(session, record, None, now)
        records.append(record)
    return records


# -- review ---------------------------------------------------------------------------------------

def get(session: Session, actor: User, record_id: int) -> ServiceRecord:
    """A record the actor may see (their own, or a member's of a team they coordinate)."""
    record = session.get(ServiceRecord, record_id) if is_id(record_id) else None
    if record is None or record.station_id != actor.station_id:
        raise DomainError("not_found", _l("No such service record."))
    if record.user_id != actor.id:
        access.require_view_user(session, actor, session.get(User, record.user_id))
    return record


def _picture(data: bytes, field: str = "photo") -> images.Picture:
    try:
        return images.reencode(data, max_side=PHOTO_SIDE)
    except FieldError as error:
        raise FieldError(field, error.message) from error


def _keep_photo(session: Session, record: ServiceRecord, picture: images.Picture, folder: str | Path) -> None:
    """Store the photo and name it on the record (a replaced one's file is removed after the write)."""
    old = record.photo
    record.photo = images.save(picture, folder, f"makeup{record.id}")
    session.add(record)
    session.flush()
    if old:
        (Path(folder) / old).unlink(missing_ok=True)


def attach_photo(session: Session, actor: User, record_id: int, data: bytes, *, folder: str | Path) -> ServiceRecord:
    """Add (or replace) the photo of one's own make-up while it waits for review."""
    record = _own_record(session, actor, record_id)
    if record.source != "makeup" or record.status != "pending":
        raise DomainError("not_open", _l("A photo can be added only to your own make-up while it waits for review."))
    _keep_photo(session, record, _picture(data, "file"), folder)
    return record


def photo(session: Session, actor: User, record_id: int, *, folder: str | Path) -> Path:
    """The file of a make-up's photo, for whoever may see the record (404 when there is none)."""
    record = get(session, actor, record_id)
    path = Path(folder) / record.photo if record.photo else None
    if path is None or not path.is_file():
        raise DomainError("not_found", _l("This record has no photo."))
    return path


def _own_record(session: Session, actor: User, record_id: int) -> ServiceRecord:
    record = get(session, actor, record_id)
    if record.user_id != actor.id:
        access.forbid(_l("You may only sign yourself out."))
    session.refresh(record)
    return record


def _reviewable(session: Session, actor: User, record_id: int) -> ServiceRecord:
    access.require_role(actor, "coordinator")
    record = get(session, actor, record_id)
    target = session.get(User, record.user_id)
    access.require_manage_user(session, actor, target)
    access.refuse_self_dealing(actor, target)
    ledger.lock_user(session, record.user_id)
    session.refresh(record)
    if record.status != "pending":
        raise DomainError("already_reviewed", _l("This record has already been reviewed."), status=409)
    return record


def confirm(session: Session, actor: User, record_id: int, *, started_at: datetime | None = None,
            ended_at: datetime | None = None, note: str | None = None, now: datetime | None = None
            ) -> ServiceRecord:
    """A coordinator confirms a pending record, correcting its times if need be (refused when
    the corrected record overlaps counted time); the volunteer is told."""
    now = now or timeutil.utcnow()
    record = _reviewable(session, actor, record_id)
    start = started_at if started_at is not None else record.started_at
    end = ended_at if ended_at is not None else record.ended_at
    start, end = _check_times(start, end, now)
    corrected = (start, end) != (record.started_at, record.ended_at)
    _refuse_overlap(session, record.user_id, start, end, exclude_id=record.id)
    _set_times(record, start, end)
    record.review_note = clean_text(note, "note", 500)
    _confirm(session, record, actor, now)
    audit.record(session, actor, "service.confirm", "service_record", record.id, user_id=record.user_id,
                 minutes=record.minutes, points=record.points, corrected=corrected)
    hours = f"{record.minutes / 60:.1f}"
    notices.notify(session, record.user_id, "service", _l("Your service record was confirmed"),
                   _l("%(place)s, %(hours)s hours.", place=record.place, hours=hours), "/me/service", now=now)
    return record


def reject(session: Session, actor: User, record_id: int, *, note: str, now: datetime | None = None
           ) -> ServiceRecord:
    """A coordinator rejects a pending record, with a reason the volunteer is told."""
    now = now or timeutil.utcnow()
    note = clean_text(note, "note", 500, required=True)
    record = _reviewable(session, actor, record_id)
    record.status, record.review_note, record.confirmed_by_id, record.reviewed_at = "rejected", note, actor.id, now
    session.add(record)
    session.flush()
    audit.record(session, actor, "service.reject", "service_record", record.id, user_id=record.user_id, note=note)
    notices.notify(session, record.user_id, "service", _l("Your service record was not confirmed"),
                   _l("%(place)s: %(reason)s", place=record.place, reason=note), "/me/service", now=now)
    return record


# -- reading --------------------------------------------------------------------------------------

def records_of(session: Session, actor: User, user_id: int, *, since: datetime | None = None,
               until: datetime | None = None, status: str | None = None, limit: int | None = None
               ) -> tuple[User, list[ServiceRecord]]:
    """A person's records, newest first (self, their coordinators, admins)."""
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_view_user(session, actor, target)
    stmt = select(ServiceRecord).where(ServiceRecord.user_id == target.id)
    if since is not None:
        stmt = stmt.where(ServiceRecord.started_at >= since)
    if until is not None:
        stmt = stmt.where(ServiceRecord.started_at < until)
    if status is not None:
        stmt = stmt.where(ServiceRecord.status == status)
    stmt = stmt.order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return target, list(session.exec(stmt))


def by_month(records: list[ServiceRecord]) -> list[dict]:
    """Records grouped by station-time month, newest first, with each month's confirmed hours."""
    months: dict[date, dict] = {}
    for record in records:
        first = local(record.started_at).date().replace(day=1)
        month = months.setdefault(first, {"month": first, "records": [], "minutes": 0, "points": 0})
        month["records"].append(record)
        if record.status == "confirmed":
            month["minutes"] += record.minutes
            month["points"] += record.points
    return list(months.values())


def pending_for(session: Session, actor: User, *, limit: int = 200) -> list[tuple[ServiceRecord, User]]:
    """Records waiting for the actor's review (their teams' members; an admin, the station's),
    oldest first."""
    access.require_role(actor, "coordinator")
    stmt = (select(ServiceRecord, User).join(User, User.id == ServiceRecord.user_id)
            .where(ServiceRecord.station_id == actor.station_id, ServiceRecord.status == "pending",
                   ServiceRecord.user_id != actor.id))
    if not actor.is_admin:
        teams = access.coordinated_team_ids(session, actor) or {-1}
        members = select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams))
        stmt = stmt.where(ServiceRecord.user_id.in_(members))
    return list(session.exec(stmt.order_by(ServiceRecord.started_at, ServiceRecord.id).limit(limit)))


def check_integrity(session: Session) -> list[str]:
    """Every person's ``minutes_served`` equals the sum of their confirmed records, and every
    paid record has its ledger entry."""
    sums = dict(session.exec(select(ServiceRecord.user_id, func.sum(ServiceRecord.minutes))
                             .where(ServiceRecord.status == "confirmed").group_by(ServiceRecord.user_id)).all())
    problems = [f"user {user_id}: minutes_served {minutes} but confirmed records sum to {int(sums.get(user_id) or 0)}"
                for user_id, minutes in session.exec(select(User.id, User.minutes_served))
                if minutes != int(sums.get(user_id) or 0)]
    for record_id, points in session.exec(select(ServiceRecord.id, ServiceRecord.points)
                                          .where(ServiceRecord.points > 0)):
        entry = ledger.find(session, f"service:{record_id}")
        if entry is None or entry.amount != points:
            problems.append(f"service record {record_id}: {points} points without their ledger entry")
    return problems + hours.check(session)


def members_for_entry(session: Session, actor: User) -> list[User]:
    """The people the actor may record service for: their teams' active members (an admin's:
    the station's), never themself, by name."""
    access.require_role(actor, "coordinator")
    stmt = select(User).where(User.station_id == actor.station_id, User.status == "active", User.id != actor.id)
    if not actor.is_admin:
        teams = access.coordinated_team_ids(session, actor) or {-1}
        stmt = stmt.where(User.id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams))))
    return list(session.exec(stmt.order_by(User.display_name, User.id)))
