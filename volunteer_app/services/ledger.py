"""The points ledger: every point movement is one append-only entry.

The cached ``users.balance`` and ``users.lifetime_points`` move in the same transaction as the
entry, through one conditional UPDATE (``... WHERE balance + :amount >= 0``) whose row count
says whether a debit fits; it is race-free on SQLite and PostgreSQL alike. Each entry's
``ref`` (its source, e.g. ``checkin:42``) is unique, so an award can never happen twice.

Points may lapse (``POINTS_EXPIRE``). A credit earned under a rule that lapses makes a lot
(:class:`PointsLot`) whose last day is decided then; points that never lapse (earned under
``never``, refunds of spendings that drew on them) are the rest of the balance, in no lot. A
debit draws first from the lots that lapse soonest, after lapsing those already past their day
(``expiry`` entries), then from the rest; a refund gives back to the lots its spending drew from
(:class:`LotDraw`), and what falls into a lapsed lot lapses at once. So the points in lots never
exceed the balance, and a balance is its lots plus the points that never lapse. A debit's caller
holds the user's lock (:func:`lock_user`), as every spending does.
"""
from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, Integer, bindparam, func, insert, literal, text, true, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from .. import db, settings
from ..config import parse_points_expire
from ..errors import DomainError, FieldError
from ..models import EARNING_KINDS, LEDGER_KINDS, LedgerEntry, LotDraw, PointsLot, PointsTotal, StationDay, User
from ..timeutil import PERIODS, local, local_midnight, period_starts, utcnow
from . import access, audit


def lock_user(session: Session, user_id: int) -> User:
    """Load a user and hold their row until commit (PostgreSQL ``FOR UPDATE``; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers). Everything that reads then writes one
    person's points, check-ins or sign-ups takes this lock first."""
    user = session.exec(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if user is None:
        raise DomainError("not_found", _l("No such user."))
    return user


def is_earning(kind: str, amount: int) -> bool:
    return kind in EARNING_KINDS or (kind == "adjustment" and amount > 0)


_users, _entries, _totals, _days = User.__table__, LedgerEntry.__table__, PointsTotal.__table__, StationDay.__table__
#: The balance move: applied only while the balance stays at zero or above (no row: it does not fit).
_MOVE = db.Prepared(
    update(_users)
    .where(_users.c.id == bindparam("move_user"), _users.c.balance + bindparam("move_amount") >= 0)
    .values(balance=_users.c.balance + bindparam("move_amount"),
            lifetime_points=_users.c.lifetime_points + bindparam("move_earned"))
    .returning(_users.c.balance, _users.c.lifetime_points, _users.c.station_id)
)
_ENTRY_FIELDS = ("user_id", "amount", "kind", "ref", "reason", "earned", "actor_id", "created_at")


def _move_and_record():
    """PostgreSQL: the balance move, its entry and the period totals in one round trip
    (data-modifying CTEs); no row when the move does not fit, and then nothing is written.
    ``totals_points`` (the earned amount, else 0) goes to the person's day, week, month and
    year totals (``totals_<period>``: each period's first day), as :func:`_add_to_totals` does
    elsewhere."""
    moved = _MOVE.statement.cte("moved")
    fields = [bindparam(f"entry_{name}", type_=_entries.c[name].type).label(name) for name in _ENTRY_FIELDS]
    entry = (insert(_entries)
             .from_select([*_ENTRY_FIELDS, "balance_after"], select(*fields, moved.c.balance).select_from(moved))
             .returning(_entries.c.id).cte("entry"))
    periods = union_all(*[select(literal(period).label("period"),
                                 bindparam(f"totals_{period}", type_=Date).label("period_start"))
                          for period in PERIODS]).subquery("periods")
    points = bindparam("totals_points", type_=Integer)
    rows = pg_insert(_totals).from_select(
        ["period", "period_start", "user_id", "station_id", "points"],
        select(periods.c.period, periods.c.period_start, bindparam("move_user", type_=Integer), moved.c.station_id,
               points).select_from(moved.join(periods, true())).where(points != 0))
    totals = rows.on_conflict_do_update(index_elements=["period", "period_start", "user_id"],
                                        set_={"points": _totals.c.points + rows.excluded.points}).cte("totals")
    counted = ("checkins", "points_issued", "points_redeemed", "points_lapsed")
    day_rows = pg_insert(_days).from_select(
        ["station_id", "day", *counted],
        select(moved.c.station_id, bindparam("tally_day", type_=Date),
               *[bindparam(f"tally_{name}", type_=Integer) for name in counted])
        .select_from(moved).where(bindparam("tally_on", type_=Boolean)))
    days = day_rows.on_conflict_do_update(
        index_elements=["station_id", "day"],
        set_={name: _days.c[name] + day_rows.excluded[name] for name in counted}).cte("days")
    return (select(entry.c.id, moved.c.balance, moved.c.lifetime_points, moved.c.station_id)
            .select_from(entry.join(moved, true())).add_cte(totals, days))  # one row each


_MOVE_AND_RECORD = db.Prepared(_move_and_record())


def post(session: Session, user_id: int, amount: int, kind: str, ref: str, *, reason: str = "",
         actor_id: int | None = None, now: datetime | None = None, refunds: str | None = None,
         _lots: list[tuple[int, int]] | None = None, checkins: int = 0) -> LedgerEntry:
    """Move ``amount`` points (signed) for a user; refuse with ``insufficient_points`` when the
    balance (of points not lapsed) would fall below zero. ``refunds``: the ref of the spending
    a refund gives back (to the lots it drew from).

    The statements are ``db.Prepared`` (this runs on every check-in and redemption): on PostgreSQL
    the move, the entry and the period totals are one statement; elsewhere they are three
    (two for a spending). A spending first reads the person's lots (and writes what it drew from
    them, if any); an earning under a rule that lapses writes its lot. The user's object in the
    session, when loaded, gets the new balance without another round trip. The station's day
    (``station_days``) gets the points earned or spent, and ``checkins`` (the check-in that
    earned them), in the same statement on PostgreSQL."""
    if kind not in LEDGER_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValueError("points are whole numbers")
    earned = is_earning(kind, amount)
    now = now or utcnow()
    session.flush()  # the caller's pending rows first, as an ORM statement would
    draws = (_lots if _lots is not None else _spend_plan(session, user_id, -amount, now)) if amount < 0 else None
    move = {"move_user": user_id, "move_amount": amount, "move_earned": amount if earned else 0}
    values = {"user_id": user_id, "amount": amount, "kind": kind, "ref": ref, "reason": reason[:500], "earned": earned,
             "actor_id": actor_id, "created_at": now}
    totals_points = amount if earned else 0
    redeemed = -amount if kind in SPENDING_KINDS else 0
    lapsed = -amount if kind == "expiry" else 0
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    if on_postgresql:
        starts = period_starts(now)
        row = _MOVE_AND_RECORD.first(session, {
            **move, **{f"entry_{name}": values[name] for name in _ENTRY_FIELDS}, "totals_points": totals_points,
            **{f"totals_{period}": start for period, start in starts.items()},
            "tally_on": bool(totals_points or redeemed or lapsed or checkins), "tally_day": starts["day"],
            "tally_checkins": checkins, "tally_points_issued": totals_points, "tally_points_redeemed": redeemed,
            "tally_points_lapsed": lapsed})
        if row is not None:
            values["id"], row = row[0], row[1:]
    else:
        row = _MOVE.first(session, move)
    if row is None:
        if session.get(User, user_id) is None:
            raise DomainError("not_found", _l("No such user."))
        raise DomainError("insufficient_points", _l("Not enough points."))
    balance, lifetime, station_id = row
    user = session.identity_map.get(identity_key(User, user_id))
    if user is not None:
        set_committed_value(user, "balance", balance)
        set_committed_value(user, "lifetime_points", lifetime)
    values["balance_after"] = balance
    entry = db.written(session, LedgerEntry, values) if "id" in values else db.insert_row(session, LedgerEntry, values)
    if totals_points and not on_postgresql:
        _add_to_totals(session, user_id, station_id, totals_points, now)
    if not on_postgresql and (totals_points or redeemed or lapsed or checkins):
        tally(session, station_id, now, checkins=checkins, points_issued=totals_points, points_redeemed=redeemed,
              points_lapsed=lapsed)
    if draws:
        _draw(session, entry.id, draws)
    elif refunds:
        _give_back(session, entry, refunds, now)
    elif amount > 0 and (last_day := expires_on(now)) is not None:
        _NEW_LOT.all(session, {"station_id": station_id, "user_id": user_id, "entry_id": entry.id, "amount": amount,
                               "remaining": amount, "expires_on": last_day, "created_at": now})
    return entry


# -- lots: points that lapse ------------------------------------------------------------------------

def expires_on(earned_at: datetime) -> date | None:
    """The last station-local day points earned at ``earned_at`` count, by the rule in force
    now (``POINTS_EXPIRE``); None: they never lapse."""
    rule, number = parse_points_expire(settings.setting("POINTS_EXPIRE"))
    if rule == "never":
        return None
    day = local(earned_at).date()
    if rule == "year_end":
        return date(day.year + number, 12, 31)
    return add_months(day, number)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


_lots, _draws = PointsLot.__table__, LotDraw.__table__
_NEW_LOT = db.Prepared(insert(_lots).values(
    {name: bindparam(name, type_=_lots.c[name].type)
     for name in ("station_id", "user_id", "entry_id", "amount", "remaining", "expires_on", "created_at")}))
#: A user's lots with points left, those lapsing soonest first.
_OPEN_LOTS = db.Prepared(
    select(_lots.c.id, _lots.c.remaining, _lots.c.expires_on)
    .where(_lots.c.user_id == bindparam("lot_user"), _lots.c.remaining > 0)
    .order_by(_lots.c.expires_on, _lots.c.id))
_TAKE = (update(_lots).where(_lots.c.id == bindparam("lot"), _lots.c.remaining >= bindparam("points"),
                             _lots.c.remaining - bindparam("points") <= _lots.c.amount)
         .values(remaining=_lots.c.remaining - bindparam("points")))


def today(now: datetime | None = None) -> date:
    return local(now or utcnow()).date()


def _spend_plan(session: Session, user_id: int, points: int, now: datetime) -> list[tuple[int, int]]:
    """Which lots a spending of ``points`` draws from, soonest lapsing first (the rest comes from
    the points that never lapse, as far as the balance goes); lots already past their day lapse
    first, so that lapsed points are never spent."""
    day = today(now)
    lots = _OPEN_LOTS.all(session, {"lot_user": user_id})
    lapse(session, user_id, [lot for lot in lots if lot[2] < day], now)
    plan, left = [], points
    for lot_id, remaining, _last_day in (lot for lot in lots if lot[2] >= day):
        if left == 0:
            break
        taken = min(remaining, left)
        plan.append((lot_id, taken))
        left -= taken
    return plan


def lapse(session: Session, user_id: int, due: list[tuple], now: datetime) -> list[LedgerEntry]:
    """Lapse the points left in ``due`` (``(lot id, remaining, last day)`` of lots past their
    day): one ``expiry`` entry per last day, ``expiry:<user>:<day>``. The caller holds the
    user's lock."""
    by_day: dict[date, list[tuple[int, int]]] = {}
    for lot_id, remaining, lapses in due:
        if remaining > 0:
            by_day.setdefault(lapses, []).append((lot_id, remaining))
    return [post(session, user_id, -sum(points for _lot, points in lots), "expiry",
                 f"expiry:{user_id}:{lapses.isoformat()}", reason=lapses.isoformat(), now=now, _lots=lots)
            for lapses, lots in sorted(by_day.items())]


def lapse_due(session: Session, first_id: int, last_id: int, now: datetime,
              station_id: int | None = None) -> tuple[int, int]:
    """The sweep's batch: lapse every lot past its day of the people with ids ``first_id`` to
    ``last_id`` at once, as :func:`lapse` does one by one (their rows locked first; one
    ``expiry`` entry per person and day), in a few statements for the whole batch. Returns
    (entries written, points lapsed). ``station_id``: that station's lots only (its day)."""
    day = today(now)
    in_batch = (_lots.c.user_id.between(first_id, last_id), _lots.c.remaining > 0, _lots.c.expires_on < day)
    if station_id is not None:
        in_batch += (_lots.c.station_id == station_id,)
    user_ids = session.execute(select(_lots.c.user_id).where(*in_batch).distinct()).scalars().all()
    if not user_ids:
        return 0, 0
    balances = dict(session.execute(select(_users.c.id, _users.c.balance).where(_users.c.id.in_(user_ids))
                                    .order_by(_users.c.id).with_for_update()).all())
    due = session.execute(  # again, now that the people are locked
        select(_lots.c.id, _lots.c.user_id, _lots.c.remaining, _lots.c.expires_on, _lots.c.station_id)
        .where(*in_batch).order_by(_lots.c.user_id, _lots.c.expires_on, _lots.c.id)).all()
    groups: dict[tuple[int, date], list[tuple[int, int]]] = {}
    by_station: dict[int, int] = {}
    for lot_id, user_id, remaining, last_day, station_id in due:
        groups.setdefault((user_id, last_day), []).append((lot_id, remaining))
        by_station[station_id] = by_station.get(station_id, 0) + remaining
    if not groups:
        return 0, 0
    rows, lapsed = [], {}
    for (user_id, last_day), lots in groups.items():  # in user and day order, as selected
        points = sum(remaining for _lot, remaining in lots)
        balances[user_id] -= points
        lapsed[user_id] = lapsed.get(user_id, 0) + points
        rows.append({"user_id": user_id, "amount": -points, "kind": "expiry", "ref": f"expiry:{user_id}:{last_day}",
                     "reason": last_day.isoformat(), "earned": False, "actor_id": None, "created_at": now,
                     "balance_after": balances[user_id]})
    if any(balance < 0 for balance in balances.values()):  # the lots never exceed the balance
        raise DomainError("insufficient_points", _l("Not enough points."))
    ids = session.execute(insert(_entries).returning(_entries.c.id, sort_by_parameter_order=True), rows).scalars().all()
    session.execute(update(_users).where(_users.c.id == bindparam("lapsing_user"))
                    .values(balance=_users.c.balance - bindparam("lapsing_points")),
                    [{"lapsing_user": user_id, "lapsing_points": points} for user_id, points in lapsed.items()])
    draws = [(entry_id, lot_id, points) for entry_id, lots in zip(ids, groups.values()) for lot_id, points in lots]
    result = session.execute(_TAKE, [{"lot": lot_id, "points": points} for _entry, lot_id, points in draws])
    if result.rowcount != len(draws):
        raise DomainError("insufficient_points", _l("Not enough points."))
    session.execute(insert(_draws), [{"lot_id": lot_id, "entry_id": entry_id, "points": points}
                                     for entry_id, lot_id, points in draws])
    for station_id in sorted(by_station):
        tally(session, station_id, now, points_lapsed=by_station[station_id])
    return len(rows), sum(lapsed.values())


def _draw(session: Session, entry_id: int, draws: list[tuple[int, int]]) -> None:
    """Record what an entry took from (points > 0) or gave back to (< 0) each lot."""
    if not draws:
        return
    result = session.execute(_TAKE, [{"lot": lot_id, "points": points} for lot_id, points in draws])
    if result.rowcount != len(draws):  # only when a debit's caller did not hold the user's lock
        raise DomainError("insufficient_points", _l("Not enough points."))
    session.execute(insert(_draws), [{"lot_id": lot_id, "entry_id": entry_id, "points": points}
                                     for lot_id, points in draws])


def _give_back(session: Session, entry: LedgerEntry, refunds: str, now: datetime) -> None:
    """A refund returns its points to the lots the refunded entry drew from (those lapsing last
    first); the rest joins the points that never lapse. What returns to a lot past its day
    lapses at once, as its own entry (``expiry:<refund's ref>``)."""
    source = find(session, refunds)
    drawn = [] if source is None else session.execute(
        select(_draws.c.lot_id, func.sum(_draws.c.points), _lots.c.expires_on)
        .join(_lots, _lots.c.id == _draws.c.lot_id).where(_draws.c.entry_id == source.id)
        .group_by(_draws.c.lot_id, _lots.c.expires_on)
        .order_by(_lots.c.expires_on.desc(), _draws.c.lot_id.desc())).all()
    back, left = [], entry.amount
    for lot_id, points, last_day in drawn:
        given = min(points, left)
        if given > 0:
            back.append((lot_id, given, last_day))
            left -= given
    _draw(session, entry.id, [(lot_id, -points) for lot_id, points, _last_day in back])
    day = today(now)
    lapsed = [(lot_id, points) for lot_id, points, last_day in back if last_day < day]
    if lapsed:
        post(session, entry.user_id, -sum(points for _lot, points in lapsed), "expiry", f"expiry:{entry.ref}"[:96],
             reason=refunds, now=now, _lots=lapsed)


#: Kinds whose (negated) amounts are points spent at the store: a refund gives some back.
SPENDING_KINDS = ("redemption", "refund")

_TALLY = db.Prepared(text(
    "INSERT INTO station_days (station_id, day, checkins, points_issued, points_redeemed, points_lapsed) "
    "VALUES (:station_id, :day, :checkins, :issued, :redeemed, :lapsed) ON CONFLICT (station_id, day) DO UPDATE SET "
    "checkins = station_days.checkins + excluded.checkins, "
    "points_lapsed = station_days.points_lapsed + excluded.points_lapsed, "
    "points_issued = station_days.points_issued + excluded.points_issued, "
    "points_redeemed = station_days.points_redeemed + excluded.points_redeemed"
).bindparams(bindparam("day", type_=Date)))
_ACTIVE = db.Prepared(update(_users).where(
    _users.c.id == bindparam("user_id"),
    (_users.c.last_active_on.is_(None)) | (_users.c.last_active_on < bindparam("day", type_=Date)),
).values(last_active_on=bindparam("day", type_=Date)))


def tally(session: Session, station_id: int, when: datetime, *, checkins: int = 0,
          points_issued: int = 0, points_redeemed: int = 0, points_lapsed: int = 0) -> None:
    """Add to the station's day in ``station_days`` (the county's summary), in the
    transaction of the change."""
    _TALLY.all(session, {"station_id": station_id, "day": period_starts(when)["day"], "checkins": checkins,
                         "issued": points_issued, "redeemed": points_redeemed, "lapsed": points_lapsed})


def mark_active(session: Session, user_id: int, when: datetime, last_active_on=None) -> None:
    """The person checked in on ``when``'s day: ``users.last_active_on`` (no statement when
    ``last_active_on``, as read already, is that day)."""
    day = period_starts(when)["day"]
    if last_active_on is None or last_active_on < day:
        _ACTIVE.all(session, {"user_id": user_id, "day": day})


#: The four period totals in one statement (the same SQL on SQLite and PostgreSQL).
_ADD_TO_TOTALS = db.Prepared(text(
    "INSERT INTO points_totals (period, period_start, user_id, station_id, points) VALUES "
    + ", ".join(f"('{period}', :{period}, :user_id, :station_id, :points)" for period in PERIODS)
    + " ON CONFLICT (period, period_start, user_id) DO UPDATE SET points = points_totals.points + excluded.points"
).bindparams(*[bindparam(period, type_=Date) for period in PERIODS]))


def _add_to_totals(session: Session, user_id: int, station_id: int, amount: int, when: datetime) -> None:
    """Add earned points to the person's day/week/month/year totals (leaderboards): one
    INSERT ... ON CONFLICT DO UPDATE, atomic on SQLite and PostgreSQL alike."""
    _ADD_TO_TOTALS.all(session, {"user_id": user_id, "station_id": station_id, "points": amount,
                                 **period_starts(when)})


def find(session: Session, ref: str) -> LedgerEntry | None:
    return session.exec(select(LedgerEntry).where(LedgerEntry.ref == ref)).first()


def adjust(session: Session, actor: User, user_id: int, amount: int, reason: str,
           *, ref: str | None = None) -> LedgerEntry:
    """A coordinator's correction: a new entry with a required reason, audited."""
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.refuse_self_dealing(actor, target)
    access.require_manage_user(session, actor, target)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise FieldError("amount", _l("Enter a whole number other than 0."))
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _l("Please give a reason."))
    lock_user(session, target.id)
    entry = post(session, target.id, amount, "adjustment", ref or f"adjustment:{_new_ref()}",
                 reason=reason, actor_id=actor.id)
    audit.record(session, actor, "points.adjust", "user", target.id, amount=amount, reason=reason,
                 entry_id=entry.id)
    return entry


def _new_ref() -> str:
    return uuid.uuid4().hex


def entries(session: Session, user_id: int, *, limit: int = 50, before_id: int | None = None) -> list[LedgerEntry]:
    """A user's entries, newest first; ``before_id`` pages further back."""
    stmt = select(LedgerEntry).where(LedgerEntry.user_id == user_id)
    if before_id:
        stmt = stmt.where(LedgerEntry.id < before_id)
    return list(session.exec(stmt.order_by(LedgerEntry.id.desc()).limit(limit)))


def check_integrity(session: Session) -> list[str]:
    """Every cached balance and lifetime total equals its entries' sum; nothing is negative."""
    problems = []
    sums = (
        select(LedgerEntry.user_id,
               func.coalesce(func.sum(LedgerEntry.amount), 0).label("total"),
               func.coalesce(func.sum(LedgerEntry.amount).filter(LedgerEntry.earned), 0).label("earned"))
        .group_by(LedgerEntry.user_id).subquery()
    )
    rows = session.exec(
        select(User.id, User.username, User.balance, User.lifetime_points, sums.c.total, sums.c.earned)
        .outerjoin(sums, sums.c.user_id == User.id)
    )
    for user_id, username, balance, lifetime, total, earned in rows:
        total, earned = total or 0, earned or 0
        if balance != total:
            problems.append(f"user {user_id} ({username}): balance {balance} != sum of entries {total}")
        if lifetime != earned:
            problems.append(f"user {user_id} ({username}): lifetime points {lifetime} != earned {earned}")
        if balance < 0:
            problems.append(f"user {user_id} ({username}): negative balance {balance}")
    return problems


def check_lots(session: Session) -> list[str]:
    """Every balance is its lots plus points that never lapse (so the lots never exceed it); every
    lot's points left equal its amount less what entries drew; every lapse took its points from
    lots (never from points spent or that never lapse)."""
    problems = []
    left = (select(PointsLot.user_id, func.sum(PointsLot.remaining).label("points"))
            .group_by(PointsLot.user_id).subquery())
    for user_id, balance, points in session.exec(
            select(User.id, User.balance, left.c.points).join(left, left.c.user_id == User.id)
            .where(User.balance < left.c.points).limit(100)):
        problems.append(f"user {user_id}: balance {balance} < points left in lots {points}")
    drawn = select(LotDraw.lot_id, func.sum(LotDraw.points).label("points")).group_by(LotDraw.lot_id).subquery()
    for lot_id, amount, remaining, points in session.exec(
            select(PointsLot.id, PointsLot.amount, PointsLot.remaining, drawn.c.points)
            .outerjoin(drawn, drawn.c.lot_id == PointsLot.id)
            .where(PointsLot.remaining != PointsLot.amount - func.coalesce(drawn.c.points, 0)).limit(100)):
        problems.append(f"points lot {lot_id}: {remaining} left != amount {amount} less drawn {points or 0}")
    # Per lapse, its draws through their entry index: right after a sweep the planner may still
    # believe there are no lapses and, joining an aggregate of every draw instead, compare each
    # lapse with every group (minutes at 100,000 lapses on PostgreSQL).
    taken = (select(func.coalesce(func.sum(LotDraw.points), 0)).where(LotDraw.entry_id == LedgerEntry.id)
             .correlate(LedgerEntry).scalar_subquery())
    for entry_id, amount, points in session.exec(
            select(LedgerEntry.id, LedgerEntry.amount, taken)
            .where(LedgerEntry.kind == "expiry", taken != -LedgerEntry.amount).limit(100)):
        problems.append(f"expiry entry {entry_id}: lapsed {-amount} but took {points or 0} from lots")
    return problems


def check_totals(session: Session, now: datetime | None = None) -> list[str]:
    """Leaderboard totals agree with the entries: for every person and period kind the totals
    add up to their lifetime points, and the current day, week, month and year equal the sum
    of the earned entries since the period began (station time)."""
    problems = []
    for period in ("day", "week", "month", "year"):
        sums = (select(PointsTotal.user_id, func.sum(PointsTotal.points).label("points"))
                .where(PointsTotal.period == period).group_by(PointsTotal.user_id).subquery())
        rows = session.exec(
            select(User.id, User.lifetime_points, sums.c.points)
            .outerjoin(sums, sums.c.user_id == User.id)
            .where(func.coalesce(sums.c.points, 0) != User.lifetime_points)
            .limit(100))
        for user_id, lifetime, points in rows:
            problems.append(f"user {user_id}: {period} totals add up to {points or 0}, lifetime points {lifetime}")
    for period, start in period_starts(now or utcnow()).items():
        earned = (select(LedgerEntry.user_id, func.sum(LedgerEntry.amount).label("points"))
                  .where(LedgerEntry.earned, LedgerEntry.created_at >= local_midnight(start))
                  .group_by(LedgerEntry.user_id).subquery())
        kept = (select(PointsTotal.user_id, PointsTotal.points)
                .where(PointsTotal.period == period, PointsTotal.period_start == start).subquery())
        mismatched = session.exec(
            select(earned.c.user_id, earned.c.points, kept.c.points)
            .outerjoin(kept, kept.c.user_id == earned.c.user_id)
            .where(func.coalesce(kept.c.points, 0) != earned.c.points)
            .union_all(
                select(kept.c.user_id, earned.c.points, kept.c.points)
                .outerjoin(earned, earned.c.user_id == kept.c.user_id)
                .where(earned.c.user_id.is_(None), kept.c.points != 0))
            .limit(100))
        for user_id, entries_sum, total in mismatched:
            problems.append(f"user {user_id}: {period} from {start} totals {total or 0} != earned entries "
                            f"{entries_sum or 0}")
    return problems
