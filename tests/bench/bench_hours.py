"""Hours at scale: service records of 100,000 volunteers (5,000,000 records), SQLite and PostgreSQL.

    python tests/bench/bench_hours.py                                  # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_hours.py
    BENCH_USERS=20000 BENCH_RECORDS=1000000 python tests/bench/bench_hours.py   # smaller
    BENCH_SQLITE=/var/tmp/hours.db BENCH_ENGINE=sqlite python tests/bench/bench_hours.py  # keep the file
    BENCH_REUSE=1 BENCH_SQLITE=/var/tmp/hours.db BENCH_ENGINE=sqlite python ...          # measure it again

The volunteers, teams and a ledger come from bench_leaderboard's generator (BENCH_ENTRIES ledger
entries, default one per volunteer); then exactly BENCH_RECORDS confirmed service records are
bulk-loaded (kinds mixed, spread over the last 13 months, a few very active people), every
``minutes_served`` is set to the sum of its records and the day totals are summed from them
(``service.check_integrity`` agrees). It
measures, in the same run and through the Flask test client:

* ``GET /api/v1/me`` (the bare endpoint) and ``GET /api/v1/leaderboard?period=month`` (today's
  yardstick for a report over everyone);
* ``GET /api/v1/users/{id}/service`` for the most active volunteer, all time and this month;
* the hours reports' service functions for the whole station this month: hours by kind, hours by
  team, the first 200 people of the hours table, a certificate.

Prints median and p95 in milliseconds and the ratios to the bare endpoint. The PostgreSQL
database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_ENTRIES", os.environ.get("BENCH_USERS", "100000"))

import bench_leaderboard as base  # noqa: E402  (the volunteers, teams and ledger)

RECORDS = int(os.environ.get("BENCH_RECORDS", "5000000"))
#: BENCH_REUSE=1 measures the data a former run left (BENCH_SQLITE's file, or the PostgreSQL
#: database) instead of loading it again.
REUSE = os.environ.get("BENCH_REUSE") == "1"
KINDS = ("patrol", "patrol", "patrol", "tea_room", "mediation", "publicity", "care_visit", "training")
SOURCES = {"patrol": "outing", "tea_room": "duty_post", "mediation": "duty_post", "publicity": "event",
           "care_visit": "entry", "training": "event"}


def load_records(app, now: datetime) -> float:
    """Bulk-load RECORDS confirmed records (one transaction) and set every minutes_served."""
    from volunteer_app.timeutil import UTC

    engine = app.extensions["db_engine"]
    rng = random.Random(17)
    counts = base.entry_counts(rng, base.USERS, RECORDS)
    started = time.perf_counter()
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("SELECT id FROM users ORDER BY id")
    user_ids = [row[0] for row in cur.fetchall()][-base.USERS:]
    on_pg = engine.dialect.name == "postgresql"
    columns = ("station_id, user_id, kind, place, started_at, ended_at, last_scan_at, minutes, weighted_minutes, "
               "points, source, status, note, review_note, created_at")
    span = 395 * 24 * 3600

    def rows():
        for user_id, count in zip(user_ids, counts):
            for _ in range(count):
                start = now - timedelta(seconds=rng.randrange(span))
                minutes = rng.choice((10, 30, 45, 60, 90, 120, 180, 240))
                kind = rng.choice(KINDS)
                end = start + timedelta(minutes=minutes)
                stamp = start if on_pg else start.astimezone(UTC).replace(tzinfo=None)
                stop = end if on_pg else end.astimezone(UTC).replace(tzinfo=None)
                yield (1, user_id, kind, "湖滨", stamp, stop, stop, minutes, minutes, 0, SOURCES[kind], "confirmed",
                       "", "", stop)

    if on_pg:
        with cur.copy(f"COPY service_records ({columns}) FROM STDIN") as copy:
            for row in rows():
                copy.write_row(row)
    else:
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.executemany(f"INSERT INTO service_records ({columns}) VALUES ({', '.join('?' * 15)})",
                        ((*row[:4], str(row[4]), str(row[5]), str(row[6]), *row[7:14], str(row[14]))
                         for row in rows()))
    day = "(started_at AT TIME ZONE 'Asia/Shanghai')::date" if on_pg else "date(started_at, '+8 hours')"
    cur.execute(f"INSERT INTO service_day_totals (user_id, day, kind, station_id, minutes, records) "
                f"SELECT user_id, {day}, kind, station_id, SUM(minutes), COUNT(*) FROM service_records "
                f"WHERE status = 'confirmed' GROUP BY user_id, {day}, kind, station_id")
    # From the day totals in one pass (a subquery per person would be planned on the statistics
    # of an empty table: PostgreSQL has not analysed the rows this transaction loaded).
    cur.execute("UPDATE users SET minutes_served = t.minutes FROM (SELECT user_id, SUM(minutes) AS minutes "
                "FROM service_day_totals GROUP BY user_id) AS t WHERE t.user_id = users.id")
    cur.execute("INSERT INTO service_station_days (station_id, day, kind, minutes, records) "
                "SELECT station_id, day, kind, SUM(minutes), SUM(records) FROM service_day_totals "
                "GROUP BY station_id, day, kind")
    cur.execute(base.TEAM_DAYS_FROM_MEMBERS)
    raw.commit()
    cur.execute("ANALYZE")
    if not on_pg:
        cur.execute("PRAGMA journal_mode=WAL")
    raw.commit()
    cur.close()
    raw.close()
    return time.perf_counter() - started


def measure(url: str) -> None:
    from sqlalchemy import func
    from sqlmodel import select

    from volunteer_app import db
    from volunteer_app.models import ServiceRecord, User
    from volunteer_app.services import accounts, recognition, reports, service
    from volunteer_app.services.dashboard import scope_for, scope_people

    now = datetime.now(timezone.utc)
    app = base.build_app(url, cache_seconds=0)
    engine = app.extensions["db_engine"]
    if not REUSE:
        base.generate(app, now)
        seconds = load_records(app, now)
        base.log(f"{RECORDS} service records loaded in {seconds:.0f} s")
    with app.app_context(), db.unit_of_work(engine) as s:
        busiest = s.exec(select(ServiceRecord.user_id, func.count()).group_by(ServiceRecord.user_id)
                         .order_by(func.count().desc()).limit(1)).one()
        viewer = s.get(User, busiest[0])
        token, _ = accounts.issue_token(s, viewer, kind="api")
        admin = s.exec(select(User).where(User.username == "bench-admin")).first() or accounts.create_user(
            s, None, username="bench-admin", password="bench-admin-pass-2026", display_name="管理员", roles=["admin"])
        admin_id = admin.id
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()

    def get(path):
        def run():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return run

    month = now.astimezone(base.CST).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = month.isoformat().replace("+", "%2B")
    results = {"bare GET /api/v1/me": base.timed(get("/api/v1/me")),
               "GET /api/v1/leaderboard?period=month, no cache": base.timed(get("/api/v1/leaderboard?period=month")),
               f"GET /api/v1/users/{{id}}/service, all ({busiest[1]} records)":
                   base.timed(get(f"/api/v1/users/{viewer.id}/service"), repeat=max(5, base.REPEAT // 4)),
               "GET /api/v1/users/{id}/service?since=<this month>":
                   base.timed(get(f"/api/v1/users/{viewer.id}/service?since={since}"))}
    with app.app_context(), db.unit_of_work(engine, write=False) as s:
        admin = s.get(User, admin_id)
        p = reports.period(month.date(), now.astimezone(base.CST).date())
        scope = scope_for(s, admin)
        fewer = max(3, base.REPEAT // 8)
        results["service: teams' ranking (200 teams), this month, no cache"] = base.timed(
            lambda: recognition.team_ranking(s, admin, "month"), repeat=fewer)
        results["service: hours by kind, station, this month"] = base.timed(
            lambda: reports.hours_by_kind(s, scope, p), repeat=fewer)
        results["service: hours by team (200 teams), this month, no cache"] = base.timed(
            lambda: reports.hours_by_team(s, scope, p), repeat=fewer)
        app.config["LEADERBOARD_CACHE_SECONDS"] = 60  # the deployment's default: the shared cache

        def cached_team_hours():  # a transaction per call, as a request has (one sees what another stored)
            with db.unit_of_work(engine, write=False) as request_session:
                reports.hours_by_team(request_session, scope_for(request_session, request_session.get(User, admin_id)), p)
        results["service: hours by team (200 teams), this month, cached"] = base.timed(cached_team_hours)
        app.config["LEADERBOARD_CACHE_SECONDS"] = 0
        results["service: first 200 people of the hours table, this month"] = base.timed(
            lambda: [row for _, row in zip(range(201), reports.hours_rows(s, scope_people(scope), p, batch=201))],
            repeat=fewer)
        results["service: a certificate, this month"] = base.timed(
            lambda: reports.certificate(s, admin, viewer.id, p))
        started = time.perf_counter()
        problems = service.check_integrity(s)
        check_seconds = time.perf_counter() - started
    print()
    print(f"engine: {engine.dialect.name}; {base.USERS} volunteers, {RECORDS} service records")
    base.print_ratios(results)
    print(f"service.check_integrity: {len(problems)} problems in {check_seconds:.1f} s")


def main() -> None:
    from volunteer_app.config import normalise_database_url
    pg = os.environ.get("TEST_DATABASE_URL")
    if os.environ.get("BENCH_ENGINE", "both") in ("both", "sqlite"):
        path = Path(os.environ.get("BENCH_SQLITE") or Path(tempfile.mkdtemp(prefix="hours-bench-")) / "bench.db")
        base.log(f"SQLite at {path}")
        measure(f"sqlite:///{path}")
    if pg and os.environ.get("BENCH_ENGINE", "both") in ("both", "postgresql"):
        base.log("PostgreSQL")
        measure(normalise_database_url(pg))


if __name__ == "__main__":
    main()
