"""Shifts as coordinators plan them: reading, creating, copying, editing, cancelling, and
filling free places from the waitlist."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ...errors import DomainError, FieldError
from ...models import Checkpoint, Shift, ShiftCheckpoint, ShiftSignup, Team, User
from ...settings import setting
from ... import timeutil
from ...timeutil import as_utc, isoformat, local, station_datetime, week_bounds
from .. import access, audit, notices, units


#: Scans count from this long before the start until this long after the end.
GRACE = timedelta(minutes=15)


#: A weekly series is at most this long (a year of Mondays).
MAX_REPEATS = 53


ACTIVE = ("confirmed", "waitlisted")


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


def list_shifts(session: Session, actor: User, *, since: datetime | None = None, until: datetime | None = None,
                team_id: int | None = None, team_ids: list[int] | None = None, include_cancelled: bool = False,
                limit: int = 500, now: datetime | None = None, unit_id: int | None = None) -> list[Shift]:
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
    if unit_id is not None:
        stmt = stmt.where(Shift.unit_id == unit_id)
    if not include_cancelled:
        stmt = stmt.where(Shift.cancelled.is_(False))
    return list(session.exec(stmt.order_by(Shift.starts_at, Shift.id).limit(limit)))


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


def managed_team(session: Session, actor: User, team_id: int) -> Team:
    team = access.get_in_station(session, Team, team_id, actor, _l("No such team."))
    access.require_team_manager(session, actor, team)
    return team


def require_shift_staff(session: Session, actor: User, shift: Shift) -> None:
    """The team's managers, and for a sub-unit's shift its leaders too (attendance)."""
    team = access.get_in_station(session, Team, shift.team_id, actor, _l("No such team."))
    if access.is_team_manager(session, actor, team):
        return
    if shift.unit_id is None or shift.unit_id not in access.led_unit_ids(session, actor):
        access.forbid(_l("Only this team's coordinators may do this."))


def _set_route(session: Session, shift_id: int, checkpoint_ids: list[int]) -> None:
    for row in session.exec(select(ShiftCheckpoint).where(ShiftCheckpoint.shift_id == shift_id)):
        session.delete(row)
    session.flush()
    for position, checkpoint_id in enumerate(checkpoint_ids):
        session.add(ShiftCheckpoint(shift_id=shift_id, checkpoint_id=checkpoint_id, position=position))
    session.flush()


def create_shifts(session: Session, actor: User, *, team_id: int, title: str, starts_at: datetime,
                  ends_at: datetime, capacity: int, checkpoint_ids: list[int], points_per_hour: int = 10,
                  repeat_weekly_until: date | None = None, now: datetime | None = None,
                  unit_id: int | None = None) -> list[Shift]:
    """One shift, or one a week (same station-local clock times) whose start falls on or before
    ``repeat_weekly_until`` (a station-local date, inclusive); with ``unit_id``, for that
    sub-unit of the team (only its members sign up)."""
    team = managed_team(session, actor, team_id)
    unit = units.unit_in_team(session, actor, team.id, unit_id)
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
        starts = [station_datetime(local_start.date() + timedelta(weeks=week), local_start.timetz().replace(tzinfo=None))
                  for week in range(weeks + 1)]
    length = ends_at - starts_at
    made = []
    for start in starts:
        # keep the end's wall-clock time too (a station zone with DST moves both alike)
        end = start + length if series_id is None else station_datetime(
            (local(start) + (local_end.date() - local_start.date())).date(), local_end.timetz().replace(tzinfo=None))
        shift = Shift(station_id=team.station_id, team_id=team.id, unit_id=unit.id if unit else None,
                      title=title[:200], starts_at=start, ends_at=end,
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
    team = managed_team(session, actor, team_id)
    monday, begin, end = week_bounds(week_start)
    source = list(session.exec(select(Shift).where(Shift.team_id == team.id, Shift.cancelled.is_(False),
                                                   Shift.starts_at >= begin, Shift.starts_at < end)
                               .order_by(Shift.starts_at)))
    routes = routes_for(session, [shift.id for shift in source])
    made = []
    for old in source:
        start = station_datetime(local(old.starts_at).date() + timedelta(days=7),
                                  local(old.starts_at).timetz().replace(tzinfo=None))
        finish = start + (old.ends_at - old.starts_at)
        exists = session.exec(select(Shift.id).where(Shift.team_id == team.id, Shift.title == old.title,
                                                     Shift.starts_at == start, Shift.cancelled.is_(False))).first()
        if exists:
            continue
        shift = Shift(station_id=old.station_id, team_id=old.team_id, unit_id=old.unit_id, title=old.title,
                      starts_at=start,
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


def when_text(shift: Shift) -> str:
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
    managed_team(session, actor, shift.team_id)
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
    promoted = fill_from_waitlist(session, shift, now)
    if "time" in changes or "route" in changes:
        for user_id in _signed_up_users(session, shift.id):
            if user_id in promoted:
                continue
            notices.notify(session, user_id, "shift_changed", _l("Shift changed: %(title)s", title=shift.title),
                           _l("Now %(when)s. Please check the time and the route.", when=when_text(shift)),
                           f"/shifts/{shift.id}", now=now)
    if changes:
        audit.record(session, actor, "shift.edit", "shift", shift.id, **changes)
    return shift


def cancel_shift(session: Session, actor: User, shift_id: int, *, reason: str = "",
                 now: datetime | None = None) -> Shift:
    """Cancel a shift; everyone confirmed or waitlisted gets a notice."""
    now = now or timeutil.utcnow()
    shift = get_shift(session, actor, shift_id)
    managed_team(session, actor, shift.team_id)
    shift = lock_shift(session, shift.id)
    if shift.cancelled:
        raise DomainError("already_cancelled", _l("This shift has already been cancelled."))
    shift.cancelled, shift.cancelled_at = True, now
    session.add(shift)
    reason = (reason or "").strip()[:300]
    for user_id in _signed_up_users(session, shift.id):
        body = (_l("%(when)s. The shift will not take place. Reason: %(reason)s", when=when_text(shift), reason=reason)
                if reason else _l("%(when)s. The shift will not take place.", when=when_text(shift)))
        notices.notify(session, user_id, "shift_cancelled", _l("Shift cancelled: %(title)s", title=shift.title),
                       body, "/shifts", now=now)
    session.flush()
    audit.record(session, actor, "shift.cancel", "shift", shift.id, reason=reason)
    return shift


def fill_from_waitlist(session: Session, shift: Shift, now: datetime) -> list[int]:
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
                       _l("A place came free and you moved up from the waitlist. %(when)s.", when=when_text(shift)),
                       f"/shifts/{shift.id}", now=now)
        promoted.append(row.user_id)
    session.flush()
    return promoted


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

