"""Points that lapse (``POINTS_EXPIRE``): the sweep that lapses them, the notices 30 and 7 days
before, and what lapses soon (``expiring``).

The lots and their rules live in :mod:`ledger`; a spending lapses a person's overdue lots itself,
so the sweep is what empties the lots of people who spend nothing. It works person by person,
each under their row lock, in batches of its own transactions: two sweeps in parallel (two
instances) lapse every lot once, and a second sweep adds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, literal
from sqlmodel import Session, select

from .. import db
from ..models import Notice, PointsLot, User
from ..timeutil import utcnow
from . import ledger, notices, vouchers

#: ``expiring`` shows what lapses within this many days.
EXPIRING_DAYS = 60
#: Notices go this many days before points lapse (the nearer one alone when the first was missed).
NOTICE_DAYS = (30, 7)
BATCH = 500


@dataclass
class SweepResult:
    entries: int = 0
    points: int = 0
    notices: int = 0
    vouchers: int = 0

    def __add__(self, other: "SweepResult") -> "SweepResult":
        return SweepResult(self.entries + other.entries, self.points + other.points,
                           self.notices + other.notices, self.vouchers + other.vouchers)


def expiring(session: Session, user_id: int, now: datetime | None = None) -> list[dict]:
    """What lapses in the next ``EXPIRING_DAYS`` days: ``[{"points", "on"}]``, soonest first
    (``on``: the last day the points count)."""
    day = ledger.today(now)
    rows = session.exec(
        select(PointsLot.expires_on, func.sum(PointsLot.remaining))
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0, PointsLot.expires_on >= day,
               PointsLot.expires_on <= day + timedelta(days=EXPIRING_DAYS))
        .group_by(PointsLot.expires_on).order_by(PointsLot.expires_on)).all()
    return [{"points": int(points), "on": on} for on, points in rows]


def _notice_key(days: int):
    return (literal(f"points_expiry:{days}:").concat(cast(PointsLot.user_id, String)).concat(":")
            .concat(cast(PointsLot.expires_on, String)))


def send_notices(session: Session, first_id: int, last_id: int, now: datetime | None = None,
                 station_id: int | None = None) -> int:
    """The notices of points lapsing within 30 or 7 days for the people with ids ``first_id`` to
    ``last_id``, each sent once (one per person, day and distance; a parallel sweep's twin is
    skipped). Returns how many were sent."""
    now = now or utcnow()
    day = ledger.today(now)
    due, low = [], day
    where = () if station_id is None else (PointsLot.station_id == station_id,)
    for days in sorted(NOTICE_DAYS):
        key = _notice_key(days)
        due += session.exec(
            select(PointsLot.user_id, PointsLot.expires_on, func.sum(PointsLot.remaining), key)
            .where(*where, PointsLot.user_id.between(first_id, last_id), PointsLot.remaining > 0, PointsLot.expires_on >= low,
                   PointsLot.expires_on <= day + timedelta(days=days),
                   ~select(Notice.id).where(Notice.dedupe_key == key).exists())
            .group_by(PointsLot.user_id, PointsLot.expires_on)).all()
        low = day + timedelta(days=days + 1)
    return notices.notify_once_each(session, [
        (user_id, "points_expiry", _l("Points about to lapse"),
         _l("%(points)s points lapse after %(day)s. Spend them at the points store.", points=points,
            day=on.strftime("%m-%d")), "/store", dedupe_key) for user_id, on, points, dedupe_key in due], now=now)


def sweep(engine, *, now: datetime | None = None, batch: int = BATCH, station_id: int | None = None) -> SweepResult:
    """Lapse the vouchers not used in time (their points given back first, to their lots), then,
    ``batch`` people (by id) per transaction, every lot past its day, and send the notices due.
    ``station_id``: that station's only, by its day (the caller uses its settings)."""
    now = now or utcnow()
    result = SweepResult()
    with db.unit_of_work(engine) as session:
        result.vouchers = vouchers.lapse_unused(session, station_id=station_id, now=now)
    with db.unit_of_work(engine, write=False) as session:
        last_of = (select(func.max(PointsLot.user_id)) if station_id is None  # a station's people: by its index
                   else select(func.max(User.id)).where(User.station_id == station_id))
        last = session.exec(last_of).one() or 0
    for first in range(1, last + 1, batch):
        with db.unit_of_work(engine) as session:
            entries, points = ledger.lapse_due(session, first, first + batch - 1, now, station_id)
            result.notices += send_notices(session, first, first + batch - 1, now, station_id)
        result.entries += entries
        result.points += points
    return result
