"""Shifts along patrol routes: sign-ups, waitlists, route completion and hours served.

Rules in one place, for the pages, the API and the check-in service alike:

- A coordinator of the team (or an admin) creates shifts: one, or one a week whose start falls on
  or before a date (station time, inclusive); copies a week forward; edits; cancels (everyone
  signed up is told with a notice).
- A member of the shift's team signs up: confirmed while there is room, then waitlisted in order
  of arrival. The shift row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` serialises writers), so N parallel sign-ups for capacity C leave exactly C
  confirmed. Refusals: ``not_team_member`` (403), ``already_signed_up``, ``shift_started`` (409),
  ``shift_cancelled`` (409), ``shift_overlap`` (409), ``beyond_signup_window`` (409),
  ``too_many_no_shows`` (403).
- Cancelling a sign-up promotes the first on the waitlist, who gets a notice.
- :func:`after_checkin` (called by the check-in service in its transaction) ties a checkpoint
  scan to the user's running confirmed shift and completes the shift at the last checkpoint of
  the route: once (a conditional UPDATE on the sign-up, and the ledger's unique ref), with
  ``points_per_hour`` x hours, night hours (22:00-06:00 station time) x ``NIGHT_FACTOR``,
  rounded down; the unweighted length goes to ``User.minutes_served``.

Lock order everywhere: the user row (``ledger.lock_user``) before the shift row.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, update
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..parsing import BadValue, parse_id
from ..models import (CalendarFeed, Checkin, Checkpoint, NoShowClearance, Shift, ShiftCheckpoint, ShiftSignup,
                      Team, TeamMembership, User)
from ..settings import setting
from .. import timeutil
from ..timeutil import UTC, as_utc, isoformat, local, station_tz
from . import access, audit, ledger, notices, recognition

#: Scans count from this long before the start until this long after the end.
GRACE = timedelta(minutes=15)
#: A weekly series is at most this long (a year of Mondays).
MAX_REPEATS = 53
REMINDER_AHEAD = timedelta(hours=12)
ACTIVE = ("confirmed", "waitlisted")
NIGHT_START, NIGHT_END = time(22, 0), time(6, 0)


# --------------------------------------------------------------------------- reading

def get_shift(session: Session, actor: User, shift_id: int) -> Shift:
    return access.get_in_station(session, Shift, shift_id, actor, _l("No such shift."))


def lock_shift(session: Session, shift_id: int) -> Shift:
    shift = session.exec(select(Shift).where(Shift.id == shift_id).with_for_update()
                         .execution_options(populate_existing=True)).first()
    if shift is None:
        raise DomainError("not_found", _l("No such shift."))
    return shift


def route_ids(session: Session, shift_id: int) -> list[int]:
    return list(session.exec(select(ShiftCheckpoint.checkpoint_id).where(ShiftCheckpoint.shift_id == shift_id)
                             .order_by(ShiftCheckpoint.position)))


def routes_for(session: Session, shift_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {shift_id: [] for shift_id in shift_ids}
    if shift_ids:
        rows = session.exec(select(ShiftCheckpoint).where(ShiftCheckpoint.shift_id.in_(shift_ids))
                            .order_by(ShiftCheckpoint.shift_id, ShiftCheckpoint.position))
        for row in rows:
            out[row.shift_id].append(row.checkpoint_id)
    return out


def counts_for(session: Session, shift_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{shift_id: {"confirmed": n, "waitlisted": m}}``."""
    out = {shift_id: {"confirmed": 0, "waitlisted": 0} for shift_id in shift_ids}
    if shift_ids:
        rows = session.exec(select(ShiftSignup.shift_id, ShiftSignup.status, func.count(ShiftSignup.id))
                            .where(ShiftSignup.shift_id.in_(shift_ids), ShiftSignup.status.in_(ACTIVE))
                            .group_by(ShiftSignup.shift_id, ShiftSignup.status))
        for shift_id, status, count in rows:
            out[shift_id][status] = count
    return out


def shift_view(shift: Shift, route: list[int], counts: dict[str, int]) -> dict:
    """A shift as the API shows it."""
    return {
        "id": shift.id, "team_id": shift.team_id, "title": shift.title,
        "starts_at": isoformat(shift.starts_at), "ends_at": isoformat(shift.ends_at),
        "capacity": shift.capacity, "confirmed_count": counts.get("confirmed", 0),
        "waitlist_count": counts.get("waitlisted", 0), "checkpoint_ids": list(route),
        "points_per_hour": shift.points_per_hour, "cancelled": shift.cancelled, "series_id": shift.series_id,
    }


def views(session: Session, shifts: list[Shift]) -> list[dict]:
    ids = [shift.id for shift in shifts]
    routes, counts = routes_for(session, ids), counts_for(session, ids)
    return [shift_view(shift, routes[shift.id], counts[shift.id]) for shift in shifts]


def list_shifts(session: Session, actor: User, *, since: datetime | None = None, until: datetime | None = None,
                team_id: int | None = None, team_ids: list[int] | None = None, include_cancelled: bool = False,
                limit: int = 500, now: datetime | None = None) -> list[Shift]:
    """Shifts of the actor's station not over by ``since`` (default now) and starting before
    ``until``, soonest first."""
    since = as_utc(since) if since else (now or timeutil.utcnow())
    stmt = select(Shift).where(Shift.station_id == actor.station_id, Shift.ends_at > since)
    if until is not None:
        stmt = stmt.where(Shift.starts_at < as_utc(until))
    if team_id is not None:
        stmt = stmt.where(Shift.team_id == team_id)
    if team_ids is not None:
        stmt = stmt.where(Shift.team_id.in_(team_ids or [-1]))
    if not include_cancelled:
        stmt = stmt.where(Shift.cancelled.is_(False))
    return list(session.exec(stmt.order_by(Shift.starts_at, Shift.id).limit(limit)))


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


def signup_view(session: Session, signup: ShiftSignup) -> dict:
    return {"shift_id": signup.shift_id, "user_id": signup.user_id, "status": signup.status,
            "position": waitlist_position(session, signup)}


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


# --------------------------------------------------------------------------- coordinators

def _station_datetime(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=station_tz()).astimezone(UTC)


def _check_times(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise FieldError("starts_at", _l("Give times with a UTC offset."))
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    if ends_at <= starts_at:
        raise FieldError("ends_at", _l("The end must come after the start."))
    if ends_at - starts_at > timedelta(hours=24):
        raise FieldError("ends_at", _l("A shift lasts at most 24 hours."))
    return starts_at, ends_at


def _check_route(session: Session, actor: User, checkpoint_ids: list[int]) -> list[int]:
    if not checkpoint_ids:
        raise FieldError("checkpoint_ids", _l("Choose at least one checkpoint for the route."))
    if len(checkpoint_ids) > 50:
        raise FieldError("checkpoint_ids", _l("A route has at most 50 checkpoints."))
    if len(set(checkpoint_ids)) != len(checkpoint_ids):
        raise FieldError("checkpoint_ids", _l("Each checkpoint may appear once on a route."))
    found = set(session.exec(select(Checkpoint.id).where(Checkpoint.id.in_(checkpoint_ids),
                                                         Checkpoint.station_id == actor.station_id)))
    if found != set(checkpoint_ids):
        raise FieldError("checkpoint_ids", _l("A checkpoint of the route does not exist."))
    return list(checkpoint_ids)


def _check_numbers(capacity: int, points_per_hour: int) -> None:
    if not isinstance(capacity, int) or not 1 <= capacity <= 1000:
        raise FieldError("capacity", _l("Capacity must be between 1 and 1000."))
    if not isinstance(points_per_hour, int) or not 0 <= points_per_hour <= 1000:
        raise FieldError("points_per_hour", _l("Points per hour must be between 0 and 1000."))


def _managed_team(session: Session, actor: User, team_id: int) -> Team:
    team = access.get_in_station(session, Team, team_id, actor, _l("No such team."))
    access.require_team_manager(session, actor, team)
    return team


def _set_route(session: Session, shift_id: int, checkpoint_ids: list[int]) -> None:
    for row in session.exec(select(ShiftCheckpoint).where(ShiftCheckpoint.shift_id == shift_id)):
        session.delete(row)
    session.flush()
    for position, checkpoint_id in enumerate(checkpoint_ids):
        session.add(ShiftCheckpoint(shift_id=shift_id, checkpoint_id=checkpoint_id, position=position))
    session.flush()


def create_shifts(session: Session, actor: User, *, team_id: int, title: str, starts_at: datetime,
                  ends_at: datetime, capacity: int, checkpoint_ids: list[int], points_per_hour: int = 10,
                  repeat_weekly_until: date | None = None, now: datetime | None = None) -> list[Shift]:
    """One shift, or one a week (same station-local clock times) whose start falls on or before
    ``repeat_weekly_until`` (a station-local date, inclusive)."""
    team = _managed_team(session, actor, team_id)
    title = (title or "").strip()
    if not title:
        raise FieldError("title", _l("Give the shift a title."))
    starts_at, ends_at = _check_times(starts_at, ends_at)
    _check_numbers(capacity, points_per_hour)
    route = _check_route(session, actor, checkpoint_ids)
    local_start, local_end = local(starts_at), local(ends_at)
    starts = [starts_at]
    series_id = None
    if repeat_weekly_until is not None:
        if repeat_weekly_until < local_start.date():
            raise FieldError("repeat_weekly_until", _l("The repeat date must not come before the first shift."))
        weeks = (repeat_weekly_until - local_start.date()).days // 7
        if weeks + 1 > MAX_REPEATS:
            raise FieldError("repeat_weekly_until", _l("Repeat for at most a year."))
        series_id = uuid.uuid4().hex
        starts = [_station_datetime(local_start.date() + timedelta(weeks=week), local_start.timetz().replace(tzinfo=None))
                  for week in range(weeks + 1)]
    length = ends_at - starts_at
    made = []
    for start in starts:
        # keep the end's wall-clock time too (a station zone with DST moves both alike)
        end = start + length if series_id is None else _station_datetime(
            (local(start) + (local_end.date() - local_start.date())).date(), local_end.timetz().replace(tzinfo=None))
        shift = Shift(station_id=team.station_id, team_id=team.id, title=title[:200], starts_at=start, ends_at=end,
                      capacity=capacity, points_per_hour=points_per_hour, series_id=series_id,
                      created_by_id=actor.id, created_at=now or timeutil.utcnow())
        session.add(shift)
        session.flush()
        _set_route(session, shift.id, route)
        made.append(shift)
    audit.record(session, actor, "shift.create", "shift", made[0].id, team_id=team.id, count=len(made),
                 series_id=series_id)
    return made


def copy_week(session: Session, actor: User, team_id: int, week_start: date, *,
              now: datetime | None = None) -> list[Shift]:
    """Copy the team's shifts of the station-local week beginning ``week_start`` (moved back to
    its Monday) one week forward, routes included; a shift already there (same title and start)
    is not copied twice."""
    team = _managed_team(session, actor, team_id)
    monday = week_start - timedelta(days=week_start.weekday())
    begin, end = _station_datetime(monday, time(0)), _station_datetime(monday + timedelta(days=7), time(0))
    source = list(session.exec(select(Shift).where(Shift.team_id == team.id, Shift.cancelled.is_(False),
                                                   Shift.starts_at >= begin, Shift.starts_at < end)
                               .order_by(Shift.starts_at)))
    routes = routes_for(session, [shift.id for shift in source])
    made = []
    for old in source:
        start = _station_datetime(local(old.starts_at).date() + timedelta(days=7),
                                  local(old.starts_at).timetz().replace(tzinfo=None))
        finish = start + (old.ends_at - old.starts_at)
        exists = session.exec(select(Shift.id).where(Shift.team_id == team.id, Shift.title == old.title,
                                                     Shift.starts_at == start, Shift.cancelled.is_(False))).first()
        if exists:
            continue
        shift = Shift(station_id=old.station_id, team_id=old.team_id, title=old.title, starts_at=start,
                      ends_at=finish, capacity=old.capacity, points_per_hour=old.points_per_hour,
                      created_by_id=actor.id, created_at=now or timeutil.utcnow())
        session.add(shift)
        session.flush()
        _set_route(session, shift.id, routes[old.id])
        made.append(shift)
    audit.record(session, actor, "shift.copy_week", "team", team.id, week=monday.isoformat(), count=len(made))
    return made


def _signed_up_users(session: Session, shift_id: int) -> list[int]:
    return list(session.exec(select(ShiftSignup.user_id).where(ShiftSignup.shift_id == shift_id,
                                                               ShiftSignup.status.in_(ACTIVE))
                             .order_by(ShiftSignup.seq)))


def _when(shift: Shift) -> str:
    start, end = local(shift.starts_at), local(shift.ends_at)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"


def edit_shift(session: Session, actor: User, shift_id: int, *, title: str | None = None,
               starts_at: datetime | None = None, ends_at: datetime | None = None, capacity: int | None = None,
               points_per_hour: int | None = None, checkpoint_ids: list[int] | None = None,
               now: datetime | None = None) -> Shift:
    """Change a shift that has not ended. A larger capacity promotes from the waitlist; a smaller
    one leaves the confirmed where they are. A new time tells everyone signed up."""
    now = now or timeutil.utcnow()
    shift = get_shift(session, actor, shift_id)
    _managed_team(session, actor, shift.team_id)
    shift = lock_shift(session, shift.id)
    if shift.cancelled:
        raise DomainError("shift_cancelled", _l("This shift has been cancelled."), status=409)
    if shift.ends_at <= now:
        raise DomainError("shift_started", _l("This shift is over and can no longer be changed."))
    changes = {}
    if title is not None:
        title = title.strip()
        if not title:
            raise FieldError("title", _l("Give the shift a title."))
        if title != shift.title:
            changes["title"] = title
            shift.title = title[:200]
    if starts_at is not None or ends_at is not None:
        start, end = _check_times(starts_at or shift.starts_at, ends_at or shift.ends_at)
        if (start, end) != (shift.starts_at, shift.ends_at):
            changes["time"] = f"{isoformat(start)}/{isoformat(end)}"
            shift.starts_at, shift.ends_at = start, end
    _check_numbers(shift.capacity if capacity is None else capacity,
                   shift.points_per_hour if points_per_hour is None else points_per_hour)
    if points_per_hour is not None and points_per_hour != shift.points_per_hour:
        changes["points_per_hour"] = points_per_hour
        shift.points_per_hour = points_per_hour
    if checkpoint_ids is not None:
        route = _check_route(session, actor, checkpoint_ids)
        if route != route_ids(session, shift.id):
            changes["route"] = route
            _set_route(session, shift.id, route)
    if capacity is not None and capacity != shift.capacity:
        changes["capacity"] = capacity
        shift.capacity = capacity
    session.add(shift)
    session.flush()
    promoted = _promote(session, shift, now)
    if "time" in changes or "route" in changes:
        for user_id in _signed_up_users(session, shift.id):
            if user_id in promoted:
                continue
            notices.notify(session, user_id, "shift_changed", _l("Shift changed: %(title)s", title=shift.title),
                           _l("Now %(when)s. Please check the time and the route.", when=_when(shift)),
                           f"/shifts/{shift.id}", now=now)
    if changes:
        audit.record(session, actor, "shift.edit", "shift", shift.id, **changes)
    return shift


def cancel_shift(session: Session, actor: User, shift_id: int, *, reason: str = "",
                 now: datetime | None = None) -> Shift:
    """Cancel a shift; everyone confirmed or waitlisted gets a notice."""
    now = now or timeutil.utcnow()
    shift = get_shift(session, actor, shift_id)
    _managed_team(session, actor, shift.team_id)
    shift = lock_shift(session, shift.id)
    if shift.cancelled:
        raise DomainError("already_cancelled", _l("This shift has already been cancelled."))
    shift.cancelled, shift.cancelled_at = True, now
    session.add(shift)
    reason = (reason or "").strip()[:300]
    for user_id in _signed_up_users(session, shift.id):
        body = (_l("%(when)s. The shift will not take place. Reason: %(reason)s", when=_when(shift), reason=reason)
                if reason else _l("%(when)s. The shift will not take place.", when=_when(shift)))
        notices.notify(session, user_id, "shift_cancelled", _l("Shift cancelled: %(title)s", title=shift.title),
                       body, "/shifts", now=now)
    session.flush()
    audit.record(session, actor, "shift.cancel", "shift", shift.id, reason=reason)
    return shift


# --------------------------------------------------------------------------- volunteers

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
    if not session.exec(select(TeamMembership.id).where(TeamMembership.team_id == shift.team_id,
                                                        TeamMembership.user_id == actor.id)).first():
        raise DomainError("not_team_member", _l("Only members of this shift's team can sign up."))
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
                                              title=clash.title, when=_when(clash)), status=409,
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
    _promote(session, shift, now)
    return row


def _promote(session: Session, shift: Shift, now: datetime) -> list[int]:
    """Fill free places from the waitlist, first come first served (the shift row is locked)."""
    if shift.cancelled or shift.starts_at <= now:
        return []
    confirmed = session.exec(select(func.count(ShiftSignup.id)).where(
        ShiftSignup.shift_id == shift.id, ShiftSignup.status == "confirmed")).one()
    free = shift.capacity - confirmed
    if free <= 0:
        return []
    waiting = list(session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id,
                                                          ShiftSignup.status == "waitlisted")
                                .order_by(ShiftSignup.seq).limit(free)))
    promoted = []
    for row in waiting:
        row.status, row.confirmed_at = "confirmed", now
        session.add(row)
        notices.notify(session, row.user_id, "shift_promoted",
                       _l("You have a place: %(title)s", title=shift.title),
                       _l("A place came free and you moved up from the waitlist. %(when)s.", when=_when(shift)),
                       f"/shifts/{shift.id}", now=now)
        promoted.append(row.user_id)
    session.flush()
    return promoted


# --------------------------------------------------------------------------- attendance

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
    _managed_team(session, actor, shift.team_id)
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
    _managed_team(session, actor, shift.team_id)
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
    as completed, with the same points and hours; audited. Also undoes a no-show."""
    now = now or timeutil.utcnow()
    shift, row = _signup_for_staff(session, actor, shift_id, user_id)
    if shift.starts_at > now:
        raise DomainError("shift_not_started", _l("Attendance can be confirmed once the shift has started."),
                          status=409)
    if row.status not in ("confirmed", "no_show"):
        raise DomainError("not_confirmed", _l("Only confirmed volunteers can be confirmed."), status=409)
    row.status, row.no_show_comment, row.no_show_by_id, row.no_show_at = "confirmed", "", None, None
    row.confirmed_by_id = actor.id
    session.add(row)
    session.flush()
    done = _complete(session, shift, row, now)
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


# --------------------------------------------------------------------------- completion

def night_minutes(starts_at: datetime, ends_at: datetime) -> int:
    """Minutes of [starts_at, ends_at) between 22:00 and 06:00 station time."""
    total = timedelta()
    first = local(starts_at).date() - timedelta(days=1)
    last = local(ends_at).date()
    day = first
    while day <= last:
        night_begin = _station_datetime(day, NIGHT_START)
        night_end = _station_datetime(day + timedelta(days=1), NIGHT_END)
        overlap = min(ends_at, night_end) - max(starts_at, night_begin)
        if overlap > timedelta():
            total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def shift_minutes(shift: Shift) -> int:
    return int((shift.ends_at - shift.starts_at).total_seconds() // 60)


def shift_points(shift: Shift, night_factor=None) -> int:
    """``points_per_hour`` x hours, night hours weighted, rounded down (exact arithmetic)."""
    factor = Fraction(str(setting("NIGHT_FACTOR") if night_factor is None else night_factor))
    minutes = shift_minutes(shift)
    night = night_minutes(shift.starts_at, shift.ends_at)
    weighted = Fraction(minutes - night) + Fraction(night) * factor
    return int(shift.points_per_hour * weighted / 60)


def _complete(session: Session, shift: Shift, row: ShiftSignup, now: datetime) -> dict | None:
    """Credit a sign-up once: the conditional UPDATE decides who completes it under races."""
    minutes, points = shift_minutes(shift), shift_points(shift)
    result = session.execute(
        update(ShiftSignup).where(ShiftSignup.id == row.id, ShiftSignup.completed_at.is_(None))
        .values(completed_at=now, minutes_credited=minutes, points_awarded=points)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    session.execute(update(User).where(User.id == row.user_id)
                    .values(minutes_served=User.minutes_served + minutes)
                    .execution_options(synchronize_session=False))
    if points:
        ledger.post(session, row.user_id, points, "shift", f"shift:{shift.id}:{row.user_id}",
                    reason=f"{shift.title} {_when(shift)}"[:500], now=now)
    session.refresh(row)
    user = session.get(User, row.user_id)
    if user is not None:
        session.refresh(user)
    _recognise(session, row.user_id, shift, row, now)
    return {"points": points, "minutes": minutes}


def _recognise(session: Session, user_id: int, shift: Shift, row: ShiftSignup, now: datetime) -> None:
    """Badges for a completed shift (first shift, hours served, night watch), same transaction."""
    recognition.after_shift_completed(session, user_id, shift, row, now=now)


def after_checkin(session: Session, user_id: int, checkin, now: datetime | None = None) -> dict | None:
    """Called by the check-in service (same transaction) for every checkpoint scan.

    When the scan belongs to a confirmed shift of the user running now, sets ``checkin.shift_id``
    and returns progress ``{"shift_id", "completed", "next_checkpoint_id", "points_awarded"}``;
    completes the shift (points and hours) at the last checkpoint of the route.
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
    done = set(visited(session, shift, [user_id], route)[user_id]) | {checkpoint_id}
    remaining = [cp for cp in route if cp not in done]
    points = 0
    completed = row.completed_at is not None
    if not remaining and not completed:
        result = _complete(session, shift, row, at)
        if result is not None:
            points, completed = result["points"], True
        else:
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
    """A running shift for its coordinator: who is confirmed and what each has scanned."""
    shift = get_shift(session, actor, shift_id)
    _managed_team(session, actor, shift.team_id)
    route = route_ids(session, shift.id)
    rows = list(session.exec(select(ShiftSignup, User).join(User, User.id == ShiftSignup.user_id)
                             .where(ShiftSignup.shift_id == shift.id, ShiftSignup.status.in_(("confirmed", "no_show")))
                             .order_by(ShiftSignup.seq)))
    seen = visited(session, shift, [signup.user_id for signup, _user in rows], route)
    return shift, route, [LiveRow(user, signup, seen[signup.user_id]) for signup, user in rows]


# --------------------------------------------------------------------------- reminders

def remind(session: Session, *, user_id: int | None = None, now: datetime | None = None) -> int:
    """A notice (once) for every confirmed sign-up whose shift starts within 12 hours.
    ``user_id`` limits it to one person (done when they open the app)."""
    now = now or timeutil.utcnow()
    stmt = (select(Shift, ShiftSignup).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
            .where(ShiftSignup.status == "confirmed", Shift.cancelled.is_(False),
                   Shift.starts_at > now, Shift.starts_at <= now + REMINDER_AHEAD))
    if user_id is not None:
        stmt = stmt.where(ShiftSignup.user_id == user_id)
    made = 0
    for shift, row in session.exec(stmt):
        notice = notices.notify(session, row.user_id, "shift_reminder",
                                _l("Reminder: %(title)s", title=shift.title),
                                _l("Your shift starts at %(when)s.", when=_when(shift)),
                                f"/shifts/{shift.id}", dedupe_key=f"reminder:shift:{shift.id}:{row.user_id}",
                                now=now)
        made += notice is not None
    return made


# --------------------------------------------------------------------------- calendar feed

def _feed_secret(user_id: int, version: int) -> str:
    key = str(setting("SECRET_KEY") or "").encode()
    return hmac.new(key, f"ical:{user_id}:{version}".encode(), hashlib.sha256).hexdigest()[:40]


def feed_token(session: Session, user: User, *, create: bool = True) -> str | None:
    """The secret part of the user's calendar URL (``<user id>-<hmac>``); made on first use."""
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).first()
    if feed is None:
        if not create:
            return None
        feed = CalendarFeed(user_id=user.id)
        session.add(feed)
        session.flush()
    if not feed.active:
        if not create:
            return None
        feed.active = True
        session.add(feed)
        session.flush()
    return f"{user.id}-{_feed_secret(user.id, feed.version)}"


def revoke_feed(session: Session, user: User) -> str:
    """Void every calendar URL given out so far and make a new one."""
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).first()
    if feed is None:
        feed = CalendarFeed(user_id=user.id, version=1)
    feed.version += 1
    feed.active = True
    session.add(feed)
    session.flush()
    return f"{user.id}-{_feed_secret(user.id, feed.version)}"


def feed_user(session: Session, token: str) -> User | None:
    """The user a calendar URL token belongs to, or None (unknown, revoked, disabled)."""
    raw_id, _, secret = (token or "").partition("-")
    try:
        user_id = parse_id(raw_id)
    except BadValue:
        return None
    if not secret:
        return None
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.user_id == user_id)).first()
    if feed is None or not feed.active:
        return None
    if not hmac.compare_digest(secret, _feed_secret(feed.user_id, feed.version)):
        return None
    user = session.get(User, feed.user_id)
    return user if user is not None and user.status == "active" else None


def ical(session: Session, user: User, *, base_url: str = "", now: datetime | None = None) -> bytes:
    """The user's shifts (confirmed or waitlisted, from 30 days back) as an iCalendar file."""
    from icalendar import Calendar, Event as IcsEvent
    now = now or timeutil.utcnow()
    cal = Calendar()
    cal.add("prodid", "-//volunteer-app//shifts//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", str(_l("My patrol shifts")))
    rows = list(session.exec(
        select(Shift, ShiftSignup).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .where(ShiftSignup.user_id == user.id, ShiftSignup.status.in_(ACTIVE), Shift.cancelled.is_(False),
               Shift.ends_at > now - timedelta(days=30))
        .order_by(Shift.starts_at)))
    names = {}
    for shift, row in rows:
        if shift.id not in names:
            ids = route_ids(session, shift.id)
            cps = {cp.id: cp.name for cp in session.exec(select(Checkpoint).where(Checkpoint.id.in_(ids or [-1])))}
            names[shift.id] = " → ".join(cps[i] for i in ids if i in cps)
        event = IcsEvent()
        event.add("uid", f"shift-{shift.id}-user-{user.id}@volunteer-app")
        event.add("dtstamp", now)
        event.add("dtstart", as_utc(shift.starts_at))
        event.add("dtend", as_utc(shift.ends_at))
        summary = shift.title if row.status == "confirmed" else f"{shift.title} ({_l('waitlist')})"
        event.add("summary", str(summary))
        if names[shift.id]:
            event.add("description", str(_l("Route: %(route)s", route=names[shift.id])))
        if base_url:
            event.add("url", f"{base_url.rstrip('/')}/shifts/{shift.id}")
        cal.add_component(event)
    return cal.to_ical()


# --------------------------------------------------------------------------- week calendar

def week_bounds(day: date) -> tuple[date, datetime, datetime]:
    monday = day - timedelta(days=day.weekday())
    return monday, _station_datetime(monday, time(0)), _station_datetime(monday + timedelta(days=7), time(0))


def week(session: Session, actor: User, team_id: int, day: date) -> dict:
    """A team's shifts of the station-local week holding ``day``, by weekday, with fill levels."""
    team = _managed_team(session, actor, team_id)
    monday, begin, end = week_bounds(day)
    shifts = list(session.exec(select(Shift).where(Shift.team_id == team.id, Shift.starts_at >= begin,
                                                   Shift.starts_at < end).order_by(Shift.starts_at, Shift.id)))
    counts = counts_for(session, [shift.id for shift in shifts])
    days = []
    for offset in range(7):
        the_day = monday + timedelta(days=offset)
        days.append({"date": the_day, "shifts": [
            {"shift": shift, "confirmed": counts[shift.id]["confirmed"], "waitlisted": counts[shift.id]["waitlisted"]}
            for shift in shifts if local(shift.starts_at).date() == the_day]})
    return {"team": team, "monday": monday, "days": days}


def check_integrity(session: Session) -> list[str]:
    """No shift holds more confirmed volunteers than its capacity allowed when they signed up
    (capacity may have been lowered later, so only sign-up order is checked), and every
    completed sign-up has its ledger entry when it earned points."""
    problems = []
    rows = session.exec(select(ShiftSignup).where(ShiftSignup.completed_at.is_not(None),
                                                  ShiftSignup.points_awarded > 0))
    for row in rows:
        if ledger.find(session, f"shift:{row.shift_id}:{row.user_id}") is None:
            problems.append(f"shift {row.shift_id}: user {row.user_id} completed without a ledger entry")
    return problems


# --------------------------------------------------------------------------- for the pages

def checkpoint_names(session: Session, ids) -> dict[int, str]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {cp.id: cp.name for cp in session.exec(select(Checkpoint).where(Checkpoint.id.in_(ids)))}


def fill_level(confirmed: int, capacity: int) -> str:
    """``empty``, ``open`` (places free), ``nearly_full`` (one place left, or 80 %) or ``full``."""
    if confirmed >= capacity:
        return "full"
    if confirmed == 0:
        return "empty"
    if capacity - confirmed == 1 or confirmed * 5 >= capacity * 4:
        return "nearly_full"
    return "open"


def open_shifts(session: Session, user: User, *, now: datetime | None = None, days: int | None = None) -> list[Shift]:
    """Shifts of the user's teams that have not started, within the sign-up window, soonest first."""
    now = now or timeutil.utcnow()
    days = int(setting("SHIFT_SIGNUP_WINDOW_DAYS")) if days is None else days
    teams = access.team_ids_of(session, user.id)
    return list(session.exec(select(Shift).where(Shift.team_id.in_(teams or [-1]), Shift.cancelled.is_(False),
                                                 Shift.starts_at > now, Shift.starts_at <= now + timedelta(days=days))
                             .order_by(Shift.starts_at, Shift.id).limit(200)))


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


# --------------------------------------------------------------------------- demo data

def seed_demo(session: Session, coordinator: User, teams: list[Team], volunteers: list[User],
              now: datetime | None = None) -> list[Shift]:
    """Two weeks of the patrol team (the first team) from the day before yesterday: an evening
    patrol every day and a night patrol across midnight on Fridays and Saturdays, along the
    team's checkpoints; one shift running now, sign-ups, waitlists, yesterday's patrol completed."""
    now = now or timeutil.utcnow()
    patrol = teams[0]
    route = list(session.exec(select(Checkpoint.id).where(Checkpoint.station_id == patrol.station_id,
                                                          Checkpoint.active.is_(True))
                              .order_by(Checkpoint.id).limit(4)))
    if len(route) < 2:
        for name in ("断桥东口", "白堤中段", "孤山路口"):
            checkpoint = Checkpoint(station_id=patrol.station_id, team_id=patrol.id, name=name)
            session.add(checkpoint)
            session.flush()
            route.append(checkpoint.id)
    members = set(access.team_ids_of(session, coordinator.id))
    if patrol.id not in members:
        return []
    crew = [v for v in volunteers if patrol.id in access.team_ids_of(session, v.id)]
    today = local(now).date()
    made: list[Shift] = []
    for offset in range(-2, 12):
        day = today + timedelta(days=offset)
        made += create_shifts(session, coordinator, team_id=patrol.id, title="湖滨步道晚间巡逻",
                              starts_at=_station_datetime(day, time(19)), ends_at=_station_datetime(day, time(21)),
                              capacity=4, checkpoint_ids=route[:3], points_per_hour=10, now=now)
        if day.weekday() in (4, 5):
            made += create_shifts(session, coordinator, team_id=patrol.id, title="景区夜间巡逻",
                                  starts_at=_station_datetime(day, time(22)),
                                  ends_at=_station_datetime(day + timedelta(days=1), time(2)),
                                  capacity=3, checkpoint_ids=list(reversed(route)), points_per_hour=10, now=now)
    start = local(now).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    running = create_shifts(session, coordinator, team_id=patrol.id, title="白天巡逻（进行中）",
                            starts_at=start, ends_at=start + timedelta(hours=3), capacity=3,
                            checkpoint_ids=route[:3], now=now)[0]
    made.append(running)
    week_ago = now - timedelta(days=7)
    for shift in made:
        if shift.starts_at < now - timedelta(days=2) or not crew or (shift.id % 4 == 0 and shift is not running):
            continue
        wanted = 5 if shift.id % 3 == 0 or shift is running else 2  # some fill up and grow a waitlist
        for turn in range(min(wanted, len(crew))):
            volunteer = crew[(shift.id * 2 + turn) % len(crew)]
            try:
                signup(session, volunteer, shift.id, now=min(week_ago, shift.starts_at - timedelta(days=1)))
            except DomainError:  # overlaps another of theirs
                pass
    yesterday = [s for s in made if local(s.starts_at).date() == today - timedelta(days=1) and s.ends_at < now]
    for shift in yesterday:
        for row in session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id,
                                                          ShiftSignup.status == "confirmed")).all():
            confirm_attendance(session, coordinator, shift.id, row.user_id, now=now)
    return made
