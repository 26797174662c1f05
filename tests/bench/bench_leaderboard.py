"""Leaderboards at scale: 100,000 volunteers and 5,000,000 ledger entries, SQLite and PostgreSQL.

    python tests/bench/bench_leaderboard.py                      # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_leaderboard.py
    BENCH_USERS=20000 BENCH_ENTRIES=1000000 python tests/bench/bench_leaderboard.py   # smaller

The generator bulk-loads a station, 200 teams, the volunteers, exactly BENCH_ENTRIES ledger
entries (a few very active people, many occasional ones; spread over the last 13 months; earning
kinds and some redemptions) and the leaderboard totals computed from exactly those entries (so
``ledger.check_totals`` agrees). Indexes (and on PostgreSQL unique and foreign-key constraints)
of the loaded tables are built after the load from the database's own record of them, and the
schema is checked to be unchanged; then ANALYZE. The full scale takes a few minutes per engine.
It measures, in the same run and through the Flask test client (no network):

* ``GET /api/v1/me``: the bare authenticated endpoint;
* ``GET /api/v1/leaderboard?period=month|all``, one team's board and one sub-unit's: the top 50
  plus the caller's own rank (boards are read from the totals table, never cached);
* the service functions alone: the top-50 query, the same through the shared cache table (a
  hit), one volunteer's own rank, and teams ranked by points per member (no cache, cached).

Prints median and p95 in milliseconds and the ratios to the bare endpoint. The PostgreSQL
database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

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
#: Stations the volunteers and teams are spread over (``bench_scale.py`` uses 200).
STATIONS = int(os.environ.get("BENCH_STATIONS", "1"))
TEAMS = max(200, STATIONS)
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


#: The tables the generator fills; their secondary indexes (and on PostgreSQL their unique and
#: foreign-key constraints, and a primary key nothing else refers to) are dropped for the load and
#: rebuilt from the definitions the database itself recorded, so the schema ends up identical.
LOADED = ("users", "team_memberships", "ledger_entries", "points_totals")


#: service_team_days from the members' day totals (as migration 0018 fills it), for the loaders.
TEAM_DAYS_FROM_MEMBERS = """
    INSERT INTO service_team_days (team_id, unit_id, day, minutes, records)
    SELECT m.team_id, COALESCE(m.unit_id, 0), d.day, sum(d.minutes), sum(d.records)
    FROM team_memberships m JOIN service_day_totals d ON d.user_id = m.user_id
    GROUP BY m.team_id, COALESCE(m.unit_id, 0), d.day"""


def entry_counts(rng: random.Random, users: int, entries: int) -> list[int]:
    """Entries per volunteer, exactly ``entries`` in all: a few very active people (a Pareto
    spread, at most 20 times the average) and many occasional ones (at least one entry)."""
    if entries < users:
        raise SystemExit("BENCH_ENTRIES must be at least BENCH_USERS (every volunteer has an entry)")
    cap = max(1, entries * 20 // users)
    weights = [rng.paretovariate(1.5) for _ in range(users)]
    scale = entries / sum(weights)
    for _ in range(8):  # the cap cuts the tail: scale up until the sum is close
        counts = [max(1, min(cap, int(w * scale))) for w in weights]
        got = sum(counts)
        if abs(got - entries) <= users // 100 + 1:
            break
        scale *= entries / got
    missing = entries - sum(counts)
    while missing:  # the rounding remainder, one entry at a time
        i = rng.randrange(users)
        if missing > 0 and counts[i] < cap:
            counts[i] += 1
            missing -= 1
        elif missing < 0 and counts[i] > 1:
            counts[i] -= 1
            missing += 1
    return counts


def _sqlite_schema(cur) -> list[tuple]:
    cur.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' "
                "ORDER BY type, name")
    return cur.fetchall()


def _pg_schema(cur) -> list[tuple]:
    cur.execute("SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2")
    constraints = cur.fetchall()
    cur.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2")
    return constraints + cur.fetchall()


def _pg_defer(cur, tables=LOADED) -> list[str]:
    """Drop what slows a bulk load on ``tables``; return the statements that rebuild it
    (in order: keys, unique constraints, indexes, foreign keys), taken from the catalog."""
    tables = list(tables)
    cur.execute("""
        SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('p', 'u', 'f')
          AND NOT (c.contype IN ('p', 'u') AND EXISTS (
              SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid
                AND NOT r.conrelid::regclass::text = ANY(%s)))
        ORDER BY c.contype = 'f' DESC, 1, 2""", (tables, tables))
    constraints = cur.fetchall()
    cur.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                          AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
        ORDER BY 1""", (tables,))
    indexes = cur.fetchall()
    for table, name, _kind, _definition in constraints:  # foreign keys first (ORDER BY above)
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    rebuild = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
               for kind in "pu" for table, name, k, definition in constraints if k == kind]
    rebuild += [definition for _name, definition in indexes]
    rebuild += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for table, name, k, definition in constraints if k == "f"]
    return rebuild


def _sqlite_defer(cur, tables=LOADED) -> list[str]:
    """Drop the declared indexes of ``tables`` (the automatic ones of PRIMARY KEY and UNIQUE
    are part of the table); return their CREATE statements exactly as recorded."""
    marks = ", ".join("?" for _ in tables)
    cur.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks}) ORDER BY name", tuple(tables))
    indexes = cur.fetchall()
    for name, _sql in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in indexes]


def team_of(uid: int) -> int:
    return (uid % TEAMS) + 1


def station_of_team(team: int) -> int:
    return (team - 1) % STATIONS + 1


def generate(app, now: datetime) -> dict[str, float]:
    """Bulk-load everything and return the time of each phase in seconds.

    PostgreSQL: COPY in one transaction, with the loaded tables' secondary indexes, unique and
    foreign-key constraints dropped first and rebuilt after (the data are consistent by
    construction), then VACUUM ANALYZE. SQLite: one transaction on a connection of its own with
    no journal, no syncing and a large page cache, declared indexes built after the load, then
    ANALYZE and back to WAL. Either way the schema afterwards is checked to be exactly the one
    ``create_all`` made."""
    import sqlite3

    from sqlalchemy import text
    from sqlmodel import SQLModel

    from volunteer_app.services import accounts
    from volunteer_app.timeutil import local, local_midnight, period_starts

    phases: dict[str, float] = {}
    clock = time.perf_counter()
    engine = app.extensions["db_engine"]
    pg = engine.dialect.name == "postgresql"
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    rng = random.Random(6)
    password = accounts.hash_password("bench-password")
    created = now - timedelta(days=400)
    counts = entry_counts(rng, USERS, ENTRIES)

    def stamp(value: datetime) -> str:  # as the app stores it
        value = value.astimezone(timezone.utc)
        return value.isoformat(sep=" ") if pg else value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    # Entries fall on the last 395 station-local days (today: only the hours gone by count
    # as "today", but a whole day is simpler and harmless for the measurements). Each day: its
    # midnight as naive UTC, and the ids of its day/week/month/year totals.
    today = local(now).date()
    days = 395
    period_ids: dict[tuple[str, str], int] = {}
    calendar = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back - 1)
        midnight = local_midnight(day)
        starts = period_starts(midnight + timedelta(hours=12))
        calendar.append((midnight.astimezone(timezone.utc).replace(tzinfo=None),
                         tuple(period_ids.setdefault((period, start.isoformat()), len(period_ids))
                               for period, start in starts.items())))
    # Ids in primary-key order (period, period_start), so each batch's totals go in key order.
    order = {key: rank for rank, key in enumerate(sorted(period_ids))}
    period_of = [None] * len(period_ids)
    for key, pid in period_ids.items():
        period_of[pid] = (order[key], key[0], key[1])
    suffix = "+00" if pg else ".000000"  # whole seconds
    created_stamp = stamp(created)
    true, false, null = ("t", "f", "\\N") if pg else (1, 0, None)

    if pg:
        raw = engine.raw_connection()
        cur = raw.cursor()
        before = _pg_schema(cur)
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuild = _pg_defer(cur)
    else:
        engine.dispose()  # the load connection must be the only one to leave WAL
        raw = sqlite3.connect(engine.url.database, isolation_level=None)
        cur = raw.cursor()
        before = _sqlite_schema(cur)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-1500000",
                       "temp_store=MEMORY"):
            cur.execute(f"PRAGMA {pragma}")
        cur.execute("BEGIN")
        rebuild = _sqlite_defer(cur)

    def put(table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if pg:
            data = "".join("\t".join(map(str, row)) + "\n" for row in rows)
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(data)
        else:
            marks = ", ".join("?" for _ in columns)
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    put("stations", ["id", "name", "short_name", "join_version", "created_at"],
        [(s, f"压测派出所{s:03d}" if STATIONS > 1 else "压测派出所", f"压测{s}", 1, created_stamp)
         for s in range(1, STATIONS + 1)])
    put("teams", ["id", "station_id", "name", "description", "created_at"],
        [(t, station_of_team(t), f"巡逻队{t:03d}", "", created_stamp) for t in range(1, TEAMS + 1)])
    entry_id = totals_rows = 0
    span = days * 86400
    draw, below, choice = rng.random, rng.randrange, rng.choice
    shift_points = (20, 30, 45, 60)
    second = timedelta(seconds=1)
    for first in range(1, USERS + 1, BATCH_USERS):
        ids = range(first, min(first + BATCH_USERS, USERS + 1))
        users, members, entries, totals = [], [], [], []
        for uid in ids:
            sums: dict[int, int] = {}
            balance = lifetime = 0
            for pick in sorted(int(draw() * span) for _ in range(counts[uid - 1])):
                day_index, seconds = divmod(pick, 86400)
                midnight, pids = calendar[day_index]
                entry_id += 1
                roll = draw()
                if roll < 0.08 and balance >= 25:
                    kind, amount = "redemption", -25
                elif roll < 0.75:
                    kind, amount = "checkin", 5
                elif roll < 0.95:
                    kind, amount = "shift", choice(shift_points)
                else:
                    kind, amount = "event", 10
                balance += amount
                if amount > 0:
                    lifetime += amount
                    for pid in pids:
                        sums[pid] = sums.get(pid, 0) + amount
                entries.append((entry_id, uid, amount, kind, "", f"{kind}:{entry_id}", balance,
                                true if amount > 0 else false, null,
                                (midnight + seconds * second).isoformat(sep=" ") + suffix))
            station = station_of_team(team_of(uid))
            users.append((uid, station, f"v{uid:06d}", f"志愿者{uid:06d}", null, "volunteer", "active", password, 1,
                          balance, lifetime, below(0, 30000), "zh_CN", false, true,
                          true if uid % 97 == 0 else false, created_stamp, created_stamp))
            members.append((uid, team_of(uid), uid, "member", created_stamp))
            totals.extend((period_of[pid], uid, station, points) for pid, points in sums.items())
        totals.sort()
        put("users", ["id", "station_id", "username", "display_name", "phone", "roles", "status", "password_hash",
                      "session_version", "balance", "lifetime_points", "minutes_served", "language", "large_mode",
                      "large_mode_offered", "leaderboard_anonymous", "created_at", "approved_at"], users)
        put("team_memberships", ["id", "team_id", "user_id", "role", "created_at"], members)
        put("ledger_entries", ["id", "user_id", "amount", "kind", "reason", "ref", "balance_after", "earned",
                               "actor_id", "created_at"], entries)
        put("points_totals", ["period", "period_start", "user_id", "station_id", "points"],
            [(period, start, uid, station, points) for (_rank, period, start), uid, station, points in totals])
        totals_rows += len(totals)
        del entries, totals
        if first % 20000 == 1:
            log(f"  {ids[-1]} volunteers, {entry_id} entries")
    phases["load"] = time.perf_counter() - clock
    clock = time.perf_counter()
    for statement in rebuild:
        cur.execute(statement)
    if pg:
        for table, column in (("stations", "id"), ("teams", "id"), ("users", "id"), ("team_memberships", "id"),
                              ("ledger_entries", "id")):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))")
        raw.commit()
    else:
        cur.execute("COMMIT")
    phases["indexes"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if pg:
        after = _pg_schema(cur)
        cur.close()
        raw.close()
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    else:
        cur.execute("ANALYZE")
        cur.execute("PRAGMA journal_mode=WAL")
        after = _sqlite_schema(cur)
        cur.close()
        raw.close()
    phases["analyze"] = time.perf_counter() - clock
    if after != before:
        raise SystemExit(f"the schema after the load differs: {sorted(set(before) ^ set(after))}")
    log(f"generated {USERS} volunteers, {entry_id} ledger entries, {totals_rows} period totals "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()))
    return phases


def print_ratios(results: dict[str, tuple[float, float]], bare_name: str = "bare GET /api/v1/me") -> None:
    """The table every benchmark prints: median and p95 in ms, and × the bare read of the run."""
    bare = results[bare_name][0]
    print(f"{'measurement':<62} {'median ms':>10} {'p95 ms':>8} {'x bare':>7}")
    for name, (median, p95) in results.items():
        print(f"{name:<62} {median:>10.2f} {p95:>8.2f} {median / bare:>7.2f}")


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
    from volunteer_app.services.recognition.leaderboard import _compute_board, cached

    now = datetime.now(timezone.utc)
    app = build_app(url, cache_seconds=3600)
    engine = app.extensions["db_engine"]
    started = time.perf_counter()
    phases = generate(app, now)
    generation = time.perf_counter() - started
    log(f"generation took {generation:.0f} s")
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
    with app.app_context(), db.unit_of_work(engine) as s:  # one sub-unit: half of team 7
        from volunteer_app.models import TeamMembership, Unit
        unit = Unit(station_id=1, team_id=7, name="一分队")
        s.add(unit)
        s.flush()
        for row in s.exec(select(TeamMembership).where(TeamMembership.team_id == 7, TeamMembership.user_id % 2 == 0)):
            row.unit_id = unit.id
            s.add(row)
        unit_id = unit.id
    results[f"GET /api/v1/leaderboard?period=month&unit_id={unit_id} (half of team 7), no cache"] = timed(
        get(uncached_client, f"/api/v1/leaderboard?period=month&unit_id={unit_id}"))

    with uncached_app.app_context(), db.unit_of_work(engine, write=False) as s:
        viewer = s.get(User, viewer_id)
        start = recognition.period_start("month", now)
        results["service: month top 50, no cache"] = timed(
            lambda: _compute_board(s, 1, "month", start, None, 50))
        results["service: one volunteer's own rank (month)"] = timed(
            lambda: recognition.standing(s, viewer, "month", None, now))
        results["service: one volunteer's own rank (all time)"] = timed(
            lambda: recognition.standing(s, viewer, "all", None, now))
        results["service: teams per member (month), no cache"] = timed(
            lambda: recognition.team_ranking(s, viewer, "month", now=now), repeat=max(5, REPEAT // 4))
        top = _compute_board(s, 1, "month", start, None, 50)
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
        lambda s, v: cached(s, "bench:month", lambda: _compute_board(
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

    print()
    print(f"engine: {engine.dialect.name}; {USERS} volunteers, {ENTRIES} entries; data generated in "
          f"{generation:.0f} s ({', '.join(f'{name} {seconds:.0f} s' for name, seconds in phases.items())})")
    print(f"cached keys: "
          f"{len(cached_rows)}; month top: {top[0]['points'] if top else 0} points; "
          f"viewer: rank {me['rank']} with {me['points']}")
    print_ratios(results)
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
