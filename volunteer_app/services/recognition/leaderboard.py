"""Leaderboards: points per calendar period from the totals, and the cached team ranking."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from ... import db
from ...errors import DomainError, FieldError
from ...parsing import is_id
from ...models import LeaderboardCache, LedgerEntry, PointsTotal, Team, TeamMembership, Unit, User
from ...settings import setting
from ... import timeutil
from ...timeutil import as_utc, utcnow
from .. import access


PERIODS = ("week", "month", "year", "all")


#: A cached board is used while the ledger has not moved since it was computed, and regardless
#: for this many seconds (so a busy station recomputes at most this often)...
CACHE_FRESH_SECONDS = 10


#: ...and never longer than this (team membership changes do not touch the ledger).
CACHE_MAX_SECONDS = 60


def period_start(period: str, now: datetime | None = None) -> date | None:
    if period == "all":
        return None
    if period not in PERIODS:
        raise FieldError("period", _l("The period is week, month, year or all."))
    return timeutil.period_starts(now or utcnow())[period]


def _ranked(rows, key) -> list[dict]:
    """Competition ranking over rows sorted highest first: ties share a rank (1, 1, 3)."""
    out, rank, previous = [], 0, object()
    for index, row in enumerate(rows):
        if row[key] != previous:
            rank, previous = index + 1, row[key]
        out.append({**row, "rank": rank})
    return out


def _team_in_station(session: Session, station_id: int, team_id: int) -> Team:
    team = session.get(Team, team_id) if is_id(team_id) else None
    if team is None or team.station_id != station_id:
        raise DomainError("not_found", _l("No such team."))
    return team


def _members(team_id: int | None, unit_id: int | None = None):
    """The ids of a team's (or a sub-unit's) members as a subquery; None for the station."""
    if unit_id is not None:
        return select(TeamMembership.user_id).where(TeamMembership.unit_id == unit_id)
    if team_id is not None:
        return select(TeamMembership.user_id).where(TeamMembership.team_id == team_id)
    return None


def _compute_board(session: Session, station_id: int, period: str, start: date | None, team_id: int | None,
                   limit: int, unit_id: int | None = None) -> list[dict]:
    """``[{user_id, points, rank}]``, highest first, people with points only; disabled accounts
    (people who left, anonymised ones) are not on the boards."""
    listed = User.status == "active"
    members = _members(team_id, unit_id)
    if members is not None:
        if start is None:
            stmt = select(User.id, User.lifetime_points).where(User.id.in_(members), User.lifetime_points > 0, listed)
        else:
            stmt = select(PointsTotal.user_id, PointsTotal.points).join(User, User.id == PointsTotal.user_id).where(
                PointsTotal.period == period, PointsTotal.period_start == start,
                PointsTotal.user_id.in_(members), PointsTotal.points > 0, listed)
        rows = sorted(session.exec(stmt), key=lambda row: (-row[1], row[0]))
    elif start is None:
        rows = session.exec(select(User.id, User.lifetime_points).where(
            User.station_id == station_id, User.lifetime_points > 0, listed)
            .order_by(User.lifetime_points.desc(), User.id.desc()).limit(limit))
    else:
        rows = session.exec(select(PointsTotal.user_id, PointsTotal.points)
                            .join(User, User.id == PointsTotal.user_id).where(
            PointsTotal.station_id == station_id, PointsTotal.period == period,
            PointsTotal.period_start == start, PointsTotal.points > 0, listed)
            .order_by(PointsTotal.points.desc(), PointsTotal.user_id.desc()).limit(limit))
    return _ranked([{"user_id": user_id, "points": points} for user_id, points in rows], "points")[:limit]


def _ledger_mark(session: Session) -> int:
    """The newest entry id: a bare max() of the key, which both engines read from the index end
    (wrapped in coalesce(), SQLite would scan the table)."""
    return session.exec(select(func.max(LedgerEntry.id))).one() or 0


def cached(session: Session, key: str, compute: Callable[[], list], now: datetime) -> list:
    """A board (or any list of JSON values computed over many people: the hours by team) from
    the shared cache table, or computed and stored (in a transaction of its own, so a GET never
    holds a write and a failure to store is harmless)."""
    seconds = cache_seconds()
    if not seconds:
        return compute()
    key = _fitting(key)
    mark = _ledger_mark(session)
    row = session.get(LeaderboardCache, key)
    if row is not None:
        age = (now - as_utc(row.computed_at)).total_seconds()
        if 0 <= age < seconds and (row.ledger_mark == mark or age < CACHE_FRESH_SECONDS):
            return json.loads(row.payload)
    value = compute()
    _store(session, key, value, mark, now)
    return value


def _fitting(key: str) -> str:
    """``key`` as the cache's column holds it: a long one (the ids of many teams) becomes its
    beginning and a digest of the whole."""
    length = LeaderboardCache.__table__.c.key.type.length
    if len(key) <= length:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{key[:length - len(digest) - 1]}#{digest}"


def cache_seconds() -> int:
    """How long a board may be kept at most (the app setting ``LEADERBOARD_CACHE_SECONDS``;
    0 turns the cache off)."""
    return int(setting("LEADERBOARD_CACHE_SECONDS"))


def _store(session: Session, key: str, value, mark: int, now: datetime) -> None:
    engine = session.get_bind()
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LeaderboardCache).values(key=key, payload=json.dumps(value), ledger_mark=mark, computed_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "payload": stmt.excluded.payload, "ledger_mark": stmt.excluded.ledger_mark,
        "computed_at": stmt.excluded.computed_at})
    sqlite = engine.dialect.name == "sqlite"
    try:
        # A deferred transaction that waits at most a moment for SQLite's write lock: a cache
        # write must never queue behind the writers (or behind the request's own transaction);
        # on PostgreSQL a lock timeout does the same.
        with db.unit_of_work(engine, write=not sqlite) as writer:
            writer.execute(text("PRAGMA busy_timeout=50" if sqlite else "SET LOCAL lock_timeout = '100ms'"))
            try:
                writer.execute(stmt)
            finally:
                if sqlite:
                    writer.execute(text(f"PRAGMA busy_timeout={int(setting_busy_timeout())}"))
    except (OperationalError, IntegrityError):  # busy or raced: the next reader stores it
        pass


def setting_busy_timeout() -> int:
    return int(setting("SQLITE_BUSY_TIMEOUT_MS"))


def clear_cache(session: Session) -> None:
    """Forget every cached board (e.g. after moving people between teams)."""
    session.execute(LeaderboardCache.__table__.delete())


def _names(session: Session, user_ids) -> dict[int, tuple[str, bool]]:
    if not user_ids:
        return {}
    return {uid: (name, anonymous) for uid, name, anonymous in session.exec(
        select(User.id, User.display_name, User.leaderboard_anonymous).where(User.id.in_(list(user_ids))))}


def anonymous_name() -> str:
    return str(_l("Anonymous volunteer"))


def _public(rows: list[dict], names: dict, viewer_id: int | None) -> list[dict]:
    """Entries as everyone sees them: an anonymous person has no name and no id (they see
    themselves marked as "you")."""
    out = []
    for row in rows:
        name, anonymous = names.get(row["user_id"], ("", False))
        out.append({"rank": row["rank"], "user_id": None if anonymous else row["user_id"],
                    "display_name": anonymous_name() if anonymous else name, "points": row["points"],
                    "anonymous": anonymous, "is_me": row["user_id"] == viewer_id})
    return out


def standing(session: Session, user: User, period: str, team_id: int | None = None,
             now: datetime | None = None, unit_id: int | None = None) -> dict:
    """The person's own points and rank (1 + how many earned more), read fresh; rank None when
    they have no points in the period."""
    start = period_start(period, now)
    if start is None:
        points = session.exec(select(User.lifetime_points).where(User.id == user.id)).one()
    else:
        points = session.exec(select(PointsTotal.points).where(
            PointsTotal.period == period, PointsTotal.period_start == start,
            PointsTotal.user_id == user.id)).first() or 0
    if points <= 0:
        return {"rank": None, "points": 0}
    if team_id is not None and team_id not in access.team_ids_of(session, user.id):
        return {"rank": None, "points": points}  # not on this team's board
    if unit_id is not None and not session.exec(select(TeamMembership.id).where(
            TeamMembership.user_id == user.id, TeamMembership.unit_id == unit_id)).first():
        return {"rank": None, "points": points}  # not on this sub-unit's board
    # Everyone ahead (one index range), less the few disabled accounts among them, found from
    # the partial index ix_users_unlisted: cheaper than reading the status of everyone ahead.
    members = _members(team_id, unit_id)
    people = User.id.in_(members) if members is not None else User.station_id == user.station_id
    unlisted = (User.status != "active", people)
    if start is None:
        ahead = select(func.count(User.id)).where(people, User.lifetime_points > points)
        # (``+ 0``: SQLite would otherwise walk the (station, lifetime) index over everyone ahead)
        hidden = select(func.count(User.id)).where(*unlisted, User.lifetime_points + 0 > points)
    else:
        totals_of = (PointsTotal.user_id.in_(members) if members is not None
                     else PointsTotal.station_id == user.station_id)
        ahead = select(func.count()).select_from(PointsTotal).where(
            totals_of, PointsTotal.period == period, PointsTotal.period_start == start, PointsTotal.points > points)
        their_points = (select(PointsTotal.points).where(PointsTotal.period == period,
                                                         PointsTotal.period_start == start,
                                                         PointsTotal.user_id == User.id).scalar_subquery())
        hidden = select(func.count(User.id)).where(*unlisted, their_points > points)
    return {"rank": session.exec(ahead).one() - session.exec(hidden).one() + 1, "points": points}


def leaderboard(session: Session, viewer: User, period: str = "month", team_id: int | None = None, *,
                limit: int = 50, now: datetime | None = None, unit_id: int | None = None) -> dict:
    """The station's (or one team's, or one sub-unit's) board for ``period``: ``{period,
    period_start, team_id, unit_id, entries: [{rank, user_id, display_name, points, ...}], me:
    {rank, points}}``."""
    now = now or utcnow()
    start = period_start(period, now)
    if unit_id is not None:
        unit = session.get(Unit, unit_id) if is_id(unit_id) else None
        if unit is None or unit.station_id != viewer.station_id or team_id not in (None, unit.team_id):
            raise DomainError("not_found", _l("No such sub-unit."))
        team_id = unit.team_id
    if team_id is not None:
        _team_in_station(session, viewer.station_id, team_id)
    limit = max(1, min(int(limit), 500))
    # No cache here: read from the totals table the top N is one short index range (well under
    # a millisecond to a few ms at 100,000 people, see tests/bench/bench_leaderboard.py), cheaper
    # than checking a cached copy is still valid.
    rows = _compute_board(session, viewer.station_id, period, start, team_id, limit, unit_id)
    entries = _public(rows, _names(session, {row["user_id"] for row in rows}), viewer.id)
    me = standing(session, viewer, period, team_id, now, unit_id)
    return {"period": period, "period_start": start.isoformat() if start else None, "team_id": team_id,
            "unit_id": unit_id, "entries": entries, "me": me}


def team_ranking(session: Session, viewer: User, period: str = "month", *, now: datetime | None = None) -> list[dict]:
    """The station's teams ranked by points per member in the period (ties share a rank)."""
    now = now or utcnow()
    start = period_start(period, now)
    station_id = viewer.station_id

    def compute() -> list[dict]:
        teams = {team.id: team.name for team in session.exec(select(Team).where(Team.station_id == station_id))}
        if not teams:
            return []
        counts = {team_id: count for team_id, count in session.exec(
            select(TeamMembership.team_id, func.count(TeamMembership.user_id))
            .join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.team_id.in_(list(teams)), User.status == "active")
            .group_by(TeamMembership.team_id))}
        # From the period's totals (one index range) to the people's teams, not the other way round.
        if start is None:
            sums = session.exec(
                select(TeamMembership.team_id, func.sum(User.lifetime_points))
                .join(TeamMembership, TeamMembership.user_id == User.id)
                .where(User.station_id == station_id, User.lifetime_points > 0, User.status == "active")
                .group_by(TeamMembership.team_id))
        else:
            sums = session.exec(
                select(TeamMembership.team_id, func.sum(PointsTotal.points))
                .join(TeamMembership, TeamMembership.user_id == PointsTotal.user_id)
                .join(User, User.id == PointsTotal.user_id)
                .where(PointsTotal.station_id == station_id, PointsTotal.period == period,
                       PointsTotal.period_start == start, PointsTotal.points > 0, User.status == "active")
                .group_by(TeamMembership.team_id))
        points = {team_id: int(total or 0) for team_id, total in sums if team_id in teams}
        rows = []
        for team_id, name in teams.items():
            members = counts.get(team_id, 0)
            total = points.get(team_id, 0)
            # per member in hundredths, whole numbers only (ranks compare exactly)
            rows.append({"team_id": team_id, "name": name, "members": members, "points": total,
                         "per_member_x100": (total * 100 // members) if members else 0})
        rows.sort(key=lambda row: (-row["per_member_x100"], row["name"]))
        return _ranked(rows, "per_member_x100")

    key = f"teams:{station_id}:{period}:{start or '-'}"
    rows = cached(session, key, compute, now)
    for row in rows:
        row["per_member"] = row["per_member_x100"] / 100
    return rows


def my_team_ids(session: Session, user: User) -> list[int]:
    return access.team_ids_of(session, user.id)


def station_teams(session: Session, user: User) -> list[Team]:
    return list(session.exec(select(Team).where(Team.station_id == user.station_id).order_by(Team.name)))

