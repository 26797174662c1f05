"""Who came: route scans during a shift, completion (points and hours), no-shows and
confirmations by hand."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from ...errors import DomainError, FieldError
from ...models import Checkin, LedgerEntry, NoShowClearance, Shift, ShiftCheckpoint, ShiftSignup, User
from ...settings import setting
from ... import timeutil
from ...timeutil import as_utc, night_minutes
from .. import access, audit, ledger, recognition, service
from .schedule import GRACE, checkpoint_names, get_shift, require_shift_staff, route_ids, when_text
from .signups import no_show_count, signup_of


def _window(shift: Shift) -> tuple[datetime, datetime]:
    return shift.starts_at - GRACE, shift.ends_at + GRACE


def visited(session: Session, shift: Shift, user_ids: list[int], route: list[int] | None = None
            ) -> dict[int, list[int]]:
    """``{user_id: [checkpoint ids of the route scanned within the window, in route order]}``."""
    route = route_ids(session, shift.id) if route is None else route
    out: dict[int, list[int]] = {user_id: [] for user_id in user_ids}
    if not user_ids or not route:
        return out
    begin, end = _window(shift)
    rows = session.exec(select(Checkin.user_id, Checkin.checkpoint_id).where(
        Checkin.user_id.in_(user_ids), Checkin.checkpoint_id.in_(route),
        Checkin.created_at >= begin, Checkin.created_at <= end).distinct())
    seen: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    for user_id, checkpoint_id in rows:
        seen[user_id].add(checkpoint_id)
    for user_id in user_ids:
        out[user_id] = [checkpoint_id for checkpoint_id in route if checkpoint_id in seen[user_id]]
    return out


def attendance(session: Session, actor: User, shift_id: int) -> dict:
    """Everyone signed up (not cancelled), with the route's checkpoints they scanned."""
    shift = get_shift(session, actor, shift_id)
    require_shift_staff(session, actor, shift)
    rows = list(session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id,
                                                       ShiftSignup.status != "cancelled")
                             .order_by(ShiftSignup.status, ShiftSignup.seq)))
    route = route_ids(session, shift.id)
    seen = visited(session, shift, [row.user_id for row in rows], route)
    return {"shift_id": shift.id, "checkpoint_ids": route, "volunteers": [
        {"user_id": row.user_id, "status": row.status, "checkpoints_visited": seen[row.user_id],
         "completed": row.completed_at is not None, "hours": round(row.minutes_credited / 60, 2),
         "points_awarded": row.points_awarded, "confirmed_by_id": row.confirmed_by_id,
         "no_show_comment": row.no_show_comment or None}
        for row in rows]}


def _signup_for_staff(session: Session, actor: User, shift_id: int, user_id: int) -> tuple[Shift, ShiftSignup]:
    shift = get_shift(session, actor, shift_id)
    require_shift_staff(session, actor, shift)
    if session.get(User, user_id) is not None:
        ledger.lock_user(session, user_id)  # lock order: the person first, as a check-in does
    row = session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id, ShiftSignup.user_id == user_id)
                       .with_for_update().execution_options(populate_existing=True)).first()
    if row is None or row.status == "cancelled":
        raise DomainError("not_found", _l("This volunteer is not signed up for the shift."))
    return shift, row


def mark_no_show(session: Session, actor: User, shift_id: int, user_id: int, comment: str, *,
                 now: datetime | None = None) -> ShiftSignup:
    """After the start: a confirmed volunteer who did not come (a comment is required)."""
    now = now or timeutil.utcnow()
    comment = (comment or "").strip()
    if not comment:
        raise FieldError("comment", _l("Please say what happened."))
    shift, row = _signup_for_staff(session, actor, shift_id, user_id)
    if shift.starts_at > now:
        raise DomainError("shift_not_started", _l("A no-show can be marked once the shift has started."), status=409)
    if row.completed_at is not None:
        raise DomainError("already_completed", _l("This volunteer completed the shift."), status=409)
    if row.status != "confirmed":
        raise DomainError("not_confirmed", _l("Only confirmed volunteers can be marked as no-show."), status=409)
    row.status, row.no_show_comment, row.no_show_by_id, row.no_show_at = "no_show", comment[:500], actor.id, now
    session.add(row)
    session.flush()
    audit.record(session, actor, "shift.no_show", "shift", shift.id, user_id=user_id, comment=comment[:500])
    return row


def confirm_attendance(session: Session, actor: User, shift_id: int, user_id: int, *,
                       now: datetime | None = None) -> ShiftSignup:
    """A coordinator confirms by hand that someone served (their phone died): the shift counts
    as completed; with no scans to tell the time, the coordinator vouches for the scheduled
    time (points and hours); audited. Also undoes a no-show."""
    now = now or timeutil.utcnow()
    shift, row = _signup_for_staff(session, actor, shift_id, user_id)
    access.refuse_self_dealing(actor, row.user_id)
    if shift.starts_at > now:
        raise DomainError("shift_not_started", _l("Attendance can be confirmed once the shift has started."),
                          status=409)
    if row.status not in ("confirmed", "no_show"):
        raise DomainError("not_confirmed", _l("Only confirmed volunteers can be confirmed."), status=409)
    row.status, row.no_show_comment, row.no_show_by_id, row.no_show_at = "confirmed", "", None, None
    row.confirmed_by_id = actor.id
    session.add(row)
    session.flush()
    done = _credit(session, shift, row, shift.starts_at, shift.ends_at, now, confirmed_by=actor)
    if done is None:
        raise DomainError("already_completed", _l("This volunteer has already completed the shift."), status=409)
    audit.record(session, actor, "shift.confirm_attendance", "shift", shift.id, user_id=user_id,
                 points=done["points"], minutes=done["minutes"])
    return row


def clear_no_shows(session: Session, actor: User, user_id: int, comment: str = "", *,
                   now: datetime | None = None) -> NoShowClearance:
    """Lift a volunteer's no-show block (earlier no-shows stop counting); audited."""
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_manage_user(session, actor, target)
    access.refuse_self_dealing(actor, target)
    row = NoShowClearance(user_id=target.id, cleared_by_id=actor.id, comment=(comment or "").strip()[:500],
                          cleared_at=now or timeutil.utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "shift.clear_no_shows", "user", target.id, comment=row.comment)
    return row


def blocked_volunteers(session: Session, actor: User, now: datetime | None = None) -> list[tuple[User, int]]:
    """Volunteers of the actor's teams whose no-shows block sign-up, with their count."""
    teams = None if actor.is_admin else access.coordinated_team_ids(session, actor)
    since = (now or timeutil.utcnow()) - timedelta(days=int(setting("NO_SHOW_WINDOW_DAYS")))
    stmt = (select(ShiftSignup.user_id).join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(ShiftSignup.status == "no_show", Shift.starts_at >= since, Shift.station_id == actor.station_id))
    if teams is not None:
        stmt = stmt.where(Shift.team_id.in_(teams or [-1]))
    out = []
    for user_id in sorted(set(session.exec(stmt.distinct()))):
        count = no_show_count(session, user_id, now)
        if count >= int(setting("NO_SHOW_LIMIT")):
            out.append((session.get(User, user_id), count))
    return out


def shift_minutes(shift: Shift) -> int:
    return int((shift.ends_at - shift.starts_at).total_seconds() // 60)


def points_for(points_per_hour: int, start: datetime, end: datetime, night_factor=None) -> int:
    """``points_per_hour`` x the hours of ``[start, end)``, night hours weighted, rounded down
    (exact arithmetic)."""
    factor = Fraction(str(setting("NIGHT_FACTOR") if night_factor is None else night_factor))
    minutes = max(0, int((end - start).total_seconds() // 60))
    night = min(minutes, night_minutes(start, end)) if minutes else 0
    weighted = Fraction(minutes - night) + Fraction(night) * factor
    return int(points_per_hour * weighted / 60)


def shift_points(shift: Shift, night_factor=None) -> int:
    """The points of the whole scheduled shift (what a route walked from start to end earns)."""
    return points_for(shift.points_per_hour, shift.starts_at, shift.ends_at, night_factor)


def _on_duty(shift: Shift, first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The time actually on the route: from the first route scan (or the start, whichever is
    later) to the last (or the end, whichever is earlier); never inverted (a route walked wholly
    before the start is 0 minutes at the start)."""
    start = min(max(first, shift.starts_at), shift.ends_at)
    return start, max(start, min(last, shift.ends_at))


def _credit(session: Session, shift: Shift, row: ShiftSignup, first: datetime, last: datetime, now: datetime, *,
            confirmed_by: User | None = None) -> dict | None:
    """Complete a sign-up once, or extend its credit when later route scans lengthen the time on
    duty: minutes, points (``shift`` entries that together never exceed the points of the time on
    duty) and the confirmed service record of kind patrol. The conditional UPDATE decides who
    completes it under races. None when a completed sign-up gains nothing."""
    start, end = _on_duty(shift, first, last)
    minutes, points = int((end - start).total_seconds() // 60), points_for(shift.points_per_hour, start, end)
    if row.completed_at is None:
        result = session.execute(
            update(ShiftSignup).where(ShiftSignup.id == row.id, ShiftSignup.completed_at.is_(None))
            .values(completed_at=now, minutes_credited=minutes, points_awarded=points)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return None
        gained, ref = points, f"shift:{shift.id}:{row.user_id}"
        first_time = True
    else:
        if minutes <= row.minutes_credited:
            return None
        gained, ref = max(0, points - row.points_awarded), f"shift:{shift.id}:{row.user_id}:{minutes}"
        session.execute(update(ShiftSignup).where(ShiftSignup.id == row.id)
                        .values(minutes_credited=minutes, points_awarded=ShiftSignup.points_awarded + gained)
                        .execution_options(synchronize_session=False))
        first_time = False
    service.record_route(session, row.user_id, shift, start, end, confirmed_by=confirmed_by)
    if gained:
        ledger.post(session, row.user_id, gained, "shift", ref, reason=f"{shift.title} {when_text(shift)}"[:500],
                    now=now)
    session.refresh(row)
    user = session.get(User, row.user_id)
    if user is not None:
        session.refresh(user)
    if first_time:
        _recognise(session, row.user_id, shift, row, now)
    return {"points": gained, "minutes": minutes}


def _recognise(session: Session, user_id: int, shift: Shift, row: ShiftSignup, now: datetime) -> None:
    """Badges for a completed shift (first shift, hours served, night watch), same transaction."""
    recognition.after_shift_completed(session, user_id, shift, row, now=now)


def route_scans(session: Session, shift: Shift, user_id: int, route: list[int]) -> list[tuple[int, datetime]]:
    """The person's scans of the route's checkpoints within the shift's window, oldest first."""
    begin, end = _window(shift)
    return list(session.exec(select(Checkin.checkpoint_id, Checkin.created_at).where(
        Checkin.user_id == user_id, Checkin.checkpoint_id.in_(route), Checkin.direction == "in",
        Checkin.created_at >= begin, Checkin.created_at <= end).order_by(Checkin.created_at, Checkin.id)))


def covered(route: list[int], scans: list[tuple[int, datetime]]) -> list[int]:
    """The route's checkpoints the scans count for, in route order: any order, or with the
    setting ``ROUTE_IN_ORDER`` only the stops reached one after another in the route's order."""
    if not setting("ROUTE_IN_ORDER"):
        seen = {checkpoint_id for checkpoint_id, _at in scans}
        return [checkpoint_id for checkpoint_id in route if checkpoint_id in seen]
    reached = 0
    for checkpoint_id, _at in scans:
        if reached < len(route) and checkpoint_id == route[reached]:
            reached += 1
    return route[:reached]


def after_checkin(session: Session, user_id: int, checkin, now: datetime | None = None) -> dict | None:
    """Called by the check-in service (same transaction) for every checkpoint scan.

    When the scan belongs to a confirmed shift of the user running at the scan's time, sets
    ``checkin.shift_id`` and returns progress ``{"shift_id", "completed", "next_checkpoint_id",
    "points_awarded"}``; the scan that completes the route credits the time on duty (points,
    hours, the service record), and later route scans within the window extend it.
    """
    checkpoint_id = getattr(checkin, "checkpoint_id", None)
    if checkpoint_id is None:
        return None
    at = as_utc(getattr(checkin, "created_at", None) or now or timeutil.utcnow())
    candidates = list(session.exec(
        select(Shift, ShiftSignup).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .join(ShiftCheckpoint, ShiftCheckpoint.shift_id == Shift.id)
        .where(ShiftSignup.user_id == user_id, ShiftSignup.status == "confirmed", Shift.cancelled.is_(False),
               ShiftCheckpoint.checkpoint_id == checkpoint_id,
               Shift.starts_at <= at + GRACE, Shift.ends_at >= at - GRACE)
        .order_by(ShiftSignup.completed_at.is_not(None), Shift.starts_at)))
    if not candidates:
        return None
    shift, row = candidates[0]
    checkin.shift_id = shift.id
    session.add(checkin)
    session.flush()
    route = route_ids(session, shift.id)
    scans = route_scans(session, shift, user_id, route)
    done = set(covered(route, scans))
    remaining = [cp for cp in route if cp not in done]
    points = 0
    completed = row.completed_at is not None
    if not remaining and scans:
        result = _credit(session, shift, row, scans[0][1], scans[-1][1], at)
        if result is not None:
            points = result["points"]
        completed = True
    return {"shift_id": shift.id, "completed": completed,
            "next_checkpoint_id": remaining[0] if remaining else None, "points_awarded": points}


def running_shift(session: Session, user: User, now: datetime | None = None) -> Shift | None:
    """The user's confirmed shift whose window (with grace) holds ``now``."""
    now = now or timeutil.utcnow()
    return session.exec(
        select(Shift).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .where(ShiftSignup.user_id == user.id, ShiftSignup.status == "confirmed", Shift.cancelled.is_(False),
               Shift.starts_at <= now + GRACE, Shift.ends_at >= now - GRACE)
        .order_by(Shift.starts_at)).first()


@dataclass
class LiveRow:
    user: User
    signup: ShiftSignup
    visited: list[int] = field(default_factory=list)


def live(session: Session, actor: User, shift_id: int) -> tuple[Shift, list[int], list[LiveRow]]:
    """A running shift for its coordinators (and a sub-unit's shift for the sub-unit's leaders):
    who is confirmed and what each has scanned."""
    shift = get_shift(session, actor, shift_id)
    require_shift_staff(session, actor, shift)
    route = route_ids(session, shift.id)
    rows = list(session.exec(select(ShiftSignup, User).join(User, User.id == ShiftSignup.user_id)
                             .where(ShiftSignup.shift_id == shift.id, ShiftSignup.status.in_(("confirmed", "no_show")))
                             .order_by(ShiftSignup.seq)))
    seen = visited(session, shift, [signup.user_id for signup, _user in rows], route)
    return shift, route, [LiveRow(user, signup, seen[signup.user_id]) for signup, user in rows]


def check_integrity(session: Session) -> list[str]:
    """No shift holds more confirmed volunteers than its capacity allowed when they signed up
    (capacity may have been lowered later, so only sign-up order is checked), and every
    completed sign-up has its ledger entry when it earned points."""
    problems = []
    rows = session.exec(select(ShiftSignup).where(ShiftSignup.completed_at.is_not(None),
                                                  ShiftSignup.points_awarded > 0))
    for row in rows:
        ref = f"shift:{row.shift_id}:{row.user_id}"
        paid = session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            or_(LedgerEntry.ref == ref, LedgerEntry.ref.startswith(ref + ":")))).one()
        if paid != row.points_awarded:
            problems.append(f"shift {row.shift_id}: user {row.user_id} earned {row.points_awarded} points, "
                            f"the ledger says {paid}")
    return problems


def my_progress(session: Session, user: User, shift: Shift) -> dict:
    """The user's route of ``shift``: each checkpoint with whether it is scanned, in order."""
    route = route_ids(session, shift.id)
    names = checkpoint_names(session, route)
    seen = set(visited(session, shift, [user.id], route)[user.id])
    row = signup_of(session, shift.id, user.id)
    stops = [{"id": cp, "name": names.get(cp, "?"), "done": cp in seen, "number": index + 1}
             for index, cp in enumerate(route)]
    return {"stops": stops, "done": sum(stop["done"] for stop in stops), "total": len(stops),
            "completed": bool(row and row.completed_at), "points": row.points_awarded if row else 0,
            "next": next((stop for stop in stops if not stop["done"]), None)}

