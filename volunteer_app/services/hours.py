"""Hours served: the sum of confirmed service records, and nothing else.

The one rule every sum of hours follows (home, the dashboard, the reports, the certificates, the
county); a record counts on the station-local day its service started. The sums are read from
day totals that ``service`` keeps with every confirmation (:func:`count`): per person
(``service_day_totals``), per station (``service_station_days``) and per team and sub-unit
(``service_team_days``, which also follow each change of membership: :func:`_membership_moves`);
``check`` proves they equal the records.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, bindparam, event, except_, func, or_, text, union_all
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from .. import db
from ..models import (ServiceDayTotal, ServiceRecord, ServiceStationDay, ServiceTeamDay, Shift, ShiftSignup,
                      TeamMembership, User)
from ..timeutil import local, station_tz

#: ``session.info`` keys of the station and team totals still to write in this transaction.
_PENDING = "service_station_days_pending"
_PENDING_TEAMS = "service_team_days_pending"

_ADD_TO_PERSON = db.Prepared(text(
    "INSERT INTO service_day_totals (user_id, day, kind, station_id, minutes, records) "
    "VALUES (:user_id, :day, :kind, :station_id, :minutes, :records) ON CONFLICT (user_id, day, kind) DO UPDATE "
    "SET minutes = service_day_totals.minutes + excluded.minutes, "
    "records = service_day_totals.records + excluded.records").bindparams(bindparam("day", type_=Date)))
_memberships = TeamMembership.__table__
_TEAMS_OF = db.Prepared(select(_memberships.c.team_id, _memberships.c.unit_id)
                        .where(_memberships.c.user_id == bindparam("user_id")))
_ADD_TO_STATION = text(
    "INSERT INTO service_station_days (station_id, day, kind, minutes, records) "
    "VALUES (:station_id, :day, :kind, :minutes, :records) ON CONFLICT (station_id, day, kind) DO UPDATE "
    "SET minutes = service_station_days.minutes + excluded.minutes, "
    "records = service_station_days.records + excluded.records")
_ADD_TO_TEAM = text(
    "INSERT INTO service_team_days (team_id, unit_id, day, minutes, records) "
    "VALUES (:team_id, :unit_id, :day, :minutes, :records) ON CONFLICT (team_id, unit_id, day) DO UPDATE "
    "SET minutes = service_team_days.minutes + excluded.minutes, "
    "records = service_team_days.records + excluded.records")


def _pending(session: Session, key: str) -> dict:
    return session.info.setdefault(key, defaultdict(lambda: [0, 0]))


def count(session: Session, record: ServiceRecord, *, was: tuple[datetime, int] | None = None) -> None:
    """Count a confirmed ``record`` in the day totals: for the first time (``was`` None), or
    again after its start or minutes changed from ``was`` (its ``started_at`` and ``minutes``
    before). The person's row is written now; the station's at the end of the transaction
    (:func:`write_pending`), so that a transaction never holds the station's row while it waits
    for a person's; so are the rows of the person's teams, as they are now."""
    changes = [(local(record.started_at).date(), record.minutes, 1)]
    if was is not None:
        changes.append((local(was[0]).date(), -was[1], -1))
    pending, teams = _pending(session, _PENDING), _pending(session, _PENDING_TEAMS)
    # (A membership change this session has not flushed yet moves these minutes too when it is
    # flushed: the person's row below is written by then.)
    memberships = _TEAMS_OF.all(session, {"user_id": record.user_id})
    merged: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, minutes, records in changes:
        merged[day][0] += minutes
        merged[day][1] += records
    for day, (minutes, records) in merged.items():
        if not minutes and not records:
            continue
        _ADD_TO_PERSON.all(session, {"user_id": record.user_id, "day": day, "kind": record.kind,
                                     "station_id": record.station_id, "minutes": minutes, "records": records})
        for totals in [pending[(record.station_id, day, record.kind)]] + [
                teams[(team_id, unit_id or 0, day)] for team_id, unit_id in memberships]:
            totals[0] += minutes
            totals[1] += records


def write_pending(session: Session) -> None:
    """Write the station and team totals this transaction still owes, in key order (the
    stations' first, then the teams')."""
    for key, statement, names in ((_PENDING, _ADD_TO_STATION, ("station_id", "day", "kind")),
                                  (_PENDING_TEAMS, _ADD_TO_TEAM, ("team_id", "unit_id", "day"))):
        pending = session.info.pop(key, None)
        rows = [dict(zip(names, key), minutes=minutes, records=records)
                for key, (minutes, records) in sorted(pending.items()) if minutes or records] if pending else []
        if rows:
            session.execute(statement, rows)


def _membership_moves(session: Session) -> list[tuple[int, tuple | None, tuple | None]]:
    """``(user_id, (team_id, unit_id) before, after)`` of the memberships this flush adds,
    deletes or moves to another team or sub-unit (None: no membership).

    Each person's row is locked first (in id order): a confirmation of theirs holds it
    (``minutes_served``) until it commits, and so does another change of their memberships; so
    the old place and the totals read next are the committed ones, and a confirmation that
    follows reads the memberships as this flush leaves them."""
    changed = [membership for membership in (*session.new, *session.deleted, *session.dirty)
               if isinstance(membership, TeamMembership) and membership.user_id is not None
               and (membership not in session.dirty or session.is_modified(membership, include_collections=False))]
    if not changed:
        return []
    users, table = User.__table__, TeamMembership.__table__
    session.connection().execute(select(users.c.id).where(users.c.id.in_({m.user_id for m in changed}))
                                 .order_by(users.c.id).with_for_update())
    moves = []
    for membership in changed:
        before = None
        if membership.id is not None:
            row = session.connection().execute(select(table.c.team_id, table.c.unit_id)
                                               .where(table.c.id == membership.id)).first()
            before = (row[0], row[1] or 0) if row else None
        after = None if membership in session.deleted else (membership.team_id, membership.unit_id or 0)
        if before != after:
            moves.append((membership.user_id, before, after))
    return moves


@event.listens_for(OrmSession, "before_flush")
def _before_flush(session, _context, _instances) -> None:
    """A member who joins, leaves or moves sub-unit takes their day totals along."""
    moves = _membership_moves(session)
    if not moves:
        return
    teams = _pending(session, _PENDING_TEAMS)
    for user_id, before, after in moves:
        days_ = session.connection().execute(
            select(ServiceDayTotal.day, func.sum(ServiceDayTotal.minutes), func.sum(ServiceDayTotal.records))
            .where(ServiceDayTotal.user_id == user_id).group_by(ServiceDayTotal.day)).all()
        for day, minutes, records in days_:
            for place, sign in ((before, -1), (after, 1)):
                if place is not None:
                    teams[(*place, day)][0] += sign * int(minutes or 0)
                    teams[(*place, day)][1] += sign * int(records or 0)


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session) -> None:
    # The commit's own flush comes after this event: flushed now, a membership change it holds
    # adds its moves to what is written below (the commit then finds nothing left to flush).
    session.flush()
    if session.info.get(_PENDING) or session.info.get(_PENDING_TEAMS):
        write_pending(session)


@event.listens_for(OrmSession, "after_soft_rollback")
def _after_rollback(session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint or a failed flush within: the transaction's totals stand
        return
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_TEAMS, None)


def days(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None]:
    """The station-local days ``[first, stop)`` that hold ``[start, end)``: a report's period is
    whole days; the dashboard's "up to now" takes the whole of today (no confirmed service
    starts later than now)."""
    first = local(start).date() if start is not None else None
    stop = None
    if end is not None:
        end_local = local(end)
        stop = end_local.date() + (timedelta(days=1) if end_local.time() != time(0) else timedelta(0))
    return first, stop


def _days(stmt, model, start: datetime | None, end: datetime | None):
    first, stop = days(start, end)
    if first is not None:
        stmt = stmt.where(model.day >= first)
    if stop is not None:
        stmt = stmt.where(model.day < stop)
    return stmt


def _summed(session: Session, columns, user_ids, start, end, *, station_id: int | None = None):
    """``columns`` over the day totals of the people (``user_ids``, a list or a subquery) or, with
    ``station_id``, of the whole station."""
    if station_id is not None:
        write_pending(session)
        return _days(select(*columns(ServiceStationDay)).where(ServiceStationDay.station_id == station_id),
                     ServiceStationDay, start, end)
    return _days(select(*columns(ServiceDayTotal)).where(ServiceDayTotal.user_id.in_(user_ids)),
                 ServiceDayTotal, start, end)


def minutes_by_user(session: Session, user_ids, start: datetime | None, end: datetime | None
                    ) -> list[tuple[int, int]]:
    """``(user_id, minutes)`` of confirmed service that started in ``[start, end)`` (either bound
    may be None), for the given user ids (a list or a subquery)."""
    rows = session.execute(_summed(session, lambda t: (t.user_id, func.sum(t.minutes)), user_ids, start, end)
                           .group_by(ServiceDayTotal.user_id)).all()
    return [(user_id, int(total or 0)) for user_id, total in rows]


def team_minutes(session: Session, team_ids: list[int], first: date, last: date, *, unit_id: int | None = None
                 ) -> dict[int, int]:
    """``{team_id: minutes}`` served from ``first`` to ``last`` (station-local days, inclusive) by
    the teams' members as they are now, or by the members of the sub-unit ``unit_id``."""
    write_pending(session)
    stmt = (select(ServiceTeamDay.team_id, func.sum(ServiceTeamDay.minutes))
            .where(ServiceTeamDay.team_id.in_(team_ids or [-1]), ServiceTeamDay.day >= first, ServiceTeamDay.day <= last)
            .group_by(ServiceTeamDay.team_id))
    if unit_id is not None:
        stmt = stmt.where(ServiceTeamDay.unit_id == unit_id)
    return {team_id: int(minutes or 0) for team_id, minutes in session.execute(stmt)}


def person_minutes(user_column, start: datetime | None, end: datetime | None):
    """A scalar subquery of the minutes served by the person ``user_column`` names (a column of
    the enclosing query) in ``[start, end)``: one range of that person's day totals."""
    return (_days(select(func.coalesce(func.sum(ServiceDayTotal.minutes), 0))
                  .where(ServiceDayTotal.user_id == user_column), ServiceDayTotal, start, end)
            .scalar_subquery())


def total_minutes_since(session: Session, user_ids, starts: list[datetime], end: datetime, *,
                        station_id: int | None = None) -> list[int]:
    """Minutes served by all of ``user_ids`` together, or by the whole station ``station_id``,
    from each of ``starts`` to ``end`` (see :func:`minutes_by_user`), in one query."""
    firsts = [days(start, None)[0] for start in starts]
    row = session.execute(_summed(session, lambda t: [func.coalesce(func.sum(t.minutes).filter(t.day >= first), 0)
                                                      for first in firsts],
                                  user_ids, min(starts), end, station_id=station_id)).one()
    return [int(value or 0) for value in row]


def minutes_by_kind(session: Session, user_ids, start: datetime | None, end: datetime | None, *,
                    station_id: int | None = None) -> list[tuple[str, int, int]]:
    """``(kind, minutes, records)`` of confirmed service, most minutes first (of ``user_ids``, or
    of the whole station ``station_id``)."""
    def columns(t):
        return t.kind, func.sum(t.minutes), func.sum(t.records)
    stmt = _summed(session, columns, user_ids, start, end, station_id=station_id)
    rows = session.execute(stmt.group_by(stmt.selected_columns[0])).all()
    return sorted(((kind, int(minutes or 0), int(count or 0)) for kind, minutes, count in rows if count),
                  key=lambda row: (-row[1], row[0]))


def _local_day(session: Session, column):
    """SQL for the station-local day of a UTC ``column``, or None where the database cannot say
    it (SQLite, in a zone whose offset changes over the year)."""
    tz = station_tz()
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(tz.key, column))
    offsets = {tz.utcoffset(datetime(year, month, 1)) for year in (2000, 2026) for month in (1, 7)}
    if len(offsets) == 1:
        return func.date(column, f"{int(offsets.pop().total_seconds() // 60):+d} minutes")
    return None


def _differences(session: Session, left, right) -> list[tuple]:
    """Rows of either select that the other lacks (both are (key..., minutes, records))."""
    left, right = select(left.subquery()), select(right.subquery())
    only_left, only_right = except_(left, right).subquery(), except_(right, left).subquery()
    return [tuple(row) for row in session.execute(union_all(select(only_left), select(only_right)))]


def _records_by_day(session: Session, day):
    """The confirmed records summed as the person totals are: (user, day, kind, minutes, records)."""
    return (select(ServiceRecord.user_id, day, ServiceRecord.kind, func.sum(ServiceRecord.minutes), func.count())
            .where(ServiceRecord.status == "confirmed").group_by(ServiceRecord.user_id, day, ServiceRecord.kind))


def _person_rows(session: Session):
    return select(ServiceDayTotal.user_id, ServiceDayTotal.day, ServiceDayTotal.kind, ServiceDayTotal.minutes,
                  ServiceDayTotal.records).where(or_(ServiceDayTotal.minutes != 0, ServiceDayTotal.records != 0))


def _records_in_python(session: Session) -> set[tuple]:
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, kind, started_at, minutes in session.execute(
            select(ServiceRecord.user_id, ServiceRecord.kind, ServiceRecord.started_at, ServiceRecord.minutes)
            .where(ServiceRecord.status == "confirmed")):
        totals = sums[(user_id, local(started_at).date(), kind)]
        totals[0] += minutes
        totals[1] += 1
    return {(*key, minutes, records) for key, (minutes, records) in sums.items()}


def check(session: Session) -> list[str]:
    """The person totals equal the confirmed records they sum, and the station and team totals
    equal their people's (compared in the database; only differences come back)."""
    write_pending(session)
    day = _local_day(session, ServiceRecord.started_at)
    if day is not None:
        people = _differences(session, _records_by_day(session, day), _person_rows(session))
    else:
        kept = {(user_id, on, kind, minutes, records) for user_id, on, kind, minutes, records
                in session.execute(_person_rows(session))}
        people = list(kept ^ _records_in_python(session))
    stations = _differences(
        session,
        select(ServiceStationDay.station_id, ServiceStationDay.day, ServiceStationDay.kind, ServiceStationDay.minutes,
               ServiceStationDay.records).where(or_(ServiceStationDay.minutes != 0, ServiceStationDay.records != 0)),
        select(ServiceDayTotal.station_id, ServiceDayTotal.day, ServiceDayTotal.kind, func.sum(ServiceDayTotal.minutes),
               func.sum(ServiceDayTotal.records))
        .group_by(ServiceDayTotal.station_id, ServiceDayTotal.day, ServiceDayTotal.kind)
        .having(or_(func.sum(ServiceDayTotal.minutes) != 0, func.sum(ServiceDayTotal.records) != 0)))
    unit = func.coalesce(TeamMembership.unit_id, 0)
    teams = _differences(
        session,
        select(ServiceTeamDay.team_id, ServiceTeamDay.unit_id, ServiceTeamDay.day, ServiceTeamDay.minutes,
               ServiceTeamDay.records).where(or_(ServiceTeamDay.minutes != 0, ServiceTeamDay.records != 0)),
        select(TeamMembership.team_id, unit, ServiceDayTotal.day, func.sum(ServiceDayTotal.minutes),
               func.sum(ServiceDayTotal.records))
        .join(ServiceDayTotal, ServiceDayTotal.user_id == TeamMembership.user_id)
        .group_by(TeamMembership.team_id, unit, ServiceDayTotal.day)
        .having(or_(func.sum(ServiceDayTotal.minutes) != 0, func.sum(ServiceDayTotal.records) != 0)))
    return ([f"service day totals (person): records and totals differ at {row}" for row in sorted(people, key=str)]
            + [f"service day totals (station): station and people differ at {row}" for row in sorted(stations, key=str)]
            + [f"service day totals (team): team and members differ at {row}" for row in sorted(teams, key=str)])


def completed_shifts(session: Session, user_ids, start: datetime, end: datetime) -> int:
    """How many shifts that started in ``[start, end)`` ``user_ids`` completed."""
    return int(session.execute(
        select(func.count(ShiftSignup.id)).select_from(ShiftSignup).join(Shift, Shift.id == ShiftSignup.shift_id)
        .where(ShiftSignup.user_id.in_(user_ids), ShiftSignup.completed_at.is_not(None),
               Shift.starts_at >= start, Shift.starts_at < end)).scalar_one())
