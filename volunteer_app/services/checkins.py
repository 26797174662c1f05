"""The check-in: a volunteer scans a checkpoint poster or an event's live code and earns points.

:func:`check_in` is THE operation; the phone page, the API and the leader's page all call it.

What it does, in order (refusals are ``DomainError`` with the API's codes):

0. Guessing is limited: a refused code (``invalid_code``, ``expired_code``) is recorded as an
   attempt (``services.attempts``) that the face commits; once ``CHECKIN_MAX_REFUSALS`` lie
   within ``CHECKIN_REFUSAL_WINDOW_MINUTES``, every check-in of that user is
   ``too_many_attempts`` (the count is read by the lock-and-load of step 2, or when a code is
   refused before it).

1. Read the scanned text (the whole poster URL or just its token) without the database:
   a forged or tampered token is ``invalid_code``; an event code is verified against the clock
   (current or previous 30-second step; an older one is ``expired_code``).
2. Lock the volunteer's row and load the checkpoint or event in the same round trip, as plain
   columns (``SELECT users..., checkpoints.* ... FOR UPDATE OF users``: the lock
   ``ledger.lock_user`` takes, plus the place and what the badge rules will ask). On PostgreSQL
   everything after this runs one at a time per volunteer. On SQLite this read runs before the
   write lock, in a short read transaction of its own, and the insert of step 4 takes
   ``BEGIN IMMEDIATE``, which serialises writers; either way its clash test makes 20 parallel
   identical scans give exactly one check-in.
   A rotated poster (old code version), another station's place or a retired checkpoint is
   ``invalid_code``; an event outside ``starts_at - 30 min .. ends_at`` is ``event_closed``.
3. Geofence: a position that lies farther than ``radius_m`` from a checkpoint that has a position
   (great-circle distance) is ``outside_geofence``; so is no position where one is required.
4. Insert the check-in with one conditional ``INSERT ... SELECT ... WHERE NOT EXISTS`` that
   enforces the cooldown (no check-in at this checkpoint after ``now - cooldown``) or one
   check-in per event; no row inserted means ``cooldown`` (with ``retry_at``) or
   ``already_checked_in``.
5. Post the points (``ledger.post``: one conditional UPDATE of the cached balance, one entry with
   the unique source ``checkin:<id>``, the period totals), then let recognition (badges) and,
   when a shift route passes the checkpoint, shifts (route progress, shift completion) react in
   the same transaction.

A steady-state check-in off any shift route costs five SQL statements (lock and load with every
fact the badge rules ask, insert, balance update, ledger entry, period totals), each compiled
once and run through the cursor (``db.Prepared``); tests/test_checkins_service.py counts them.
Double taps and reloads are absorbed by ``client_ref`` (services/idempotency.py: the API's
decorator, or :func:`check_in`'s own for pages) and, failing that, by the cooldown or the
one-per-event rule.
Nothing here commits.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, exists, func, insert, literal, select as sa_select, true
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..parsing import is_id
from ..models import Attempt, Callout, CalloutAnswer, Checkin, Checkpoint, Event, LedgerEntry, ShiftCheckpoint, User
from .. import db, timeutil
from ..settings import setting
from ..timeutil import isoformat, local
from . import access, attempts, audit, callouts, codes, events, idempotency, ledger, recognition, service, shifts
from . import checkpoints as checkpoint_service
from .geo import check_geofence

log = logging.getLogger(__name__)
#: IdempotencyKey.endpoint under which the phone page remembers a ``client_ref``.
PAGE_ENDPOINT = "page:checkin"
#: Refusals that count toward the limit on guessing codes; the faces commit them (the attempt
#: recorded) instead of rolling back.
COUNTED_REFUSALS = ("invalid_code", "expired_code")
REFUSAL_KIND = "checkin_refused"


@dataclass
class CheckinResult:
    checkin: Checkin
    balance: int
    place_name: str
    shift: dict | None = None
    next_checkpoint: dict | None = None
    badges: list = field(default_factory=list)
    #: An earlier tap with the same ``client_ref`` made this check-in; nothing new was made.
    repeated: bool = False
    #: The service record the scan opened, closed or extended (duty posts, events, outings).
    service: object | None = None
    #: Call-outs at this checkpoint the scan marked the volunteer arrived at.
    callouts: list = field(default_factory=list)


# -- the check-in ---------------------------------------------------------------------------------

_users = User.__table__
#: What the check-in needs of the volunteer, under names that do not clash with the place's.
_VOLUNTEER_COLUMNS = (_users.c.station_id.label("volunteer_station_id"), _users.c.status.label("volunteer_status"),
                      _users.c.balance.label("volunteer_balance"),
                      _users.c.last_active_on.label("volunteer_last_active_on"))


@dataclass(frozen=True)
class _Locked:
    """The row :func:`_lock_user_at` reads: the volunteer's station, status and balance, the place
    (its columns as attributes) and the extra columns, in order."""
    station_id: int
    status: str
    balance: int
    last_active_on: date | None
    place: SimpleNamespace
    extra: tuple


_attempts = Attempt.__table__
#: The volunteer's refused codes since ``refused_since`` (the limit on guessing codes).
_REFUSALS = (sa_select(func.count()).select_from(_attempts)
             .where(_attempts.c.kind == REFUSAL_KIND, _attempts.c.key == cast(_users.c.id, String),
                    _attempts.c.created_at >= bindparam("refused_since", type_=_attempts.c.created_at.type))
             .scalar_subquery().label("refusals"))


def _lock_user_at(place_model, place_columns: tuple[str, ...], *extra):
    """(the volunteer's station, status and balance, the place's ``place_columns``, *extra),
    with the volunteer's row locked until commit, in one statement of table columns (plain rows:
    none of the ORM's per-execution work); a ``db.Prepared``, run with ``user_id`` and ``place_id``."""
    places = place_model.__table__
    return db.Prepared(sa_select(*_VOLUNTEER_COLUMNS, *[places.c[name] for name in place_columns], *extra)
                       .select_from(_users.join(places, true()))
                       .where(_users.c.id == bindparam("user_id"), places.c.id == bindparam("place_id"))
                       .with_for_update(of=_users))


#: What a check-in uses of the place.
_CHECKPOINT_COLUMNS = ("id", "station_id", "name", "latitude", "longitude", "radius_m", "require_location", "points",
                       "cooldown_minutes", "active", "code_version", "duty_post", "service_kind", "max_duty_hours")
_EVENT_COLUMNS = ("id", "station_id", "title", "starts_at", "ends_at", "points", "service_kind", "credit")


def _read_locked(session: Session, statement, place_columns: tuple[str, ...], user_id: int, place_id: int,
                 now: datetime) -> _Locked | None:
    """Run a lock-and-load statement. On SQLite it reads in a short transaction of its own
    (``db.read_before_writing``): the write lock is taken by the insert that follows, whose
    clash test (cooldown, one per event) is what keeps parallel scans from counting twice."""
    with db.read_before_writing(session):
        row = statement.first(session, _lock_params(user_id, place_id, now))
    if row is None:
        return None
    place_end = len(_VOLUNTEER_COLUMNS) + len(place_columns)
    place = SimpleNamespace(**dict(zip(place_columns, row[len(_VOLUNTEER_COLUMNS):place_end])))
    return _Locked(*row[:len(_VOLUNTEER_COLUMNS)], place, tuple(row[place_end:]))


#: With whether any shift route passes the checkpoint (only then can a scan count toward a
#: shift), and the facts the badge rules ask, read in the same round trip. (On PostgreSQL a
#: statement that waited for the lock reads those facts as of its start, and on SQLite they are
#: read before the write lock: a check-in of the same person committed meanwhile is not counted,
#: which can only put a threshold badge off to the next deed; the unique key keeps a badge from
#: being given twice.)
_callouts, _answers = Callout.__table__, CalloutAnswer.__table__
#: Whether the volunteer answered 我来 to an open call-out whose place is this checkpoint and has
#: not arrived yet (only then does the scan look further: :func:`callouts.arrive_by_checkin`).
_AWAITED = exists().where(
    _answers.c.callout_id == _callouts.c.id, _answers.c.user_id == _users.c.id, _answers.c.answer == "coming",
    _answers.c.arrived_at.is_(None), _callouts.c.checkpoint_id == Checkpoint.__table__.c.id,
    _callouts.c.status == "open",
    _callouts.c.expires_at > bindparam("callout_open_at", type_=_callouts.c.expires_at.type)).label("awaited")
_LOCK_AT_CHECKPOINT = _lock_user_at(
    Checkpoint, _CHECKPOINT_COLUMNS, _REFUSALS,
    exists().where(ShiftCheckpoint.__table__.c.checkpoint_id == Checkpoint.__table__.c.id).label("on_route"),
    _AWAITED, *recognition.CHECKIN_FACT_COLUMNS)
_LOCK_AT_EVENT = _lock_user_at(Event, _EVENT_COLUMNS, _REFUSALS, *recognition.CHECKIN_FACT_COLUMNS)


def _lock_params(user_id: int, place_id: int, now: datetime) -> dict:
    return {"user_id": user_id, "place_id": place_id, "refused_since": _refusal_window_start(),
            "callout_open_at": now, **recognition.checkin_fact_params(now)}


def _insert_unless(clash):
    """``INSERT INTO checkins ... SELECT :values WHERE NOT EXISTS (clash)``, built once: the new
    row's id, or no row when a clashing check-in exists (cooldown, one per event)."""
    table = Checkin.__table__
    columns = ["user_id", "kind", "direction", "checkpoint_id", "event_id", "shift_id", "points_awarded", "latitude",
               "longitude", "recorded_by_id", "created_at", "received_at"]
    row = sa_select(*[bindparam(name, type_=table.c[name].type).label(name) for name in columns]
                    ).where(~exists().where(clash))
    return db.Prepared(insert(table).from_select(columns, row).returning(table.c.id))


_checkins = Checkin.__table__.c
#: The cooldown holds both ways: a queued scan may arrive after a later one was made.
_INSERT_AT_CHECKPOINT = _insert_unless((_checkins.user_id == bindparam("user_id"))
                                       & (_checkins.checkpoint_id == bindparam("checkpoint_id"))
                                       & (_checkins.created_at > bindparam("cutoff", type_=_checkins.created_at.type))
                                       & (_checkins.created_at < bindparam("until", type_=_checkins.created_at.type)))
_INSERT_AT_EVENT = _insert_unless((_checkins.user_id == bindparam("user_id"))
                                  & (_checkins.event_id == bindparam("event_id")) & (_checkins.direction == "in"))


def _insert(session: Session, statement, values: dict, **clash) -> Checkin | None:
    """Run one of the inserts above; the new check-in (persistent, no second round trip) or None.
    It is received when it is made (a queued scan's ``received_at`` is set by :func:`check_in`)."""
    values = {"received_at": values["created_at"], **values}
    new_id = statement.scalar(session, {**values, **clash})
    if new_id is None:
        return None
    return db.written(session, Checkin, {**values, "id": new_id})


def _retry_text(retry_at: datetime, now: datetime) -> str:
    shown = local(retry_at)
    if shown.second or shown.microsecond:  # never name a minute at which it is still too early
        shown = shown.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return shown.strftime("%H:%M") if shown.date() == local(now).date() else shown.strftime("%m-%d %H:%M")


def _award(session: Session, volunteer: _Locked, checkin: Checkin, reason: str, now: datetime,
           actor_id: int | None) -> int:
    """The check-in's points, and the station's day counts it (with them, in one statement)."""
    ledger.mark_active(session, checkin.user_id, now, volunteer.last_active_on)
    if checkin.points_awarded:
        entry = ledger.post(session, checkin.user_id, checkin.points_awarded, "checkin" if checkin.kind == "checkpoint"
                            else "event", f"checkin:{checkin.id}", reason=reason, actor_id=actor_id, now=now,
                            checkins=1)
        return entry.balance_after
    ledger.tally(session, volunteer.station_id, now, checkins=1)
    return volunteer.balance


def _require_current_poster(checkpoint, station_id: int, version: int | None) -> None:
    """A poster of another station's checkpoint, of none, or of an older code version (rotated)
    is ``invalid_code``."""
    if checkpoint is None or checkpoint.station_id != station_id or (
            version is not None and version != checkpoint.code_version):
        raise DomainError("invalid_code", _l(
            "This poster is no longer valid: it has been replaced by a new one. Please scan the new poster "
            "or tell your coordinator."))


def _require_station_event(event, station_id: int | None) -> None:
    """An event code of no event, or of another station's, is ``invalid_code``."""
    if event is None or event.station_id != station_id:
        raise DomainError("invalid_code", _l("This code is not valid. Please scan the screen again."))


def _checkpoint_checkin(session: Session, user_id: int, checkpoint_id: int, version: int | None,
                        latitude: float | None, longitude: float | None, now: datetime,
                        recorded_by: User | None = None) -> CheckinResult:
    volunteer = _read_locked(session, _LOCK_AT_CHECKPOINT, _CHECKPOINT_COLUMNS, user_id, checkpoint_id, now)
    if volunteer is None:
        raise DomainError("invalid_code", _l("This code is not valid. Please scan the poster again."))
    checkpoint, (refusals, on_route, awaited, *facts) = volunteer.place, volunteer.extra
    if recorded_by is None and refusals >= setting("CHECKIN_MAX_REFUSALS"):
        raise _too_many_refusals()
    _require_current_poster(checkpoint, volunteer.station_id, version)
    if not checkpoint.active:
        raise DomainError("invalid_code", _l("This checkpoint is no longer in use. Please tell your coordinator."))
    if volunteer.status != "active":
        access.forbid(_l("This account is not active."))
    if recorded_by is None:
        check_geofence(checkpoint, latitude, longitude)
    values = dict(user_id=user_id, kind="checkpoint", direction="in", checkpoint_id=checkpoint.id, event_id=None,
                  shift_id=None, points_awarded=checkpoint.points, latitude=latitude, longitude=longitude,
                  recorded_by_id=recorded_by.id if recorded_by else None, created_at=now, received_at=now)
    if checkpoint.duty_post and service.is_sign_out(session, user_id, checkpoint, now):
        # The signing-out scan: no cooldown, no points; the duty's record pays when it closes.
        checkin = db.insert_row(session, Checkin, {**values, "direction": "out", "points_awarded": 0})
        record = service.duty_scan(session, user_id, volunteer.station_id, checkpoint, now, sign_out=True)
        return CheckinResult(checkin, volunteer.balance + record.points, checkpoint.name, service=record)
    cutoff = now - timedelta(minutes=checkpoint.cooldown_minutes)
    checkin = _insert(session, _INSERT_AT_CHECKPOINT, values, cutoff=cutoff,
                      until=now + timedelta(minutes=checkpoint.cooldown_minutes))
    if checkin is None:
        last = session.exec(select(func.max(Checkin.created_at)).where(
            Checkin.user_id == user_id, Checkin.checkpoint_id == checkpoint.id)).one()
        retry_at = (last or now) + timedelta(minutes=checkpoint.cooldown_minutes)
        raise DomainError("cooldown", _l(
            "You have already checked in here. You can check in here again at %(time)s.",
            time=_retry_text(retry_at, now)), retry_at=isoformat(retry_at))
    balance = _award(session, volunteer, checkin, checkpoint.name, now, recorded_by.id if recorded_by else None)
    badges = recognition.after_checkin(session, user_id, checkin, now, facts_before=facts)
    progress = shifts.after_checkin(session, user_id, checkin, now) if on_route else None
    if progress and progress.get("points_awarded"):
        balance += progress["points_awarded"]  # the shift's points were posted after this scan's
    arrived = callouts.arrive_by_checkin(session, user_id, checkpoint.id, now) if awaited else []
    balance += sum(points for _callout, points in arrived)
    result = CheckinResult(checkin, balance, checkpoint.name, shift=progress, badges=badges,
                           callouts=[callout for callout, _points in arrived])
    if checkpoint.duty_post:
        result.service = service.duty_scan(session, user_id, volunteer.station_id, checkpoint, now, sign_out=False)
    elif checkin.shift_id is None:
        result.service = service.patrol_scan(session, user_id, volunteer.station_id, checkpoint, now)
    if progress and progress.get("next_checkpoint_id"):
        following = session.get(Checkpoint, progress["next_checkpoint_id"])
        if following is not None:
            result.next_checkpoint = {"id": following.id, "name": following.name}
    return result


def _event_checkin(session: Session, user_id: int, event_id: int, now: datetime,
                   recorded_by: User | None = None, *, sign_out: bool = False) -> CheckinResult:
    volunteer = _read_locked(session, _LOCK_AT_EVENT, _EVENT_COLUMNS, user_id, event_id, now)
    if volunteer is None:
        _require_station_event(None, None)
    _require_station_event(volunteer.place, volunteer.station_id)
    event, (refusals, *facts) = volunteer.place, volunteer.extra
    if recorded_by is None and refusals >= setting("CHECKIN_MAX_REFUSALS"):
        raise _too_many_refusals()
    if volunteer.status != "active":
        access.forbid(_l("This account is not active."))
    if not events.is_open(event, now):
        opens, closes = events.window(event)
        raise DomainError("event_closed", _l(
            "Check-in for this event is open from %(opens)s to %(closes)s.",
            opens=local(opens).strftime("%m-%d %H:%M"), closes=local(closes).strftime("%m-%d %H:%M")),
            opens_at=isoformat(opens), closes_at=isoformat(closes))
    values = dict(user_id=user_id, kind="event", direction="out" if sign_out else "in", checkpoint_id=None,
                  event_id=event.id, shift_id=None, points_awarded=0 if sign_out else event.points, latitude=None,
                  longitude=None, recorded_by_id=recorded_by.id if recorded_by else None, created_at=now,
                  received_at=now)
    if sign_out:
        record = service.event_sign_out(session, user_id, event, now)  # not_open without a sign-in, or twice
        checkin = db.insert_row(session, Checkin, values)
        return CheckinResult(checkin, volunteer.balance, event.title, service=record)
    checkin = _insert(session, _INSERT_AT_EVENT, values)
    if checkin is None:
        raise DomainError("already_checked_in", _l("You have already checked in at this event. Nothing more to do."))
    balance = _award(session, volunteer, checkin, event.title, now, recorded_by.id if recorded_by else None)
    badges = recognition.after_checkin(session, user_id, checkin, now, facts_before=facts)
    record = service.event_sign_in(session, user_id, event, now)
    return CheckinResult(checkin, balance, event.title, badges=badges, service=record)


def check_in(session: Session, user: User, code: str, *, latitude: float | None = None,
             longitude: float | None = None, now: datetime | None = None,
             client_ref: str | None = None, scanned_at: datetime | None = None) -> CheckinResult:
    """Check ``user`` in with a scanned ``code`` (poster URL or token, or live event code).

    ``client_ref`` (the phone page's, made when the page was shown): a repeat of a tap that
    already checked in answers with that check-in (``repeated``) and checks in nothing. (The
    API's ``client_ref`` is its decorator's.)

    ``scanned_at``: a scan a phone kept while it had no signal, sent later (``now`` is when it
    arrives). Every rule is judged at ``scanned_at``, which becomes the check-in's
    ``created_at``; older than ``OFFLINE_MAX_HOURS`` is ``scan_too_old``, more than
    ``FUTURE_SKEW`` ahead a field error."""
    received = now or timeutil.utcnow()
    now = check_scanned_at(scanned_at, received) if scanned_at is not None else received
    if (latitude is None) != (longitude is None):
        raise FieldError("longitude" if longitude is None else "latitude",
                         _l("Give both latitude and longitude, or neither."))
    with counting_refusals(session, user.id):
        kind, obj_id, extra = codes.read_scanned(code)
        if client_ref:
            with db.read_before_writing(session, hold=True):  # the lock-and-load's read joins it
                earlier = earlier_checkin_id(session, user.id, client_ref)
            if earlier is not None:
                return _repeated(session, earlier)
        if kind in ("event", "event_out"):
            codes.verify_event_code(obj_id, extra, now, purpose=kind)
            result = _event_checkin(session, user.id, obj_id, now, sign_out=kind == "event_out")
        else:
            result = _checkpoint_checkin(session, user.id, obj_id, extra, latitude, longitude, now)
    if received != now:
        result.checkin.received_at = received
        session.flush()
    idempotency.remember(session, user.id, PAGE_ENDPOINT, client_ref, {"checkin_id": result.checkin.id})
    return result


#: How far ahead of the server's clock a phone's ``scanned_at`` may be (its clock may run fast).
FUTURE_SKEW = timedelta(minutes=2)


def check_scanned_at(scanned_at: datetime, received: datetime) -> datetime:
    """The moment a queued scan is judged at, if it may be: not older than ``OFFLINE_MAX_HOURS``
    (``scan_too_old``), not more than ``FUTURE_SKEW`` ahead of ``received`` (a field error)."""
    if scanned_at.tzinfo is None:
        raise FieldError("scanned_at", _l("Give the time with its offset, like +08:00."))
    if scanned_at > received + FUTURE_SKEW:
        raise FieldError("scanned_at", _l("The scan time lies in the future. Check the phone's clock."))
    if scanned_at < received - timedelta(hours=setting("OFFLINE_MAX_HOURS")):
        raise DomainError("scan_too_old", _l(
            "This scan was kept on the phone for more than %(hours)s hours and can no longer count. "
            "Ask your coordinator for a make-up record.", hours=setting("OFFLINE_MAX_HOURS")))
    return timeutil.as_utc(scanned_at)


def earlier_checkin_id(session: Session, user_id: int, client_ref: str | None) -> int | None:
    """The check-in a page tap with this ``client_ref`` already made, if any (also after a
    refusal: a twin tap may have won the race)."""
    earlier = idempotency.lookup_data(session, user_id, PAGE_ENDPOINT, client_ref)
    return earlier["checkin_id"] if earlier else None


def _repeated(session: Session, checkin_id: int) -> CheckinResult:
    checkin = session.get(Checkin, checkin_id)
    return CheckinResult(checkin, balance_after(session, checkin), place_name(session, checkin), repeated=True)


def preview(session: Session, user: User, code: str) -> dict:
    """What the check-in page shows before the tap: the place's kind, name, points and where it
    is, and whether a position is needed. A code the tap would refuse as unreadable, expired,
    replaced or another station's is refused here the same way, and counts toward the limit on
    guessing codes like the tap's; the rest is decided by the tap."""
    with counting_refusals(session, user.id):
        if refusals_of(session, user.id) >= setting("CHECKIN_MAX_REFUSALS"):
            raise _too_many_refusals()
        kind, obj_id, extra = codes.read_scanned(code)
        if kind in ("event", "event_out"):
            codes.verify_event_code(obj_id, extra, purpose=kind)
            event = session.get(Event, obj_id) if is_id(obj_id) else None
            _require_station_event(event, user.station_id)
            return {"kind": kind, "name": event.title, "points": 0 if kind == "event_out" else event.points,
                    "need_location": False, "where": event.location}
        checkpoint = session.get(Checkpoint, obj_id) if is_id(obj_id) else None
        _require_current_poster(checkpoint, user.station_id, extra)
        return {"kind": "checkpoint", "name": checkpoint.name, "points": checkpoint.points,
                "need_location": checkpoint.require_location, "where": checkpoint.description}


# -- the limit on guessing codes ------------------------------------------------------------------

def _refusal_window_start() -> datetime:
    """Wall-clock time, not a queued scan's ``scanned_at``: the limit is on guesses as they come."""
    return timeutil.utcnow() - timedelta(minutes=setting("CHECKIN_REFUSAL_WINDOW_MINUTES"))


def _too_many_refusals() -> DomainError:
    return DomainError("too_many_attempts", _l(
        "Too many wrong codes. Please wait 10 minutes, then scan the poster or the screen again."))


def refusals_of(session: Session, user_id: int) -> int:
    """The user's refused codes within the window."""
    return attempts.count(session, REFUSAL_KIND, str(user_id), since=_refusal_window_start())


@contextlib.contextmanager
def counting_refusals(session: Session, user_id: int):
    """Record a refused code (``COUNTED_REFUSALS``) of the block as an attempt, which the face
    commits (nothing else was written before a code is refused); at the limit the refusal
    becomes ``too_many_attempts`` (and is not counted). On SQLite the refusal never waits for
    the write lock: taken at that moment, it is answered uncounted (the limit is reached a
    guess or two later, and its check needs no lock)."""
    try:
        yield
    except DomainError as error:
        if error.code not in COUNTED_REFUSALS:
            raise
        db.end_reading(session)
        if not db.write_intent.get():  # a page that only read (GET): end the read, then write
            if session.in_transaction():
                session.commit()
            db.write_intent.set(True)
        try:
            with db.without_waiting():
                if refusals_of(session, user_id) >= setting("CHECKIN_MAX_REFUSALS"):
                    raise _too_many_refusals() from None
                attempts.record(session, REFUSAL_KIND, str(user_id), now=timeutil.utcnow())
            error.keep_writes = True
        except db.LOCK_TAKEN:  # SQLite's write lock is taken this moment: answer uncounted
            session.rollback()
            db.done_writing()
            log.info("refused code of user %s not counted: the database was busy", user_id)
        raise


def check_in_for(session: Session, leader: User, *, user_id: int | None = None, member_code: str | None = None,
                 checkpoint_id: int | None = None, event_id: int | None = None,
                 now: datetime | None = None) -> CheckinResult:
    """A team leader checks in a volunteer who has no smartphone (picked from the team list or by
    their member card code), at a checkpoint or event the leader runs; recorded and audited.
    Cooldown and one-per-event apply as usual; no position is asked."""
    now = now or timeutil.utcnow()
    access.require_role(leader, "coordinator")
    if (checkpoint_id is None) == (event_id is None):
        raise FieldError("checkpoint_id", _l("Choose a checkpoint or an event."))
    if member_code:
        user_id = codes.read_member_code(session, member_code, used_by=leader.id, now=now)
    if user_id is None:
        raise FieldError("user_id", _l("Choose a volunteer or scan their member card."))
    target = access.get_in_station(session, User, user_id, leader, _l("No such user."))
    access.refuse_self_dealing(leader, target)
    access.require_manage_user(session, leader, target)
    if checkpoint_id is not None:
        place = checkpoint_service.get_managed(session, leader, checkpoint_id)
        result = _checkpoint_checkin(session, target.id, place.id, None, None, None, now, recorded_by=leader)
    else:
        place = events.get_managed(session, leader, event_id)
        result = _event_checkin(session, target.id, place.id, now, recorded_by=leader)
    audit.record(session, leader, "checkin.on_behalf", "user", target.id, checkin_id=result.checkin.id,
                 kind=result.checkin.kind, checkpoint_id=checkpoint_id, event_id=event_id,
                 via="member_code" if member_code else "team_list")
    return result


# -- idempotency for the phone page ---------------------------------------------------------------

# -- reading --------------------------------------------------------------------------------------

def get_own(session: Session, actor: User, checkin_id: int) -> Checkin:
    checkin = session.get(Checkin, checkin_id) if is_id(checkin_id) else None
    if checkin is None:
        raise DomainError("not_found", _l("No such check-in."))
    if checkin.user_id != actor.id:
        target = session.get(User, checkin.user_id)
        access.require_view_user(session, actor, target)
    return checkin


def place_name(session: Session, checkin: Checkin) -> str:
    if checkin.checkpoint_id:
        checkpoint = session.get(Checkpoint, checkin.checkpoint_id)
        return checkpoint.name if checkpoint else ""
    event = session.get(Event, checkin.event_id) if checkin.event_id else None
    return event.title if event else ""


def balance_after(session: Session, checkin: Checkin) -> int | None:
    return session.exec(select(LedgerEntry.balance_after).where(LedgerEntry.ref == f"checkin:{checkin.id}")).first()


def list_for(session: Session, actor: User, *, user_id: int | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int = 50) -> list[tuple[Checkin, str]]:
    """A person's check-ins, newest first, with the place's name; a volunteer sees only their own."""
    user_id = user_id or actor.id
    if user_id != actor.id:
        target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
        access.require_view_user(session, actor, target)
    stmt = (select(Checkin, func.coalesce(Checkpoint.name, Event.title, ""))
            .outerjoin(Checkpoint, Checkpoint.id == Checkin.checkpoint_id)
            .outerjoin(Event, Event.id == Checkin.event_id)
            .where(Checkin.user_id == user_id))
    if since is not None:
        stmt = stmt.where(Checkin.created_at >= since)
    if until is not None:
        stmt = stmt.where(Checkin.created_at < until)
    return list(session.exec(stmt.order_by(Checkin.created_at.desc(), Checkin.id.desc()).limit(limit)).all())


def check_integrity(session: Session) -> list[str]:
    """Every check-in that carries points has exactly its ledger entry."""
    rows = session.exec(
        select(Checkin.id, Checkin.points_awarded, LedgerEntry.amount)
        .outerjoin(LedgerEntry, LedgerEntry.ref == literal("checkin:") + cast(Checkin.id, String))
        .where(Checkin.points_awarded != 0)
    )
    return [f"check-in {checkin_id}: awarded {points} but ledger says {amount}"
            for checkin_id, points, amount in rows if amount != points]


# -- demo data ------------------------------------------------------------------------------------

DEMO_CHECKPOINTS = [
    # name, description, latitude, longitude, require position, points
    ("湖滨凉亭", "湖滨步道北口凉亭柱子上", 30.2590, 120.1630, False, 5),
    ("断桥茶室", "调解茶室门口", 30.2588, 120.1520, False, 5),
    ("涌金门警务亭", "警务亭窗口右侧", 30.2470, 120.1620, True, 8),
    ("柳浪闻莺公园南门", "南门售票处旁", 30.2420, 120.1610, False, 5),
]


def seed_demo(session: Session, admin: User, teams: list, volunteers: list[User],
              now: datetime | None = None) -> None:
    """A few checkpoints of the patrol team, an event running today and some past check-ins."""
    now = now or timeutil.utcnow()
    patrol = teams[0]
    places = [checkpoint_service.create(session, admin, name=name, description=description, latitude=lat,
                                        longitude=lon, require_location=need, points=points,
                                        team_id=patrol.id)
              for name, description, lat, lon, need, points in DEMO_CHECKPOINTS]
    start = timeutil.local(now).replace(minute=0, second=0, microsecond=0)
    events.create(session, admin, title="反诈宣传茶话会", location="湖滨社区活动室", starts_at=start,
                  ends_at=start + timedelta(hours=3), points=10, team_id=None)
    events.create(session, admin, title="防汛应急演练", location="柳浪闻莺公园", starts_at=start + timedelta(days=3),
                  ends_at=start + timedelta(days=3, hours=2), points=15, team_id=patrol.id)
    for day in range(6, 0, -1):
        for number, volunteer in enumerate(volunteers[:12]):
            place = places[(day + number) % len(places)]
            at = now - timedelta(days=day, hours=number % 5)
            if place.require_location:
                _checkpoint_checkin(session, volunteer.id, place.id, None, place.latitude, place.longitude, at)
            else:
                _checkpoint_checkin(session, volunteer.id, place.id, None, None, None, at)
    tea_room = checkpoint_service.create(session, admin, name="断桥调解茶室", description="茶室门内右手墙上",
                                         points=5, team_id=patrol.id, duty_post=True, service_kind="tea_room",
                                         cooldown_minutes=0)
    for day, volunteer in zip((5, 3, 2), volunteers[:3]):
        signed_in = now - timedelta(days=day, hours=3)
        _checkpoint_checkin(session, volunteer.id, tea_room.id, None, None, None, signed_in)
        _checkpoint_checkin(session, volunteer.id, tea_room.id, None, None, None, signed_in + timedelta(hours=2))
    if len(volunteers) > 3:
        begun = now - timedelta(days=4, hours=6)
        service.request_makeup(session, volunteers[3], kind="mediation", started_at=begun,
                               ended_at=begun + timedelta(hours=2), place="湖滨社区调解室", note="手机没电，忘了签退", now=now)
