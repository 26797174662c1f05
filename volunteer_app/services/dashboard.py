"""The coordinator dashboard: the programme at a glance, for a coordinator's teams or a station.

Every figure is one aggregate query restricted to a :class:`Scope`: an admin sees the whole
station (or one team), a coordinator the teams they coordinate (or one of them). The whole
station's check-ins and points come from the day sums the writes keep (``station_days``,
``users.last_active_on``), and its plots from the station's own checkpoints and events, so that
its cost does not grow with the other stations of a county; a team's figures are aggregates
over its people's rows (check-ins, ledger entries). People count toward a scope
through their team membership; checkpoints through their team (station-wide checkpoints, with no
team, belong to every scope of the station). Days and weeks are station-local calendar periods
(weeks from Monday), as the API speaks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from .. import db
from ..errors import DomainError
from ..models import (Checkin, Checkpoint, Event, LedgerEntry, ServiceRecord, Shift, ShiftSignup, StationDay,
                      StoreItem, Team, TeamMembership, Tip, Unit, User)
from ..timeutil import as_utc, local, local_midnight, period_start, utcnow
from . import access, care, hours, publicity, service

#: Ledger kinds that move points out through the store (refunds give them back).
SPENDING_KINDS = ("redemption", "refund")
HEATMAP_DAYS = 28
FLOW_WEEKS = 8
STALE_HOURS = 24
COVERAGE_DAYS = 7


@dataclass
class Scope:
    station_id: int
    #: None: the whole station; otherwise the teams shown.
    team_ids: frozenset[int] | None
    label_team: Team | None = None
    choices: list[Team] = field(default_factory=list)
    #: One sub-unit of the team shown: only its members.
    unit_id: int | None = None

    @property
    def whole_station(self) -> bool:
        return self.team_ids is None


def scope_for(session: Session, actor: User, team_id: int | None = None, unit_id: int | None = None) -> Scope:
    """What ``actor`` may see: admins the station or any team of it, coordinators their teams.
    Refuses volunteers and clerks (``forbidden``) and foreign teams (``forbidden``). With
    ``unit_id``, one sub-unit of a team they may see (another station's: ``not_found``)."""
    access.require_role(actor, "coordinator")
    if unit_id is not None:
        unit = access.get_in_station(session, Unit, unit_id, actor, _l("No such sub-unit."))
        if team_id not in (None, unit.team_id):
            raise DomainError("not_found", _l("No such sub-unit."))
        scope = scope_for(session, actor, unit.team_id)
        scope.unit_id = unit.id
        return scope
    teams = list(session.exec(select(Team).where(Team.station_id == actor.station_id).order_by(Team.name)))
    if actor.is_admin:
        choices = teams
    else:
        mine = access.coordinated_team_ids(session, actor)
        choices = [team for team in teams if team.id in mine]
        if not choices:
            access.forbid(_l("You coordinate no team yet."))
    if team_id is not None:
        team = next((team for team in choices if team.id == team_id), None)
        if team is None:
            access.forbid(_l("Only this team's coordinators may do this."))
        return Scope(actor.station_id, frozenset({team.id}), team, choices)
    if actor.is_admin:
        return Scope(actor.station_id, None, None, choices)
    return Scope(actor.station_id, frozenset(team.id for team in choices), None, choices)


def scoped_user_ids(scope: Scope):
    """A subquery of the ids of the people in the scope."""
    if scope.whole_station:
        return select(User.id).where(User.station_id == scope.station_id)
    if scope.unit_id is not None:
        return (select(TeamMembership.user_id).join(Team, Team.id == TeamMembership.team_id)
                .where(Team.station_id == scope.station_id, TeamMembership.unit_id == scope.unit_id))
    return (select(TeamMembership.user_id).join(Team, Team.id == TeamMembership.team_id)
            .where(Team.station_id == scope.station_id, TeamMembership.team_id.in_(scope.team_ids)))


def scope_people(scope: Scope):
    """A WHERE clause on ``User``: one of the scope's people. The whole station is its column
    (SQLite builds an ``IN (subquery)`` whole before it reads a row: 25 ms at 100,000 people,
    for a page of 200); a team's or a sub-unit's people are the subquery, as small as the team."""
    if scope.whole_station:
        return User.station_id == scope.station_id
    return User.id.in_(scoped_user_ids(scope))


def in_scope(user_column, scope: Scope):
    """``user_column IN (people of the scope)``, written so that the planner does not pick the
    per-person index for it (``+ 0``): the dashboard's queries are time ranges over many
    people, best served by the time index (SQLite: 13 ms instead of 540 ms for a week of
    100,000 entries)."""
    return (user_column + 0).in_(scoped_user_ids(scope))


def station_checkin_queries(scope: Scope, start: datetime, end: datetime, *columns, end_included: bool = True
                            ) -> list:
    """``columns`` of the whole station's check-ins from ``start`` to ``end`` (included, or
    not), as two queries whose results add up: those at its checkpoints and those at its events
    (joins onto ranges of the checkpoint and event indexes, never the other stations' check-ins)."""
    window = (Checkin.created_at >= start, Checkin.created_at <= end if end_included else Checkin.created_at < end,
              Checkin.direction == "in")
    return [select(*columns).join(Checkpoint, Checkpoint.id == Checkin.checkpoint_id)
            .where(Checkpoint.station_id == scope.station_id, *window),
            select(*columns).join(Event, Event.id == Checkin.event_id)  # events a day either side
            .where(Event.station_id == scope.station_id, Event.starts_at <= end + timedelta(days=1),
                   Event.ends_at >= start - timedelta(days=1), *window)]


def scoped_checkpoints_query(scope: Scope):
    """The scope's active checkpoints (its teams' and the station-wide ones), by name."""
    stmt = select(Checkpoint).where(Checkpoint.station_id == scope.station_id, Checkpoint.active == True)  # noqa: E712
    if not scope.whole_station:
        stmt = stmt.where(or_(Checkpoint.team_id.in_(scope.team_ids), Checkpoint.team_id.is_(None)))
    return stmt.order_by(Checkpoint.name, Checkpoint.id)


# -- the figures -------------------------------------------------------------------------------

@dataclass
class Figures:
    checkins: int
    active_volunteers: int
    hours_served: float
    shifts_confirmed: int
    shifts_capacity: int
    points_issued: int
    points_redeemed: int
    points_lapsed: int = 0


def _checkin_figures(session: Session, scope: Scope, starts: list[datetime], end: datetime) -> list[tuple[int, int]]:
    """(check-ins, people who checked in) from each of ``starts`` to ``end``."""
    since = [Checkin.created_at >= start for start in starts]
    row = session.execute(
        select(*(aggregate.filter(cond) for cond in since
                 for aggregate in (func.count(Checkin.id), func.count(func.distinct(Checkin.user_id)))))
        .where(in_scope(Checkin.user_id, scope), Checkin.created_at >= min(starts), Checkin.created_at < end,
               Checkin.direction == "in")
    ).one()
    return [(int(row[2 * n] or 0), int(row[2 * n + 1] or 0)) for n in range(len(starts))]


def _points_figures(session: Session, scope: Scope, windows: list[tuple[datetime, datetime]]
                    ) -> list[tuple[int, int, int]]:
    """Points issued (earned), redeemed (less refunds) and lapsed in each ``[start, end)`` of
    ``windows``, in one query."""
    kinds = (LedgerEntry.earned == True, LedgerEntry.kind.in_(SPENDING_KINDS), LedgerEntry.kind == "expiry")  # noqa: E712
    row = session.execute(select(*(
        func.coalesce(func.sum(LedgerEntry.amount).filter(
            and_(kind, LedgerEntry.created_at >= start, LedgerEntry.created_at < end)), 0)
        for start, end in windows for kind in kinds)).where(
        in_scope(LedgerEntry.user_id, scope), LedgerEntry.created_at >= min(start for start, _end in windows),
        LedgerEntry.created_at < max(end for _start, end in windows))).one()
    return [(int(row[3 * n] or 0), -int(row[3 * n + 1] or 0), -int(row[3 * n + 2] or 0)) for n in range(len(windows))]


def _shift_figures(session: Session, scope: Scope, starts: list[datetime], end: datetime) -> list[tuple[int, int]]:
    """Confirmed sign-ups against capacity for the shifts starting in each period, in one query:
    each shift's confirmed count is a subquery on its own sign-ups."""
    confirmed = (select(func.count(ShiftSignup.id)).where(ShiftSignup.shift_id == Shift.id,
                                                          ShiftSignup.status.in_(CONFIRMED_STATUSES))
                 .correlate(Shift).scalar_subquery())
    stmt = select(*(func.coalesce(func.sum(value).filter(Shift.starts_at >= start), 0)
                    for start in starts for value in (confirmed, Shift.capacity)))
    stmt = _scope_shifts(stmt.where(Shift.starts_at >= min(starts), Shift.starts_at < end,
                                    Shift.cancelled.is_(False)), scope)
    row = session.execute(stmt).one()
    return [(int(row[2 * n] or 0), int(row[2 * n + 1] or 0)) for n in range(len(starts))]


#: Sign-up statuses that held a place on a shift.
CONFIRMED_STATUSES = ("confirmed", "no_show")


def _scope_shifts(stmt, scope: Scope):
    if scope.whole_station:
        return stmt.where(Shift.team_id.in_(select(Team.id).where(Team.station_id == scope.station_id)))
    return stmt.where(Shift.team_id.in_(scope.team_ids))


def _hours_figures(session: Session, scope: Scope, starts: list[datetime], end: datetime) -> list[float]:
    minutes = hours.total_minutes_since(session, scoped_user_ids(scope), starts, end,
                                        station_id=scope.station_id if scope.whole_station else None)
    return [round(value / 60, 1) for value in minutes]


def _station_day_sums(session: Session, station_id: int, firsts: list[date], last: date) -> list[tuple[int, ...]]:
    """Check-ins, points issued, redeemed and lapsed on the station's days from each of
    ``firsts`` to ``last``."""
    columns = (StationDay.checkins, StationDay.points_issued, StationDay.points_redeemed, StationDay.points_lapsed)
    row = session.execute(select(
        *(func.coalesce(func.sum(column).filter(StationDay.day >= first), 0) for first in firsts for column in columns))
        .where(StationDay.station_id == station_id, StationDay.day >= min(firsts), StationDay.day <= last)).one()
    return [tuple(int(value or 0) for value in row[4 * n:4 * n + 4]) for n in range(len(firsts))]


def _active_since(session: Session, station_id: int, firsts: list[date]) -> list[int]:
    """The station's people who checked in on each of ``firsts`` or later (their latest check-in)."""
    row = session.execute(select(*(func.count().filter(User.last_active_on >= first) for first in firsts)).where(
        User.station_id == station_id, User.last_active_on >= min(firsts))).one()
    return [int(value or 0) for value in row]


def figures_since(session: Session, scope: Scope, starts: list[datetime], end: datetime) -> list[Figures]:
    """The figures of the periods from each of ``starts`` (station-local midnights) to ``end``
    (now), each source read once for all of them."""
    if scope.whole_station:
        firsts, last = [local(start).date() for start in starts], local(end - timedelta(microseconds=1)).date()
        sums = _station_day_sums(session, scope.station_id, firsts, last)
        active = _active_since(session, scope.station_id, firsts)
        counted = [(checkins, people) for (checkins, *_points), people in zip(sums, active)]
        points = [tuple(points) for (_checkins, *points) in sums]
    else:
        counted = _checkin_figures(session, scope, starts, end)
        points = _points_figures(session, scope, [(start, end) for start in starts])
    shifts = _shift_figures(session, scope, starts, end)
    served = _hours_figures(session, scope, starts, end)
    return [Figures(checkins=checkins, active_volunteers=active, hours_served=hours_served,
                    shifts_confirmed=confirmed, shifts_capacity=capacity, points_issued=issued,
                    points_redeemed=redeemed, points_lapsed=lapsed)
            for (checkins, active), (issued, redeemed, lapsed), (confirmed, capacity), hours_served
            in zip(counted, points, shifts, served)]


def figures(session: Session, scope: Scope, start: datetime, end: datetime) -> Figures:
    """The figures of the period from ``start`` (a station-local midnight) to ``end`` (now)."""
    return figures_since(session, scope, [start], end)[0]


@dataclass
class Counters:
    #: Registrations waiting (any coordinator of the station may approve them).
    pending_approvals: int
    #: Tips of the station past their due date and not yet done (closed or found untrue).
    overdue_tips: int
    #: The scope's service records waiting for review (make-ups, duties left open too long).
    pending_service: int
    #: Care visits' concerns of the station not yet dealt with.
    open_concerns: int


def counters(session: Session, scope: Scope, now: datetime) -> Counters:
    """The counts that ask for someone's action, in one statement."""
    row = session.execute(select(
        select(func.count(User.id)).where(User.station_id == scope.station_id, User.status == "pending")
        .scalar_subquery(),
        select(func.count(Tip.id)).where(Tip.station_id == scope.station_id, Tip.status.not_in(("closed", "rejected")),
                                         Tip.due_at.is_not(None), Tip.due_at < now).scalar_subquery(),
        select(func.count(ServiceRecord.id)).where(
            ServiceRecord.station_id == scope.station_id, ServiceRecord.status == "pending",
            ServiceRecord.user_id.in_(scoped_user_ids(scope))).scalar_subquery(),
        care.open_concern_count(scope.station_id))).one()
    return Counters(*(int(value or 0) for value in row))


#: A shift starting within this time with free places is understaffed.
UNDERSTAFFED_WITHIN = timedelta(hours=24)


def understaffed_shifts(session: Session, scope: Scope, now: datetime) -> list[tuple]:
    """``(shift, confirmed)`` for each shift starting in the next 24 hours with fewer confirmed
    volunteers than places, the soonest first."""
    confirmed = (select(func.count(ShiftSignup.id)).where(ShiftSignup.shift_id == Shift.id,
                                                          ShiftSignup.status.in_(CONFIRMED_STATUSES))
                 .correlate(Shift).scalar_subquery())
    stmt = _scope_shifts(select(Shift, confirmed).where(
        Shift.starts_at >= now, Shift.starts_at < now + UNDERSTAFFED_WITHIN, Shift.cancelled == False,  # noqa: E712
        confirmed < Shift.capacity), scope)
    return [tuple(row) for row in session.exec(stmt.order_by(Shift.starts_at, Shift.id))]


def low_stock(session: Session, scope: Scope) -> list[StoreItem]:
    return list(session.exec(
        select(StoreItem).where(StoreItem.station_id == scope.station_id, StoreItem.active == True,  # noqa: E712
                                StoreItem.stock <= StoreItem.low_stock_threshold)
        .order_by(StoreItem.stock, StoreItem.name)
    ))


# -- the plots' data ---------------------------------------------------------------------------

def _hour_bucket(session: Session, column):
    """The UTC hour an instant falls in, computed by the database (so a plot reads a few hundred
    grouped rows instead of every check-in)."""
    if db.is_sqlite(session):
        return func.strftime("%Y-%m-%d %H:00:00", column)
    return func.date_trunc("hour", column)


def _bucket_time(value) -> datetime:
    if isinstance(value, str):
        return as_utc(datetime.fromisoformat(value))
    return as_utc(value)


def _whole_hour_zone(now: datetime) -> bool:
    """Hour buckets map onto station-local hours only where the offset is whole hours (as in
    China); elsewhere the plots read the rows one by one."""
    offset = local(now).utcoffset()
    return offset is not None and offset.total_seconds() % 3600 == 0


def checkin_heatmap(session: Session, scope: Scope, now: datetime | None = None,
                    days: int = HEATMAP_DAYS) -> list[list[int]]:
    """``grid[hour][weekday]``: check-ins of the last ``days`` station-local days (today
    included), by station-local hour and weekday (Monday = 0)."""
    now = now or utcnow()
    start = local_midnight(local(now).date() - timedelta(days=days - 1))
    grid = [[0] * 7 for _ in range(24)]
    if scope.whole_station:
        queries = lambda *columns: station_checkin_queries(scope, start, now, *columns)  # noqa: E731
    else:
        queries = lambda *columns: [select(*columns).where(  # noqa: E731
            in_scope(Checkin.user_id, scope), Checkin.created_at >= start, Checkin.created_at <= now,
            Checkin.direction == "in")]
    if _whole_hour_zone(now):
        bucket = _hour_bucket(session, Checkin.created_at)
        for query in queries(bucket, func.count(Checkin.id)):
            for hour_start, count in session.execute(query.group_by(bucket)):
                moment = local(_bucket_time(hour_start))
                grid[moment.hour][moment.weekday()] += int(count)
        return grid
    for query in queries(Checkin.created_at):
        for created_at in session.exec(query.execution_options(yield_per=2000)):
            moment = local(created_at)
            grid[moment.hour][moment.weekday()] += 1
    return grid


@dataclass
class Coverage:
    checkpoint: Checkpoint
    last_scan: datetime | None
    scans: int  # in the last COVERAGE_DAYS days
    stale: bool  # not scanned in the last STALE_HOURS hours


def coverage(session: Session, scope: Scope, now: datetime | None = None) -> list[Coverage]:
    """Each checkpoint of the scope with its last scan (by anyone) and its scans of the last
    week; stale ones (no scan in 24 hours) first."""
    now = now or utcnow()
    week_ago = now - timedelta(days=COVERAGE_DAYS)
    # per checkpoint, two ranges of the (checkpoint, time) index: its latest scan, its week
    latest = (select(func.max(Checkin.created_at)).where(Checkin.checkpoint_id == Checkpoint.id,
                                                         Checkin.created_at <= now)
              .correlate(Checkpoint).scalar_subquery())
    week = (select(func.count(Checkin.id)).where(Checkin.checkpoint_id == Checkpoint.id,
                                                 Checkin.created_at >= week_ago, Checkin.created_at <= now)
            .correlate(Checkpoint).scalar_subquery())
    stale_before = now - timedelta(hours=STALE_HOURS)
    rows = []
    for checkpoint, last_at, count in session.execute(scoped_checkpoints_query(scope).add_columns(latest, week)):
        if isinstance(last_at, str):  # SQLite hands back max() of a datetime column as text
            last_at = _bucket_time(last_at)
        rows.append(Coverage(checkpoint, last_at, int(count or 0), last_at is None or last_at < stale_before))
    rows.sort(key=lambda row: (not row.stale, row.checkpoint.name))
    return rows


@dataclass
class WeekFlow:
    start: datetime  # UTC instant of the station-local Monday
    issued: int
    redeemed: int


def points_flow(session: Session, scope: Scope, now: datetime | None = None, weeks: int = FLOW_WEEKS) -> list[WeekFlow]:
    """Points issued (earned entries) and redeemed (redemptions less refunds) per station-local
    week, oldest first, the current week last (the whole station: its day sums in one query;
    a team: its people's ledger entries of the weeks; one query either way)."""
    now = now or utcnow()
    this_monday = local(now).date() - timedelta(days=local(now).weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    if scope.whole_station:
        sums = {monday: [0, 0] for monday in mondays}
        for day, issued, redeemed in session.exec(
                select(StationDay.day, StationDay.points_issued, StationDay.points_redeemed)
                .where(StationDay.station_id == scope.station_id, StationDay.day >= mondays[0],
                       StationDay.day <= local(now).date())):
            week = sums[day - timedelta(days=day.weekday())]
            week[0] += issued
            week[1] += redeemed
        return [WeekFlow(local_midnight(monday), *sums[monday]) for monday in mondays]
    starts = [local_midnight(monday) for monday in mondays]
    bounds = starts + [now + timedelta(microseconds=1)]
    weeks_points = _points_figures(session, scope, list(zip(bounds, bounds[1:])))
    return [WeekFlow(first, issued, redeemed) for first, (issued, redeemed, _lapsed) in zip(starts, weeks_points)]


# -- everything the page shows -----------------------------------------------------------------

@dataclass
class Dashboard:
    scope: Scope
    now: datetime
    today: Figures
    week: Figures
    counters: Counters
    low_stock: list[StoreItem]
    understaffed: list[tuple]
    heatmap: list[list[int]]
    coverage: list[Coverage]
    flow: list[WeekFlow]
    #: (kind's name, hours) of the scope's confirmed service this week, most first.
    week_by_kind: list[tuple[str, float]] = ()
    #: Care households whose visit is overdue (station-wide).
    overdue_households: int = 0
    #: This month's publicity sessions and the people they reached (station-wide).
    publicity: object = None


def hours_by_kind(session: Session, scope: Scope, start: datetime, end: datetime) -> list[tuple[str, float]]:
    names = {kind.key: kind.name for kind in service.kinds(session, scope.station_id, include_inactive=True)}
    return [(names.get(kind, kind), round(minutes / 60, 1))
            for kind, minutes, _count in hours.minutes_by_kind(
                session, scoped_user_ids(scope), start, end, station_id=scope.station_id if scope.whole_station else None)]


def build(session: Session, actor: User, *, team_id: int | None = None, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    scope = scope_for(session, actor, team_id)
    end = now + timedelta(microseconds=1)
    today, week = figures_since(session, scope, [period_start("day", now), period_start("week", now)], end)
    return Dashboard(
        scope=scope, now=now, today=today, week=week,
        counters=counters(session, scope, now),
        low_stock=low_stock(session, scope),
        understaffed=understaffed_shifts(session, scope, now),
        heatmap=checkin_heatmap(session, scope, now),
        coverage=coverage(session, scope, now),
        flow=points_flow(session, scope, now),
        week_by_kind=hours_by_kind(session, scope, period_start("week", now), end),
        overdue_households=care.overdue_count(session, scope.station_id, now),
        publicity=publicity.reach(session, scope.station_id, period_start("month", now), end),
    )
