"""Call-outs (民警有呼、志愿有应): a coordinator asks the station's volunteers (or some teams) for
help now; they answer 我来 (coming) or 来不了 (cannot); the coordinator marks who arrived.

* A call-out is open until it expires (``expires_in_minutes``, default 30), is closed, or — for
  "coming" — until ``coming_count`` reached ``needed``: then an answer is 409 ``callout_closed``
  ("cannot" is still taken while it is open). ``coming_count`` moves in one conditional UPDATE
  (``... WHERE coming_count < needed AND status = 'open' AND expires_at > now``), so parallel
  answers never take more than ``needed`` places, on either engine.
* A second answer replaces the first (coming -> cannot gives the place back).
* An arrival earns the call-out's ``points`` once: one ledger entry of kind ``service`` with the
  unique ref ``callout:<id>:user:<user_id>``. A coordinator marks it, or, when the call-out names a
  checkpoint as its place, the check-in there of someone coming does (while it is open).
* Addressed: members of the call-out's teams (all the station's when it names none). Anything of
  another station is 404 ``not_found``.
* ``callout.created`` and ``callout.answered`` go to the station's webhooks (the outbox); a new
  call-out is a notice for each addressed person and a text message for those who want one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import Callout, CalloutAnswer, Checkpoint, Team, User
from ..timeutil import utcnow
from . import access, audit, ledger, notices, outbox, sms_queue

DEFAULT_MINUTES = 30
MAX_MINUTES = 24 * 60
MAX_POINTS = 1000


def is_open(callout: Callout, now: datetime | None = None) -> bool:
    return callout.status == "open" and callout.expires_at > (now or utcnow())


def status_of(callout: Callout, now: datetime | None = None) -> str:
    return "open" if is_open(callout, now) else "closed"


def teams_of(callout: Callout) -> list[int]:
    return [int(part) for part in callout.team_ids.split(",") if part]


def _member_team_ids(session: Session, user_id: int) -> set[int]:
    return set(access.team_ids_of(session, user_id))


def is_addressed(session: Session, user: User, callout: Callout) -> bool:
    if user.station_id != callout.station_id:
        return False
    wanted = teams_of(callout)
    return not wanted or bool(set(wanted) & _member_team_ids(session, user.id))


def _tell(session: Session, callout: Callout, event: str, now: datetime) -> None:
    from ..schemas.callouts import CalloutOut
    outbox.emit(session, callout.station_id, event, lambda: outbox.dump(CalloutOut, view(callout, now=now)), now=now)


@dataclass
class CalloutView:
    """A call-out as the API shows it: its row and its effective status."""

    row: Callout
    status: str
    team_ids: list[int]

    def __getattr__(self, name):
        return getattr(self.row, name)


def view(callout: Callout, *, now: datetime | None = None) -> CalloutView:
    return CalloutView(callout, status_of(callout, now), teams_of(callout))


def create(session: Session, actor: User, *, title: str, needed: int, detail: str | None = None,
           place: str | None = None, latitude: float | None = None, longitude: float | None = None,
           team_ids: list[int] | None = None, expires_in_minutes: int | None = None, points: int | None = None,
           checkpoint_id: int | None = None, now: datetime | None = None) -> Callout:
    """A new call-out. ``checkpoint_id`` names its place as a checkpoint of the station: those
    coming are marked arrived by their check-in there (its name is the place when none is given)."""
    access.require_role(actor, "coordinator")
    now = now or utcnow()
    title = (title or "").strip()
    if not title:
        raise FieldError("title", _l("Say what help is needed."))
    if not isinstance(needed, int) or not 1 <= needed <= 500:
        raise FieldError("needed", _l("Ask for 1 to 500 people."))
    minutes = DEFAULT_MINUTES if expires_in_minutes is None else expires_in_minutes
    if not 1 <= minutes <= MAX_MINUTES:
        raise FieldError("expires_in_minutes", _l("Between 1 minute and 24 hours."))
    points = points or 0
    if not 0 <= points <= MAX_POINTS:
        raise FieldError("points", _l("Between 0 and 1000 points."))
    if (latitude is None) != (longitude is None):
        raise FieldError("latitude", _l("Give both latitude and longitude, or neither."))
    teams = sorted(set(team_ids or []))
    for team_id in teams:
        access.get_in_station(session, Team, team_id, actor, _l("No such team."))
    checkpoint = None
    if checkpoint_id is not None:
        checkpoint = access.get_in_station(session, Checkpoint, checkpoint_id, actor, _l("No such checkpoint."))
        place = (place or "").strip() or checkpoint.name
    callout = Callout(station_id=actor.station_id, title=title[:200], detail=(detail or "").strip()[:2000],
                      place=(place or "").strip()[:200], latitude=latitude, longitude=longitude, needed=needed,
                      checkpoint_id=checkpoint.id if checkpoint else None,
                      points=points, team_ids=",".join(map(str, teams)), created_by=actor.id, created_at=now,
                      expires_at=now + timedelta(minutes=minutes))
    session.add(callout)
    session.flush()
    audit.record(session, actor, "callout.create", "callout", callout.id, title=callout.title, needed=needed)
    _tell(session, callout, "callout.created", now)
    _reach(session, callout, actor, now)
    return callout


def _reach(session: Session, callout: Callout, actor: User, now: datetime) -> None:
    """A notice for every addressed person (but the sender), and a text message for those who
    want call-outs by SMS (sent by the delivery worker)."""
    addressed = [user_id for user_id in sms_queue.station_members(session, callout.station_id, teams_of(callout))
                 if user_id != actor.id]
    notices.notify_once_each(session, [
        (user_id, "callout", _l("Call-out: %(title)s", title=callout.title),
         _l("%(n)s people needed. Answer on the home page.", n=callout.needed), "/", f"callout:{callout.id}:user:{user_id}")
        for user_id in addressed], now=now)
    sms_queue.queue(session, callout.station_id, addressed, "callouts", "callout", sms_queue.callout_text(callout),
                    key=f"callout:{callout.id}", now=now)


def get(session: Session, actor: User, callout_id: int) -> Callout:
    """A call-out the actor may see: staff of the station, or an addressed volunteer (403 otherwise)."""
    callout = access.get_in_station(session, Callout, callout_id, actor, _l("No such call-out."))
    if not actor.has_role("coordinator") and not is_addressed(session, actor, callout):
        access.forbid()
    return callout


def _lock(session: Session, actor: User, callout_id: int) -> Callout:
    get(session, actor, callout_id)
    return session.exec(select(Callout).where(Callout.id == callout_id).with_for_update()
                        .execution_options(populate_existing=True)).one()


def list_for(session: Session, actor: User, *, status: str | None = None, limit: int = 50,
             now: datetime | None = None) -> list[Callout]:
    """Newest first: those addressed to the actor's teams (staff see all the station's)."""
    now = now or utcnow()
    query = select(Callout).where(Callout.station_id == actor.station_id)
    if status == "open":
        query = query.where(Callout.status == "open", Callout.expires_at > now)
    elif status == "closed":
        query = query.where((Callout.status != "open") | (Callout.expires_at <= now))
    rows = list(session.exec(query.order_by(Callout.id.desc()).limit(limit if actor.has_role("coordinator") else 500)))
    if not actor.has_role("coordinator"):
        mine = _member_team_ids(session, actor.id)
        rows = [row for row in rows if not teams_of(row) or set(teams_of(row)) & mine][:limit]
    return rows


def open_for(session: Session, user: User, *, now: datetime | None = None) -> list[tuple[Callout, CalloutAnswer | None]]:
    """Open call-outs addressed to ``user``, with their answer (for the banner on every page)."""
    now = now or utcnow()
    rows = list(session.exec(select(Callout).where(Callout.station_id == user.station_id, Callout.status == "open",
                                                  Callout.expires_at > now).order_by(Callout.id.desc()).limit(20)))
    if not rows:
        return []
    mine = _member_team_ids(session, user.id)
    rows = [row for row in rows if not teams_of(row) or set(teams_of(row)) & mine]
    answers = {answer.callout_id: answer for answer in session.exec(select(CalloutAnswer).where(
        CalloutAnswer.user_id == user.id, CalloutAnswer.callout_id.in_([row.id for row in rows] or [0])))}
    return [(row, answers.get(row.id)) for row in rows]


def answer(session: Session, actor: User, callout_id: int, *, answer: str,
           now: datetime | None = None) -> CalloutAnswer:
    if answer not in ("coming", "cannot"):
        raise FieldError("answer", _l("Answer coming or cannot."))
    now = now or utcnow()
    callout = _lock(session, actor, callout_id)
    if not is_addressed(session, actor, callout):
        access.forbid(_l("This call-out is not for you."))
    if not is_open(callout, now):
        raise DomainError("callout_closed", _l("This call-out is closed."))
    mine = session.exec(select(CalloutAnswer).where(CalloutAnswer.callout_id == callout.id,
                                                    CalloutAnswer.user_id == actor.id)).first()
    was_coming = mine is not None and mine.answer == "coming"
    if answer == "coming" and not was_coming:
        taken = session.execute(update(Callout).where(
            Callout.id == callout.id, Callout.coming_count < Callout.needed, Callout.status == "open",
            Callout.expires_at > now).values(coming_count=Callout.coming_count + 1)
            .execution_options(synchronize_session=False)).rowcount
        if not taken:
            raise DomainError("callout_closed", _l("Enough people are already coming; thank you."))
    elif answer == "cannot" and was_coming:
        session.execute(update(Callout).where(Callout.id == callout.id, Callout.coming_count > 0)
                        .values(coming_count=Callout.coming_count - 1).execution_options(synchronize_session=False))
    if mine is None:
        mine = CalloutAnswer(callout_id=callout.id, user_id=actor.id, answer=answer, answered_at=now,
                             first_answered_at=now)
    else:
        mine.answer, mine.answered_at = answer, now
    session.add(mine)
    session.flush()
    session.refresh(callout)
    _tell(session, callout, "callout.answered", now)
    return mine


def _lock_for_staff(session: Session, actor: User, callout_id: int) -> Callout:
    access.require_role(actor, "coordinator")
    return _lock(session, actor, callout_id)


def mark_arrived(session: Session, actor: User, callout_id: int, user_id: int, *,
                 now: datetime | None = None) -> tuple[CalloutAnswer, int]:
    """Mark a volunteer arrived; the call-out's points once. Returns (the answer, points given now)."""
    now = now or utcnow()
    callout = _lock_for_staff(session, actor, callout_id)
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.refuse_self_dealing(actor, target)
    ledger.lock_user(session, target.id)  # before the answer, as a check-in that marks it does
    row = session.exec(select(CalloutAnswer).where(CalloutAnswer.callout_id == callout.id,
                                                   CalloutAnswer.user_id == target.id)).first()
    if row is None:  # came without answering first
        row = CalloutAnswer(callout_id=callout.id, user_id=target.id, answer="coming", answered_at=now,
                            first_answered_at=now)
        session.add(row)
        session.flush()
    given = _arrive(session, callout, row.id, target.id, now, marked_by=actor.id)
    session.refresh(row)
    return row, given


def _arrive(session: Session, callout: Callout, answer_id: int, user_id: int, now: datetime, *,
            marked_by: int | None) -> int:
    """Mark an answer arrived unless it already is (one conditional UPDATE: of a manual mark and a
    scan, or two scans, at once, one wins), and pay the call-out's points with it. The points
    given now."""
    won = session.execute(update(CalloutAnswer).where(CalloutAnswer.id == answer_id, CalloutAnswer.arrived_at.is_(None))
                          .values(arrived_at=now, arrived_marked_by=marked_by)
                          .execution_options(synchronize_session=False)).rowcount
    if not won or not callout.points:
        return 0
    ledger.post(session, user_id, callout.points, "service", f"callout:{callout.id}:user:{user_id}",
                reason=callout.title, actor_id=marked_by, now=now)
    return callout.points


def arrive_by_checkin(session: Session, user_id: int, checkpoint_id: int, now: datetime) -> list[tuple[Callout, int]]:
    """A check-in at ``checkpoint_id`` by someone who answered 我来 to an open call-out there marks
    them arrived, in the check-in's transaction (points once: a later scan or a manual mark gives
    nothing more). The call-outs arrived at, with the points each gave."""
    rows = session.exec(select(Callout, CalloutAnswer.id).join(CalloutAnswer, CalloutAnswer.callout_id == Callout.id)
                        .where(Callout.checkpoint_id == checkpoint_id, Callout.status == "open",
                               Callout.expires_at > now, CalloutAnswer.user_id == user_id,
                               CalloutAnswer.answer == "coming", CalloutAnswer.arrived_at.is_(None))
                        .order_by(Callout.id)).all()
    return [(callout, _arrive(session, callout, answer_id, user_id, now, marked_by=None)) for callout, answer_id in rows]


def close(session: Session, actor: User, callout_id: int, *, now: datetime | None = None) -> Callout:
    now = now or utcnow()
    callout = _lock_for_staff(session, actor, callout_id)
    if callout.status == "open":
        callout.status, callout.closed_at = "closed", now
        session.add(callout)
        session.flush()
    return callout


def answers_of(session: Session, actor: User, callout_id: int) -> list[tuple[CalloutAnswer, User]]:
    """Who answered what, first answers first (staff)."""
    access.require_role(actor, "coordinator")
    callout = get(session, actor, callout_id)
    return list(session.exec(select(CalloutAnswer, User).join(User, User.id == CalloutAnswer.user_id)
                             .where(CalloutAnswer.callout_id == callout.id).order_by(CalloutAnswer.first_answered_at)))


@dataclass
class Response:
    callout: Callout
    within_5: int
    within_15: int
    coming: int
    arrived: int


def response_figures(session: Session, actor: User, *, limit: int = 10) -> list[Response]:
    """Per recent call-out: answers within 5 and 15 minutes, coming, arrivals (the dashboard)."""
    access.require_role(actor, "coordinator")
    rows = list(session.exec(select(Callout).where(Callout.station_id == actor.station_id)
                             .order_by(Callout.id.desc()).limit(limit)))
    answers: dict[int, list[CalloutAnswer]] = {row.id: [] for row in rows}
    for answer_row in session.exec(select(CalloutAnswer).where(CalloutAnswer.callout_id.in_(list(answers) or [0]))):
        answers[answer_row.callout_id].append(answer_row)
    out = []
    for row in rows:
        given = answers[row.id]
        delays = [item.first_answered_at - row.created_at for item in given]
        out.append(Response(row, sum(d <= timedelta(minutes=5) for d in delays),
                            sum(d <= timedelta(minutes=15) for d in delays),
                            sum(item.answer == "coming" for item in given),
                            sum(item.arrived_at is not None for item in given)))
    return out
