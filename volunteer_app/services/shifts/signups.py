"""Volunteers sign up and withdraw; the no-show rule; reminders before a shift."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ...errors import DomainError
from ...models import NoShowClearance, Shift, ShiftSignup, TeamMembership, User
from ...settings import setting
from ... import timeutil
from ...timeutil import as_utc, isoformat
from .. import ledger, notices, sms_queue
from .schedule import ACTIVE, GRACE, fill_from_waitlist, get_shift, lock_shift, when_text


REMINDER_AHEAD = timedelta(hours=12)


def signup_of(session: Session, shift_id: int, user_id: int) -> ShiftSignup | None:
    return session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift_id,
                                                  ShiftSignup.user_id == user_id)).first()


def waitlist_position(session: Session, signup: ShiftSignup) -> int | None:
    if signup.status != "waitlisted":
        return None
    ahead = session.exec(select(func.count(ShiftSignup.id)).where(
        ShiftSignup.shift_id == signup.shift_id, ShiftSignup.status == "waitlisted",
        ShiftSignup.seq < signup.seq)).one()
    return ahead + 1


def my_signups(session: Session, user_id: int, shift_ids: list[int]) -> dict[int, dict]:
    """``{shift_id: {"status", "position"}}`` for the user's active sign-ups among ``shift_ids``."""
    out = {}
    if not shift_ids:
        return out
    rows = list(session.exec(select(ShiftSignup).where(ShiftSignup.user_id == user_id,
                                                       ShiftSignup.shift_id.in_(shift_ids))))
    for signup in rows:
        out[signup.shift_id] = {"status": signup.status, "position": waitlist_position(session, signup),
                                "completed": signup.completed_at is not None}
    return out


def my_shifts(session: Session, user: User, *, now: datetime | None = None, past_days: int = 0) -> list[Shift]:
    """Shifts I am confirmed or waitlisted for (or completed) that are not over, soonest first."""
    now = now or timeutil.utcnow()
    return list(session.exec(
        select(Shift).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .where(ShiftSignup.user_id == user.id, ShiftSignup.status.in_(ACTIVE), Shift.cancelled.is_(False),
               Shift.ends_at > now - GRACE - timedelta(days=past_days))
        .order_by(Shift.starts_at, Shift.id)))


def no_show_count(session: Session, user_id: int, now: datetime | None = None) -> int:
    """No-shows within the window (``NO_SHOW_WINDOW_DAYS``) since the last clearance."""
    now = now or timeutil.utcnow()
    since = now - timedelta(days=int(setting("NO_SHOW_WINDOW_DAYS")))
    cleared = session.exec(select(func.max(NoShowClearance.cleared_at))
                           .where(NoShowClearance.user_id == user_id)).one()
    stmt = (select(func.count(ShiftSignup.id)).join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(ShiftSignup.user_id == user_id, ShiftSignup.status == "no_show", Shift.starts_at >= since))
    if cleared is not None:
        stmt = stmt.where(ShiftSignup.no_show_at > as_utc(cleared))
    return session.exec(stmt).one()


def is_blocked(session: Session, user_id: int, now: datetime | None = None) -> bool:
    return no_show_count(session, user_id, now) >= int(setting("NO_SHOW_LIMIT"))


def signup(session: Session, actor: User, shift_id: int, *, now: datetime | None = None) -> ShiftSignup:
    """Sign the actor up: confirmed while there is room, else waitlisted in order of arrival."""
    now = now or timeutil.utcnow()
    shift = get_shift(session, actor, shift_id)
    membership = session.exec(select(TeamMembership).where(TeamMembership.team_id == shift.team_id,
                                                           TeamMembership.user_id == actor.id)).first()
    if membership is None:
        raise DomainError("not_team_member", _l("Only members of this shift's team can sign up."))
    if shift.unit_id is not None and membership.unit_id != shift.unit_id:
        raise DomainError("not_team_member", _l("Only members of this shift's sub-unit can sign up."))
    ledger.lock_user(session, actor.id)
    shift = lock_shift(session, shift.id)
    if shift.cancelled:
        raise DomainError("shift_cancelled", _l("This shift has been cancelled."), status=409)
    existing = signup_of(session, shift.id, actor.id)
    if existing is not None and existing.status != "cancelled":
        raise DomainError("already_signed_up", _l("You are already signed up for this shift."))
    if shift.starts_at <= now:
        raise DomainError("shift_started", _l("This shift has already started."))
    window = int(setting("SHIFT_SIGNUP_WINDOW_DAYS"))
    if shift.starts_at > now + timedelta(days=window):
        raise DomainError("beyond_signup_window",
                          _l("Sign-up opens %(days)d days before a shift starts.", days=window), status=409,
                          opens_at=isoformat(shift.starts_at - timedelta(days=window)))
    clash = session.exec(
        select(Shift).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .where(ShiftSignup.user_id == actor.id, ShiftSignup.status.in_(ACTIVE), Shift.cancelled.is_(False),
               Shift.id != shift.id, Shift.starts_at < shift.ends_at, Shift.ends_at > shift.starts_at)).first()
    if clash is not None:
        raise DomainError("shift_overlap", _l("This shift overlaps another of yours: %(title)s, %(when)s.",
                                              title=clash.title, when=when_text(clash)), status=409,
                          shift_id=clash.id)
    if is_blocked(session, actor.id, now):
        raise DomainError("too_many_no_shows",
                          _l("You missed too many shifts recently. Please ask your coordinator to clear this."),
                          status=403)
    confirmed = session.exec(select(func.count(ShiftSignup.id)).where(
        ShiftSignup.shift_id == shift.id, ShiftSignup.status == "confirmed")).one()
    next_seq = (session.exec(select(func.max(ShiftSignup.seq)).where(ShiftSignup.shift_id == shift.id)).one() or 0) + 1
    status = "confirmed" if confirmed < shift.capacity else "waitlisted"
    row = existing or ShiftSignup(shift_id=shift.id, user_id=actor.id)
    row.status, row.seq, row.signed_up_at, row.cancelled_at = status, next_seq, now, None
    row.confirmed_at = now if status == "confirmed" else None
    row.no_show_comment, row.no_show_by_id, row.no_show_at = "", None, None
    session.add(row)
    session.flush()
    return row


def cancel_signup(session: Session, actor: User, shift_id: int, *, now: datetime | None = None) -> ShiftSignup:
    """Withdraw the actor's sign-up; the first on the waitlist takes a freed place."""
    now = now or timeutil.utcnow()
    shift = get_shift(session, actor, shift_id)
    ledger.lock_user(session, actor.id)
    shift = lock_shift(session, shift.id)
    row = signup_of(session, shift.id, actor.id)
    if row is None or row.status not in ACTIVE:
        raise DomainError("not_found", _l("You are not signed up for this shift."))
    if shift.starts_at <= now:
        raise DomainError("shift_started", _l("This shift has already started."))
    row.status, row.cancelled_at = "cancelled", now
    session.add(row)
    session.flush()
    fill_from_waitlist(session, shift, now)
    return row


def remind(session: Session, *, user_id: int | None = None, station_id: int | None = None,
           now: datetime | None = None) -> int:
    """A notice (once) for every confirmed sign-up whose shift starts within 12 hours, and a text
    message (once) to those who want reminders by SMS.
    ``user_id`` limits it to one person (done when they open the app), ``station_id`` to one
    station (the command, in each station's own settings)."""
    now = now or timeutil.utcnow()
    stmt = (select(Shift, ShiftSignup).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
            .where(ShiftSignup.status == "confirmed", Shift.cancelled.is_(False),
                   Shift.starts_at > now, Shift.starts_at <= now + REMINDER_AHEAD))
    if user_id is not None:
        stmt = stmt.where(ShiftSignup.user_id == user_id)
    if station_id is not None:
        stmt = stmt.where(Shift.station_id == station_id)
    made = 0
    for shift, row in session.exec(stmt):
        notice = notices.notify(session, row.user_id, "shift_reminder",
                                _l("Reminder: %(title)s", title=shift.title),
                                _l("Your shift starts at %(when)s.", when=when_text(shift)),
                                f"/shifts/{shift.id}", dedupe_key=f"reminder:shift:{shift.id}:{row.user_id}",
                                now=now)
        made += notice is not None
        sms_queue.queue(session, shift.station_id, [row.user_id], "shift_reminders", "shift_reminder",
                        sms_queue.reminder_text(shift), key=f"reminder:shift:{shift.id}", now=now)
    return made

