"""The county's view over its stations: per station, members, those active in the last 30
days, check-ins, hours served, points issued and redeemed, and tips by level.

Sums come from ``station_days`` (kept by the writes, ``ledger.tally``), ``service_station_days``
(the minutes of confirmed service, ``hours.py``) and ``users.last_active_on``,
so a summary reads a few rows a station and day, never the ledger or the check-ins;
:func:`rebuild` recomputes both from the rows themselves (after an upgrade, or to check).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from ..errors import FieldError
from ..models import Checkin, Event, LedgerEntry, PublicityReport, ServiceStationDay, Station, StationDay, Tip, User
from ..timeutil import local, local_midnight, utcnow
from . import stations

ACTIVE_DAYS = 30
MAX_DAYS = 3 * 366


@dataclass
class Period:
    since: date
    until: date  # inclusive


def period(since: date | None, until: date | None, *, today: date | None = None) -> Period:
    """``since`` .. ``until`` (station days, inclusive); by default this month so far."""
    today = today or local(utcnow()).date()
    until = until or today
    since = since or until.replace(day=1)
    if since > until:
        raise FieldError("since", _l("The start lies after the end."))
    if (until - since).days > MAX_DAYS:
        raise FieldError("since", _l("At most three years at once."))
    return Period(since, until)


def summary(session: Session, actor: User, p: Period, *, station_id: int | None = None) -> list[dict]:
    """One row per station (or only ``station_id``), for a county_admin."""
    stations.require_county_admin(actor)
    stmt = select(Station).order_by(Station.id)
    if station_id is not None:
        stmt = stmt.where(Station.id == stations.get_station(session, actor, station_id).id)
    rows = list(session.exec(stmt))
    ids = [row.id for row in rows]
    if not ids:
        return []
    sums = {row[0]: row[1:] for row in session.exec(
        select(StationDay.station_id, func.sum(StationDay.checkins),
               func.sum(StationDay.points_issued), func.sum(StationDay.points_redeemed))
        .where(StationDay.station_id.in_(ids), StationDay.day >= p.since, StationDay.day <= p.until)
        .group_by(StationDay.station_id))}
    minutes = dict(session.exec(
        select(ServiceStationDay.station_id, func.sum(ServiceStationDay.minutes))
        .where(ServiceStationDay.station_id.in_(ids), ServiceStationDay.day >= p.since,
               ServiceStationDay.day <= p.until)
        .group_by(ServiceStationDay.station_id)).all())
    # Index-only counts: everyone, less the few not active (a partial index); active: whoever
    # checked in within the last 30 days (a range of ix_users_station_active).
    everyone = dict(session.exec(select(User.station_id, func.count()).where(
        User.station_id.in_(ids)).group_by(User.station_id)).all())
    unlisted = dict(session.exec(select(User.station_id, func.count()).where(
        User.station_id.in_(ids), User.status != "active").group_by(User.station_id)).all())
    members = {sid: count - unlisted.get(sid, 0) for sid, count in everyone.items()}
    since_active = local(utcnow()).date() - timedelta(days=ACTIVE_DAYS - 1)
    active = dict(session.exec(select(User.station_id, func.count()).where(
        User.station_id.in_(ids), User.last_active_on >= since_active).group_by(User.station_id)).all())
    start, end = local_midnight(p.since), local_midnight(p.until + timedelta(days=1))
    tips: dict[int, dict[str, int]] = defaultdict(lambda: {"red": 0, "yellow": 0, "blue": 0, "open_overdue": 0})
    for sid, level, count in session.exec(select(Tip.station_id, Tip.level, func.count()).where(
            Tip.station_id.in_(ids), Tip.created_at >= start, Tip.created_at < end, Tip.level.is_not(None))
            .group_by(Tip.station_id, Tip.level)):
        tips[sid][level] = count
    for sid, count in session.exec(select(Tip.station_id, func.count()).where(
            Tip.station_id.in_(ids), Tip.status.not_in(("closed", "rejected")), Tip.due_at.is_not(None),
            Tip.due_at < utcnow()).group_by(Tip.station_id)):
        tips[sid]["open_overdue"] = count
    sessions = dict(session.exec(select(Event.station_id, func.count(Event.id)).where(
        Event.station_id.in_(ids), Event.service_kind == "publicity", Event.starts_at >= start,
        Event.starts_at < end).group_by(Event.station_id)).all())
    reached = dict(session.exec(select(PublicityReport.station_id, func.sum(PublicityReport.audience))
                                .join(Event, Event.id == PublicityReport.event_id)
                                .where(PublicityReport.station_id.in_(ids), Event.starts_at >= start,
                                       Event.starts_at < end).group_by(PublicityReport.station_id)).all())
    out = []
    for row in rows:
        checkins, issued, redeemed = (int(value or 0) for value in sums.get(row.id, (0, 0, 0)))
        out.append({"station_id": row.id, "name": row.name, "short_name": row.short_name,
                    "volunteers": members.get(row.id, 0), "active_volunteers": active.get(row.id, 0),
                    "checkins": checkins, "hours_served": round(int(minutes.get(row.id) or 0) / 60, 1), "points_issued": issued,
                    "points_redeemed": redeemed, "tips": dict(tips[row.id]),
                    "publicity": {"sessions": int(sessions.get(row.id, 0)),
                                  "people_reached": int(reached.get(row.id) or 0)}})
    return out


def rebuild(session: Session) -> int:
    """Recompute ``station_days`` and ``users.last_active_on`` from the check-ins and ledger
    entries (days in the station-time of the settings); the number of station days written.
    (The minutes of service have their own totals, checked by ``volunteer-app check``.)"""
    days: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    last: dict[int, date] = {}
    for station_id, user_id, at in session.exec(
            select(User.station_id, Checkin.user_id, Checkin.created_at).join(User, User.id == Checkin.user_id)
            .where(Checkin.direction == "in").execution_options(yield_per=10_000)):
        day = local(at).date()
        days[(station_id, day)][0] += 1
        last[user_id] = max(last.get(user_id, day), day)
    for station_id, at, amount, kind, earned in session.exec(
            select(User.station_id, LedgerEntry.created_at, LedgerEntry.amount, LedgerEntry.kind, LedgerEntry.earned)
            .join(User, User.id == LedgerEntry.user_id).execution_options(yield_per=10_000)):
        row = days[(station_id, local(at).date())]
        if earned:
            row[1] += amount
        elif kind in ("redemption", "refund"):
            row[2] -= amount
        elif kind == "expiry":
            row[3] -= amount
    session.exec(delete(StationDay))
    session.add_all([StationDay(station_id=sid, day=day, checkins=c, points_issued=i, points_redeemed=r,
                               points_lapsed=lapsed) for (sid, day), (c, i, r, lapsed) in days.items()])
    session.exec(update(User).values(last_active_on=None))
    for user_id, day in last.items():
        session.exec(update(User).where(User.id == user_id).values(last_active_on=day))
    session.flush()
    return len(days)


def rebuild_if_missing(session: Session) -> bool:
    """After the upgrade that brought the summary tables to a database with history: fill
    them once (``init-db``); nothing when they already hold rows or there is nothing to sum."""
    if session.exec(select(StationDay.station_id).limit(1)).first() is not None:
        return False
    if session.exec(select(LedgerEntry.id).limit(1)).first() is None and \
            session.exec(select(Checkin.id).limit(1)).first() is None:
        return False
    rebuild(session)
    return True
