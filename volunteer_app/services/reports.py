"""Reports and exports: service hours, ledger, check-ins, store reconciliation; the audit search.

Exports are CSV, UTF-8 with a byte-order mark (so Excel shows the Chinese), produced by
generators that fetch rows in batches by keyset (``WHERE id > :last ORDER BY id LIMIT n``), as
plain column tuples (never ORM objects, which the session would keep), and hand out text in
chunks of about 16 KB: a 100,000-row export never sits in memory. The caller (a view) checks
authorization *before* it starts streaming, by calling the ``*_export`` function, which raises
``DomainError`` at once and returns the row generator only when allowed.

Who may export what:
- one person's rows (their ledger, check-ins, certificate): the person, their coordinators,
  admins (``access.require_view_user``);
- a team's or the station's rows: the same scopes as the dashboard (admins: station or any
  team; coordinators: their teams);
- the store reconciliation: clerks, coordinators and admins of the station.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ..errors import FieldError
from ..parsing import BadValue, check_year, parse_day, parse_id
from ..models import (AuditEntry, CareHousehold, CareVisit, CareVisitor, Checkin, Checkpoint, Event, LedgerEntry,
                      PointsTotal, Redemption, ServiceRecord, Station, StoreItem, Team, TeamMembership, Tip, User)
from ..timeutil import local, local_midnight, utcnow
from . import access, hours, identity, recognition, service
from .csv_export import csv_stream
from .dashboard import Scope, scope_for, scope_people, scoped_user_ids, station_checkin_queries

BATCH = 1000
MAX_PERIOD_DAYS = 3660


# -- periods -----------------------------------------------------------------------------------

@dataclass
class Period:
    """Station-local calendar days ``first`` .. ``last`` (inclusive) as UTC instants."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))


def period(first: date | str | None, last: date | str | None, *, now: datetime | None = None) -> Period:
    """Parse a period (ISO dates); the default is the current month up to today."""
    today = local(now or utcnow()).date()

    def parse(value, name):
        if value in (None, ""):
            return None
        try:
            return check_year(value) if isinstance(value, date) else parse_day(str(value))
        except BadValue as error:
            raise FieldError(name, error.message) from None

    first_day = parse(first, "from") or today.replace(day=1)
    last_day = parse(last, "to") or today
    if last_day < first_day:
        raise FieldError("to", _l("The end date lies before the start date."))
    if (last_day - first_day).days > MAX_PERIOD_DAYS:
        raise FieldError("from", _l("A period spans at most ten years."))
    return Period(first_day, last_day)


def period_or_default(first: date | str | None, last: date | str | None) -> tuple[Period, dict[str, str]]:
    """The period asked for, or the default one with ``{field: message}`` saying what was wrong."""
    try:
        return period(first, last), {}
    except FieldError as error:
        return period(None, None), {item["field"]: str(item["message"]) for item in error.details["errors"]}


def keyset(session: Session, stmt, id_column, *, batch: int = BATCH) -> Iterator[tuple]:
    """Rows of ``stmt`` (a column select whose first column is ``id_column``) in id order,
    fetched ``batch`` at a time."""
    last = 0
    while True:
        rows = session.execute(stmt.where(id_column > last).order_by(id_column).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
        if len(rows) < batch:
            return


@dataclass
class Export:
    """An authorized export: the file name and a generator of CSV text chunks."""

    filename: str
    chunks: Iterator[str]


# -- who: one person, or a scope ---------------------------------------------------------------

def _person(session: Session, actor: User, user_id: int) -> User:
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_view_user(session, actor, user)
    return user


def _user_filter(session: Session, actor: User, *, user_id: int | None, team_id: int | None,
                 unit_id: int | None = None):
    """(subquery or list of user ids, label) after the authorization check."""
    if user_id is not None:
        user = _person(session, actor, user_id)
        return [user.id], f"user{user.id}"
    scope = scope_for(session, actor, team_id, unit_id)
    return scoped_user_ids(scope), (f"unit{unit_id}" if unit_id else f"team{team_id}" if team_id else "all")


# -- service hours -----------------------------------------------------------------------------

def hours_available() -> bool:
    """Hours come from service records: always (the pages still ask)."""
    return True


def hours_by_kind(session: Session, scope: Scope, p: Period) -> list[tuple[str, float, int]]:
    """(kind's name, hours, records) of the scope's confirmed service in the period, most first."""
    names = {kind.key: kind.name for kind in service.kinds(session, scope.station_id, include_inactive=True)}
    return [(names.get(kind, kind), round(minutes / 60, 1), count)
            for kind, minutes, count in hours.minutes_by_kind(
                session, scoped_user_ids(scope), p.start, p.end, station_id=scope.station_id if scope.whole_station else None)]


#: The columns the national volunteer information system's batch import of service hours reads.
NATIONAL_HEADER = (_l("Real name"), _l("ID document number"), _l("Volunteer number"), _l("Activity"),
                   _l("Kind of service"), _l("Service date"), _l("Start time"), _l("End time"), _l("Hours of service"))


def national_export(session: Session, actor: User, p: Period, *, team_id: int | None = None,
                    full_id_numbers: bool = False, unit_id: int | None = None) -> Export:
    """Confirmed service records of the period, one row each, in the columns of the national
    volunteer information system's import (real name, ID document number, volunteer number,
    activity, kind, date, start, end, hours). ID numbers are masked; an admin may ask for them in
    full, and that reading is audited."""
    scope = scope_for(session, actor, team_id, unit_id)
    names = {kind.key: kind.name for kind in service.kinds(session, scope.station_id, include_inactive=True)}
    people = {user.id: user for user in session.exec(select(User).where(User.id.in_(scoped_user_ids(scope))))}
    revealed = identity.reveal(session, actor, list(people.values()), purpose="national_export") \
        if full_id_numbers else {}
    records = list(session.exec(select(ServiceRecord).where(
        ServiceRecord.status == "confirmed", ServiceRecord.user_id.in_(list(people) or [-1]),
        ServiceRecord.started_at >= p.start, ServiceRecord.started_at < p.end)
        .order_by(ServiceRecord.started_at, ServiceRecord.id)))

    def rows():
        for record in records:
            person = people[record.user_id]
            start, end = local(record.started_at), local(record.ended_at)
            yield (person.real_name or person.display_name,
                   revealed.get(person.id) or identity.mask(person.id_number_last4),
                   person.volunteer_number or "", record.place, names.get(record.kind, record.kind),
                   start.date().isoformat(), start.strftime("%H:%M"), end.strftime("%H:%M"),
                   f"{record.minutes / 60:.2f}")

    return Export(f"national-hours-{_label(scope)}-{p.first}-{p.last}.csv", csv_stream(NATIONAL_HEADER, rows()))


@dataclass
class HoursRow:
    user_id: int
    username: str
    display_name: str
    minutes: int
    checkins: int
    points_earned: int
    phone: str | None = None
    teams: tuple[str, ...] = ()

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)


def _team_names(session: Session, user_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    rows = session.execute(select(TeamMembership.user_id, Team.name).join(Team, Team.id == TeamMembership.team_id)
                           .where(TeamMembership.user_id.in_(user_ids)).order_by(Team.name))
    for user_id, name in rows:
        names.setdefault(user_id, []).append(name)
    return names


def hours_rows(session: Session, people, p: Period, *, batch: int = BATCH) -> Iterator[HoursRow]:
    """Per person of ``people`` (a WHERE clause on ``User``, as :func:`dashboard.scope_people`
    makes), in id order: minutes served, check-ins and points earned in the period, with
    the person's phone and teams, a batch of people at a time. Each figure is a subquery on
    the person's own rows (their day totals, their check-ins, their ledger), so that a page of
    the table reads its people's rows only, never the whole station's period."""
    checkins = (select(func.count(Checkin.id)).where(Checkin.user_id == User.id, Checkin.direction == "in",
                                                     Checkin.created_at >= p.start, Checkin.created_at < p.end)
                .scalar_subquery())
    earned = (select(func.coalesce(func.sum(LedgerEntry.amount), 0))
              .where(LedgerEntry.user_id == User.id, LedgerEntry.earned == True,  # noqa: E712
                     LedgerEntry.created_at >= p.start, LedgerEntry.created_at < p.end)
              .scalar_subquery())
    stmt = select(User.id, User.username, User.display_name, User.phone,
                  hours.person_minutes(User.id, p.start, p.end), checkins, earned).where(people)
    people = keyset(session, stmt, User.id, batch=batch)
    while True:
        chunk = [row for _, row in zip(range(batch), people)]
        if not chunk:
            return
        teams = _team_names(session, [row[0] for row in chunk])
        for user_id, username, display_name, phone, minutes, checkin_count, points in chunk:
            yield HoursRow(user_id, username, display_name, int(minutes or 0), int(checkin_count or 0),
                           int(points or 0), phone, tuple(teams.get(user_id, ())))


def hours_by_volunteer_export(session: Session, actor: User, p: Period, *, team_id: int | None = None,
                              unit_id: int | None = None) -> Export:
    scope = scope_for(session, actor, team_id, unit_id)
    header = [_l("User id"), _l("Username"), _l("Name"), _l("Team"), _l("Mobile phone"), _l("Hours served"),
              _l("Check-ins"), _l("Points earned"), _l("From"), _l("To")]

    def rows():
        for row in hours_rows(session, scope_people(scope), p):
            yield (row.user_id, row.username, row.display_name, "、".join(row.teams), row.phone or "",
                   f"{row.hours:.2f}", row.checkins, row.points_earned, p.first.isoformat(), p.last.isoformat())

    return Export(f"hours-volunteers-{_label(scope)}-{p.first}-{p.last}.csv", csv_stream(header, rows()))


@dataclass
class TeamHours:
    team: Team
    members: int
    active: int
    minutes: int
    checkins: int
    points_earned: int
    phone: str | None = None
    teams: tuple[str, ...] = ()

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)


def hours_by_team(session: Session, scope: Scope, p: Period, *, now: datetime | None = None) -> list[TeamHours]:
    """Per team of the scope: members, members who checked in, hours, check-ins and points in the
    period (a person in two teams counts in both). With a sub-unit chosen, its team's row counts
    the sub-unit's members only. The sums run over every member's rows of the period, so they
    come from the shared cache (as the teams' leaderboard does): recomputed when the ledger has
    moved, at most every few seconds, and never kept longer than the cache's time."""
    teams = [team for team in scope.choices if scope.whole_station or team.id in scope.team_ids]
    key = (f"hours-teams:{scope.station_id}:{','.join(str(team.id) for team in teams)}:{scope.unit_id or '-'}:"
           f"{p.first.isoformat()}:{p.last.isoformat()}")
    rows = recognition.cached(session, key, lambda: _team_sums(session, scope, [team.id for team in teams], p),
                              now or utcnow())
    by_team = {row[0]: row[1:] for row in rows}
    return [TeamHours(team, *by_team.get(team.id, (0, 0, 0, 0, 0))) for team in teams]


def _team_sums(session: Session, scope: Scope, team_ids: list[int], p: Period) -> list[list[int]]:
    """``[team_id, members, active, minutes, check-ins, points earned]`` per team. Each figure
    reads the station's rows of the period and goes on to their people's memberships, never
    every member's own rows: the team day totals (minutes), the station's check-ins (by its
    checkpoints and events) and its points day totals. (``+ 0`` keeps each join that way round,
    and keeps the team index from being probed once per team for each row.)"""
    member = TeamMembership.team_id.label("team_id")

    def counted_memberships(team_column) -> list:
        in_unit = [TeamMembership.unit_id == scope.unit_id] if scope.unit_id is not None else []
        return [team_column.in_(team_ids or [-1]), *in_unit]

    counted, joined = counted_memberships(TeamMembership.team_id), counted_memberships(TeamMembership.team_id + 0)
    members = dict(session.execute(select(member, func.count()).where(*counted)
                                   .group_by(TeamMembership.team_id)).all())
    scans = union_all(*(query.join(TeamMembership, TeamMembership.user_id == Checkin.user_id + 0).where(*joined)
                        for query in station_checkin_queries(scope, p.start, p.end, member, Checkin.user_id,
                                                             end_included=False))).subquery()
    checkins = {team_id: (count, active) for team_id, count, active in session.execute(
        select(scans.c.team_id, func.count(), func.count(func.distinct(scans.c.user_id))).group_by(scans.c.team_id))}
    earned = dict(session.execute(
        select(member, func.sum(PointsTotal.points)).select_from(PointsTotal)
        .join(TeamMembership, TeamMembership.user_id == PointsTotal.user_id + 0)
        .where(*joined, PointsTotal.station_id == scope.station_id, PointsTotal.period == "day",
               PointsTotal.period_start >= p.first, PointsTotal.period_start <= p.last)
        .group_by(TeamMembership.team_id)).all())
    minutes = hours.team_minutes(session, team_ids, p.first, p.last, unit_id=scope.unit_id)
    return [[team_id, int(members.get(team_id, 0)), int(checkins.get(team_id, (0, 0))[1]),
             minutes.get(team_id, 0), int(checkins.get(team_id, (0, 0))[0]),
             int(earned.get(team_id) or 0)] for team_id in team_ids]


def hours_by_team_export(session: Session, actor: User, p: Period, *, team_id: int | None = None,
                         unit_id: int | None = None) -> Export:
    scope = scope_for(session, actor, team_id, unit_id)
    header = [_l("Team id"), _l("Team"), _l("Members"), _l("Active volunteers"), _l("Hours served"),
              _l("Check-ins"), _l("Points earned"), _l("From"), _l("To")]

    def rows():
        for row in hours_by_team(session, scope, p):
            yield (row.team.id, row.team.name, row.members, row.active, f"{row.hours:.2f}", row.checkins,
                   row.points_earned, p.first.isoformat(), p.last.isoformat())

    return Export(f"hours-teams-{_label(scope)}-{p.first}-{p.last}.csv", csv_stream(header, rows()))


# -- by grid (网格) ------------------------------------------------------------------------------

@dataclass
class GridRow:
    grid: str  # "" for what names no grid
    checkins: int
    tips: int
    care_visits: int


def by_grid(session: Session, scope: Scope, p: Period) -> list[GridRow]:
    """Check-ins (by their checkpoint's grid), tips and care visits (by their household's grid)
    of the scope's people in the period, one row a grid by name, "no grid" last."""
    people = scoped_user_ids(scope)
    whole = scope.whole_station
    checkins = select(Checkpoint.grid, func.count(Checkin.id)).join(Checkpoint, Checkpoint.id == Checkin.checkpoint_id)\
        .where(Checkpoint.station_id == scope.station_id, Checkin.created_at >= p.start, Checkin.created_at < p.end)
    tips = select(Tip.grid, func.count(Tip.id)).where(Tip.station_id == scope.station_id, Tip.created_at >= p.start,
                                                      Tip.created_at < p.end)
    visits = select(CareHousehold.grid, func.count(CareVisit.id))\
        .join(CareHousehold, CareHousehold.id == CareVisit.household_id)\
        .where(CareVisit.station_id == scope.station_id, CareVisit.started_at >= p.start, CareVisit.started_at < p.end)
    if not whole:
        checkins = checkins.where(Checkin.user_id.in_(people))
        tips = tips.where(Tip.reporter_id.in_(people))
        visits = visits.where(CareVisit.id.in_(select(CareVisitor.visit_id).where(CareVisitor.user_id.in_(people))))
    found: dict[str, list[int]] = {}
    for index, stmt, column in ((0, checkins, Checkpoint.grid), (1, tips, Tip.grid), (2, visits, CareHousehold.grid)):
        for grid, count in session.execute(stmt.group_by(column)).all():
            found.setdefault(grid or "", [0, 0, 0])[index] += int(count)
    return [GridRow(grid, *found[grid]) for grid in sorted(found, key=lambda name: (name == "", name))]


def grid_export(session: Session, actor: User, p: Period, *, team_id: int | None = None,
                unit_id: int | None = None) -> Export:
    scope = scope_for(session, actor, team_id, unit_id)
    header = [_l("Grid"), _l("Check-ins"), _l("Tips"), _l("Care visits"), _l("From"), _l("To")]
    rows = ((row.grid or _l("No grid"), row.checkins, row.tips, row.care_visits, p.first.isoformat(),
             p.last.isoformat()) for row in by_grid(session, scope, p))
    return Export(f"grids-{_label(scope)}-{p.first}-{p.last}.csv", csv_stream(header, rows))


def _label(scope: Scope) -> str:
    return "station" if scope.whole_station else "-".join(str(team_id) for team_id in sorted(scope.team_ids))


# -- the certificate ---------------------------------------------------------------------------

@dataclass
class Certificate:
    user: User
    station_name: str
    period: Period
    hours: float
    shifts: int
    checkins: int
    issued_on: date
    teams: list[str]
    #: (kind's name, hours) of every kind served in the period, most first.
    by_kind: list[tuple[str, float]] = None


def certificate(session: Session, actor: User, user_id: int, p: Period, *, now: datetime | None = None) -> Certificate:
    """A service-hours certificate (志愿服务时长证明) for one person and period: the person,
    their coordinators and admins may print it."""
    user = _person(session, actor, user_id)
    minutes = dict(hours.minutes_by_user(session, [user.id], p.start, p.end)).get(user.id, 0)
    checkins = session.exec(select(func.count(Checkin.id)).where(
        Checkin.user_id == user.id, Checkin.created_at >= p.start, Checkin.created_at < p.end)).one()
    shifts = hours.completed_shifts(session, [user.id], p.start, p.end)
    station = session.get(Station, user.station_id)
    teams = list(session.exec(select(Team.name).join(TeamMembership, TeamMembership.team_id == Team.id)
                              .where(TeamMembership.user_id == user.id).order_by(Team.name)))
    names = {kind.key: kind.name for kind in service.kinds(session, user.station_id, include_inactive=True)}
    by_kind = [(names.get(kind, kind), round(kind_minutes / 60, 1))
               for kind, kind_minutes, _count in hours.minutes_by_kind(session, [user.id], p.start, p.end)]
    return Certificate(user=user, station_name=station.name if station else "", period=p,
                       hours=round(minutes / 60, 1), shifts=shifts, checkins=int(checkins),
                       issued_on=local(now or utcnow()).date(), teams=teams, by_kind=by_kind)


# -- ledger and check-in exports ---------------------------------------------------------------

def ledger_export(session: Session, actor: User, p: Period, *, user_id: int | None = None,
                  team_id: int | None = None,
                  unit_id: int | None = None) -> Export:
    user_ids, label = _user_filter(session, actor, user_id=user_id, team_id=team_id, unit_id=unit_id)
    header = [_l("Entry id"), _l("Time"), _l("User id"), _l("Username"), _l("Name"), _l("Kind"), _l("Points"),
              _l("Balance after"), _l("Reason"), _l("Source")]
    stmt = (select(LedgerEntry.id, LedgerEntry.created_at, LedgerEntry.user_id, User.username, User.display_name,
                   LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.balance_after, LedgerEntry.reason,
                   LedgerEntry.ref)
            .join(User, User.id == LedgerEntry.user_id)
            .where(LedgerEntry.user_id.in_(user_ids), LedgerEntry.created_at >= p.start,
                   LedgerEntry.created_at < p.end))
    return Export(f"ledger-{label}-{p.first}-{p.last}.csv",
                  csv_stream(header, keyset(session, stmt, LedgerEntry.id), coded=(5,)))


def checkin_export(session: Session, actor: User, p: Period, *, user_id: int | None = None,
                   team_id: int | None = None,
                   unit_id: int | None = None) -> Export:
    user_ids, label = _user_filter(session, actor, user_id=user_id, team_id=team_id, unit_id=unit_id)
    recorder = aliased(User)
    header = [_l("Check-in id"), _l("Time"), _l("User id"), _l("Username"), _l("Name"), _l("Kind"),
              _l("Checkpoint or event"), _l("Shift id"), _l("Points"), _l("Recorded by")]
    stmt = (select(Checkin.id, Checkin.created_at, Checkin.user_id, User.username, User.display_name, Checkin.kind,
                   func.coalesce(Checkpoint.name, Event.title), Checkin.shift_id, Checkin.points_awarded,
                   recorder.username)
            .join(User, User.id == Checkin.user_id)
            .outerjoin(Checkpoint, Checkpoint.id == Checkin.checkpoint_id)
            .outerjoin(Event, Event.id == Checkin.event_id)
            .outerjoin(recorder, recorder.id == Checkin.recorded_by_id)
            .where(Checkin.user_id.in_(user_ids), Checkin.created_at >= p.start, Checkin.created_at < p.end))
    return Export(f"checkins-{label}-{p.first}-{p.last}.csv", csv_stream(header, keyset(session, stmt, Checkin.id),
                                                                            coded=(5,)))


def store_available() -> bool:
    """The store reconciliation: always (the pages still ask)."""
    return True


def store_export(session: Session, actor: User, p: Period) -> Export:
    """Every redemption of the station in the period, with clerk, item and status, for the
    counter's reconciliation (cancelled ones included, marked)."""
    access.require_role(actor, "clerk", "coordinator")
    redemption, item = Redemption, StoreItem
    clerk, volunteer = aliased(User), aliased(User)
    header = [_l("Redemption id"), _l("Time"), _l("Status"), _l("Clerk"), _l("User id"), _l("Username"), _l("Name"),
              _l("Item"), _l("Quantity"), _l("Points"), _l("Cancelled at"), _l("Cancel reason")]
    stmt = (select(redemption.id, redemption.created_at, redemption.status, clerk.username, redemption.user_id,
                   volunteer.username, volunteer.display_name, item.name, redemption.quantity,
                   redemption.points_spent, redemption.cancelled_at, redemption.cancel_reason)
            .join(volunteer, volunteer.id == redemption.user_id)
            .join(item, item.id == redemption.item_id)
            .outerjoin(clerk, clerk.id == redemption.clerk_id)
            .where(redemption.station_id == actor.station_id, redemption.created_at >= p.start,
                   redemption.created_at < p.end))
    return Export(f"store-{p.first}-{p.last}.csv", csv_stream(header, keyset(session, stmt, redemption.id),
                                                                coded=(2,)))


# -- the audit trail search --------------------------------------------------------------------

AUDIT_PAGE = 50


@dataclass
class AuditRow:
    entry: AuditEntry
    actor_username: str | None
    actor_name: str | None

    @property
    def detail(self) -> dict:
        try:
            value = json.loads(self.entry.detail or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def audit_actions(session: Session, actor: User) -> list[str]:
    access.require_role(actor, "admin")
    return list(session.exec(select(AuditEntry.action).where(AuditEntry.station_id == actor.station_id)
                             .distinct().order_by(AuditEntry.action)))


def audit_search(session: Session, actor: User, *, actor_query: str = "", action: str = "", target_type: str = "",
                 target_id: int | None = None, first: date | None = None, last: date | None = None,
                 page: int = 1, per_page: int = AUDIT_PAGE) -> tuple[list[AuditRow], bool]:
    """Admins search their station's trail, newest first; returns (rows, whether more follow).
    ``actor_query`` matches a username or name (part of it), or, when it is all digits, an
    exact user id or username."""
    access.require_role(actor, "admin")
    page = max(1, min(int(page or 1), 100_000))
    stmt = (select(AuditEntry, User.username, User.display_name)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .where(AuditEntry.station_id == actor.station_id))
    query = (actor_query or "").strip()[:64]
    if query:
        try:
            actor_id = parse_id(query)
        except BadValue:
            actor_id = None
        if actor_id is not None:  # a user id (or a username made of digits)
            condition = or_(AuditEntry.actor_id == actor_id, func.lower(User.username) == query)
        else:
            like = f"%{query.lower()}%"
            condition = or_(func.lower(User.username).like(like), func.lower(User.display_name).like(like))
        stmt = stmt.where(condition)
    if action:
        stmt = stmt.where(AuditEntry.action == action[:64])
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type[:32])
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if first is not None:
        stmt = stmt.where(AuditEntry.created_at >= local_midnight(first))
    if last is not None:
        stmt = stmt.where(AuditEntry.created_at < local_midnight(last + timedelta(days=1)))
    rows = session.execute(stmt.order_by(AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page + 1)).all()
    result = [AuditRow(entry, username, name) for entry, username, name in rows[:per_page]]
    return result, len(rows) > per_page

