"""Leaderboards at scale: 100,000 volunteers and 5,000,000 ledger entries, SQLite and PostgreSQL.

    python tests/bench/bench_leaderboard.py                      # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_leaderboard.py
    BENCH_USERS=20000 BENCH_ENTRIES=1000000 python tests/bench/bench_leaderboard.py   # smaller

The generator bulk-inserts a station, 200 teams, the volunteers, their ledger entries (spread
over the last 13 months, earning kinds and some redemptions) and the leaderboard totals computed
from exactly those entries (so ``ledger.check_totals`` agrees), then runs ANALYZE. It measures,
in the same run and through the Flask test client (no network):

* ``GET /api/v1/me``: the bare authenticated endpoint;
* ``GET /api/v1/leaderboard?period=month|all`` and one team's board: the top 50 plus the
  caller's own rank (boards are read from the totals table, never cached);
* the service functions alone: the top-50 query, the same through the shared cache table (a
  hit), one volunteer's own rank, and teams ranked by points per member (no cache, cached).

Prints median and p95 in milliseconds and the ratios to the bare endpoint. The PostgreSQL
database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

USERS = int(os.environ.get("BENCH_USERS", "100000"))
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "5000000"))
TEAMS = 200
REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))
BATCH_USERS = 2000
CST = timezone(timedelta(hours=8))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_app(url: str, cache_seconds: int):
    import logging

    from volunteer_app import create_app
    logging.getLogger("volunteer_app.requests").setLevel(logging.WARNING)
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tempfile.mkdtemp(prefix="lb-"),
                       "FAST_PASSWORD_HASH": True, "LEADERBOARD_CACHE_SECONDS": cache_seconds})


def generate(app, now: datetime) -> None:
    """Bulk-insert everything, fast: COPY on PostgreSQL, executemany in one transaction on SQLite."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from volunteer_app.services import accounts, ledger

    engine = app.extensions["db_engine"]
    pg = engine.dialect.name == "postgresql"
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    rng = random.Random(6)
    password = accounts.hash_password("bench-password")
    created = now - timedelta(days=400)
    per_user = ENTRIES / USERS
    # Entries fall on the last 395 station-local days (today: only the hours gone by count
    # as "today", but a whole day is simpler and harmless for the measurements).
    from volunteer_app.timeutil import local, local_midnight
    today = local(now).date()
    days = 395
    calendar = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back - 1)
        midnight = local_midnight(day)
        calendar.append((midnight, tuple(ledger.period_starts(midnight + timedelta(hours=12)).items())))

    raw = engine.raw_connection()
    cur = raw.cursor()

    def put(table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if pg:
            buffer = io.StringIO()
            for row in rows:
                buffer.write("\t".join("\\N" if v is None else (("t" if v else "f") if isinstance(v, bool) else str(v))
                                       for v in row) + "\n")
            buffer.seek(0)
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(buffer.read())
        else:
            marks = ", ".join("?" for _ in columns)
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def stamp(value: datetime):
        value = value.astimezone(timezone.utc)
        return value.isoformat() if pg else value.replace(tzinfo=None).isoformat(sep=" ")

    if not pg:  # a bulk load: no per-row foreign key checks, a big page cache
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("PRAGMA cache_size=-600000")
        cur.execute("BEGIN")
    put("stations", ["id", "name", "created_at"], [(1, "压测派出所", stamp(created))])
    put("teams", ["id", "station_id", "name", "description", "created_at"],
        [(t, 1, f"巡逻队{t:03d}", "", stamp(created)) for t in range(1, TEAMS + 1)])
    entry_id = 0
    for first in range(1, USERS + 1, BATCH_USERS):
        ids = range(first, min(first + BATCH_USERS, USERS + 1))
        users, members, entries, totals = [], [], [], {}
        for uid in ids:
            weight = rng.paretovariate(1.5)  # a few very active people, many occasional ones
            count = max(1, min(int(per_user * weight / 3), int(per_user * 20)))
            picks = sorted((rng.randrange(days), rng.randrange(86400)) for _ in range(count))
            balance = lifetime = 0
            for day_index, second in picks:
                midnight, starts = calendar[day_index]
                entry_id += 1
                roll = rng.random()
                if roll < 0.08 and balance >= 25:
                    kind, amount = "redemption", -25
                elif roll < 0.75:
                    kind, amount = "checkin", 5
                elif roll < 0.95:
                    kind, amount = "shift", rng.choice((20, 30, 45, 60))
                else:
                    kind, amount = "event", 10
                earned = amount > 0
                balance += amount
                if earned:
                    lifetime += amount
                    for key in starts:
                        key = key + (uid,)
                        totals[key] = totals.get(key, 0) + amount
                entries.append((entry_id, uid, amount, kind, "", f"{kind}:{entry_id}", balance, earned, None,
                                stamp(midnight + timedelta(seconds=second))))
            users.append((uid, 1, f"v{uid:06d}", f"志愿者{uid:06d}", None, "volunteer", "active", password, 1,
                          balance, lifetime, rng.randrange(0, 30000), "zh_CN", False, True, uid % 97 == 0,
                          stamp(created), stamp(created)))
            members.append((uid, (uid % TEAMS) + 1, uid, "member", stamp(created)))
        put("users", ["id", "station_id", "username", "display_name", "phone", "roles", "status", "password_hash",
                      "session_version", "balance", "lifetime_points", "minutes_served", "language", "large_mode",
                      "large_mode_offered", "leaderboard_anonymous", "created_at", "approved_at"], users)
        put("team_memberships", ["id", "team_id", "user_id", "role", "created_at"], members)
        put("ledger_entries", ["id", "user_id", "amount", "kind", "reason", "ref", "balance_after", "earned",
                               "actor_id", "created_at"], entries)
        put("points_totals", ["period", "period_start", "user_id", "station_id", "points"],
            [(period, start.isoformat(), uid, 1, points) for (period, start, uid), points in totals.items()])
        del entries, totals
        if first % 20000 == 1:
            log(f"  {min(first + BATCH_USERS - 1, USERS)} volunteers, {entry_id} entries")
    if pg:
        for table, column in (("stations", "id"), ("teams", "id"), ("users", "id"), ("team_memberships", "id"),
                              ("ledger_entries", "id")):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))")
    raw.commit()
    if not pg:
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-2000")
    cur.close()
    raw.close()
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    log(f"generated {USERS} volunteers, {entry_id} ledger entries")


def timed(fn, repeat: int = REPEAT) -> tuple[float, float]:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def measure(url: str) -> None:
    from sqlmodel import select

    from volunteer_app import db
    from volunteer_app.models import LeaderboardCache, PointsTotal, User
    from volunteer_app.services import accounts, ledger, recognition

    now = datetime.now(timezone.utc)
    app = build_app(url, cache_seconds=3600)
    engine = app.extensions["db_engine"]
    started = time.perf_counter()
    generate(app, now)
    log(f"generation took {time.perf_counter() - started:.0f} s")
    uncached_app = build_app(url, cache_seconds=0)
    with app.app_context(), db.unit_of_work(engine) as s:
        start = recognition.period_start("month", now)
        ranked = s.exec(select(PointsTotal.user_id).where(
            PointsTotal.period == "month", PointsTotal.period_start == start)
            .order_by(PointsTotal.points.desc())).all()
        viewer_id = ranked[len(ranked) // 2]  # someone in the middle of the month's board
        viewer = s.get(User, viewer_id)
        token, _ = accounts.issue_token(s, viewer, kind="api")
    headers = {"Authorization": f"Bearer {token}"}
    results = {}
    client = app.test_client()
    uncached_client = uncached_app.test_client()

    def get(c, path):
        def run():
            response = c.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        return run

    results["bare GET /api/v1/me"] = timed(get(client, "/api/v1/me"))
    results["GET /api/v1/leaderboard?period=month, no cache"] = timed(
        get(uncached_client, "/api/v1/leaderboard?period=month"))
    results["GET /api/v1/leaderboard?period=all, no cache"] = timed(
        get(uncached_client, "/api/v1/leaderboard?period=all"))
    results["GET /api/v1/leaderboard?period=month&team_id=7, no cache"] = timed(
        get(uncached_client, "/api/v1/leaderboard?period=month&team_id=7"))

    with uncached_app.app_context(), db.unit_of_work(engine, write=False) as s:
        viewer = s.get(User, viewer_id)
        start = recognition.period_start("month", now)
        results["service: month top 50, no cache"] = timed(
            lambda: recognition._compute_board(s, 1, "month", start, None, 50))
        results["service: one volunteer's own rank (month)"] = timed(
            lambda: recognition.standing(s, viewer, "month", None, now))
        results["service: one volunteer's own rank (all time)"] = timed(
            lambda: recognition.standing(s, viewer, "all", None, now))
        results["service: teams per member (month), no cache"] = timed(
            lambda: recognition.team_ranking(s, viewer, "month", now=now), repeat=max(5, REPEAT // 4))
        top = recognition._compute_board(s, 1, "month", start, None, 50)
        me = recognition.standing(s, viewer, "month", None, now)

    def fresh(fn):
        """Each call in a unit of work of its own, as each request has (a SQLite read
        transaction would not see a board stored after it began)."""
        def run():
            with app.app_context(), db.unit_of_work(engine, write=False) as s:
                fn(s, s.get(User, viewer_id))
        return run

    start = recognition.period_start("month", now)
    results["service: month top 50 through the shared cache (a hit)"] = timed(fresh(
        lambda s, v: recognition._cached(s, "bench:month", lambda: recognition._compute_board(
            s, 1, "month", start, None, 50), now)))
    results["service: month board as served (top 50 + names + own rank)"] = timed(
        fresh(lambda s, v: recognition.leaderboard(s, v, "month", now=now)))
    results["service: teams per member (month), cached"] = timed(
        fresh(lambda s, v: recognition.team_ranking(s, v, "month", now=now)))
    with app.app_context(), db.unit_of_work(engine, write=False) as s:
        cached_rows = s.exec(select(LeaderboardCache.key)).all()
    with app.app_context(), db.unit_of_work(engine, write=False) as s:
        started = time.perf_counter()
        problems = ledger.check_totals(s, now=now)
        check_seconds = time.perf_counter() - started

    bare = results["bare GET /api/v1/me"][0]
    print()
    print(f"engine: {engine.dialect.name}; {USERS} volunteers, {ENTRIES} entries (target); cached keys: "
          f"{len(cached_rows)}; month top: {top[0]['points'] if top else 0} points; "
          f"viewer: rank {me['rank']} with {me['points']}")
    print(f"{'measurement':<62} {'median ms':>10} {'p95 ms':>8} {'x bare':>7}")
    for name, (median, p95) in results.items():
        print(f"{name:<62} {median:>10.2f} {p95:>8.2f} {median / bare:>7.2f}")
    print(f"check_totals: {len(problems)} problems in {check_seconds:.1f} s")


def main() -> None:
    from volunteer_app.config import normalise_database_url
    pg = os.environ.get("TEST_DATABASE_URL")
    if os.environ.get("BENCH_ENGINE", "both") in ("both", "sqlite"):
        path = Path(tempfile.mkdtemp(prefix="lb-bench-")) / "bench.db"
        log(f"SQLite at {path}")
        measure(f"sqlite:///{path}")
    if pg and os.environ.get("BENCH_ENGINE", "both") in ("both", "postgresql"):
        log("PostgreSQL")
        measure(normalise_database_url(pg))


if __name__ == "__main__":
    main()
