"""A county at scale: 200 stations, 200,000 volunteers, 20,000,000 ledger entries, with the
check-ins and service records they imply; PostgreSQL (SQLite works for smaller runs).

    TEST_DATABASE_URL=postgresql://dev:dev@127.0.0.1/<db> python tests/bench/bench_scale.py
    BENCH_STATIONS=20 BENCH_USERS=20000 BENCH_ENTRIES=1000000 python tests/bench/bench_scale.py  # smaller

The ledger, the volunteers, their teams (one checkpoint each) and the leaderboard totals come from
``bench_leaderboard.generate`` spread over the stations. Then, inside the database, from those
entries: one check-in for each ``checkin`` entry (at its team's checkpoint, at the entry's time),
one confirmed two-hour patrol record for each ``shift`` entry, and the summary tables the writes
keep (``station_days``, ``service_day_totals``, ``service_station_days``, ``service_team_days``,
``users.minutes_served`` and ``last_active_on``), so that ``volunteer-app check`` would agree. Then ANALYZE.

Measured in the same run through the Flask test client (no network), beside the bare read
``GET /api/v1/me`` of a volunteer in the middle of a station's board:

* the county summary for this month (a county_admin);
* a station's dashboard page (``/manage/dashboard``, its admin, signed in through the form);
* a station's month leaderboard (``GET /api/v1/leaderboard?period=month``, no cache);
* the volunteer's home page (``/``, signed in through the form);
* the station's reports page (``/reports``, its admin: hours by kind, by team with no cache, the
  first 200 rows of the hours table, by grid).

Prints median and p95 in ms and the ratios to the bare read. The database named in
TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
os.environ.setdefault("BENCH_STATIONS", "200")
os.environ.setdefault("BENCH_USERS", "200000")
os.environ.setdefault("BENCH_ENTRIES", "20000000")

import bench_leaderboard as base  # noqa: E402  (reads the BENCH_* settings above)

REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
#: BENCH_REUSE=1 measures the county already in the database (a former run's) instead of loading one.
REUSE = os.environ.get("BENCH_REUSE") == "1"
#: BENCH_PROFILE=1 also prints the slowest statements of one dashboard request.
TZ = "Asia/Shanghai"
PASSWORD = "bench-password"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


#: The statements of ``derive`` that update users (after the derived tables' indexes are back).
UPDATES = ("minutes_served", "last_active_on")
#: The tables ``derive`` fills.
DERIVED = ("checkpoints", "checkins", "service_records", "service_day_totals", "service_station_days",
           "service_team_days", "station_days")


def derive(engine) -> dict[str, int]:
    """Check-ins, service records and the summary tables, from the generated ledger."""
    from sqlalchemy import text

    pg = engine.dialect.name == "postgresql"
    if pg:
        day = lambda column: f"(({column}) AT TIME ZONE '{TZ}')::date"  # noqa: E731
        minus_two_hours = "e.created_at - interval '2 hours'"
        now = "now()"
    else:
        day = lambda column: f"date({column}, '+8 hours')"  # noqa: E731  (the station's zone has no summer time)
        minus_two_hours = "datetime(e.created_at, '-2 hours')"
        now = "CURRENT_TIMESTAMP"
    statements = {
        "checkpoints": f"""
            INSERT INTO checkpoints (id, station_id, team_id, name, description, radius_m, require_location, points,
                                     cooldown_minutes, active, code_version, duty_post, service_kind, max_duty_hours,
                                     created_at)
            SELECT id, station_id, id, name || '巡逻点', '', 100, false, 5, 30, true, 1, false, 'patrol', 12, {now}
            FROM teams""",
        "checkins": """
            INSERT INTO checkins (user_id, kind, direction, checkpoint_id, points_awarded, created_at, received_at)
            SELECT e.user_id, 'checkpoint', 'in', m.team_id, e.amount, e.created_at, e.created_at
            FROM ledger_entries e JOIN team_memberships m ON m.user_id = e.user_id
            WHERE e.kind = 'checkin'""",
        "service_records": f"""
            INSERT INTO service_records (station_id, user_id, kind, place, started_at, ended_at, minutes,
                                         weighted_minutes, points, source, status, note, review_note, created_at)
            SELECT u.station_id, e.user_id, 'patrol', '巡逻', {minus_two_hours}, e.created_at, 120, 120, 0, 'route',
                   'confirmed', '', '', e.created_at
            FROM ledger_entries e JOIN users u ON u.id = e.user_id
            WHERE e.kind = 'shift'""",
        "service_day_totals": f"""
            INSERT INTO service_day_totals (user_id, day, kind, station_id, minutes, records)
            SELECT user_id, {day('started_at')}, kind, station_id, sum(minutes), count(*)
            FROM service_records GROUP BY user_id, {day('started_at')}, kind, station_id""",
        "service_station_days": """
            INSERT INTO service_station_days (station_id, day, kind, minutes, records)
            SELECT station_id, day, kind, sum(minutes), sum(records)
            FROM service_day_totals GROUP BY station_id, day, kind""",
        "service_team_days": base.TEAM_DAYS_FROM_MEMBERS,
        "minutes_served": """
            UPDATE users SET minutes_served = COALESCE(
                (SELECT sum(t.minutes) FROM service_day_totals t WHERE t.user_id = users.id), 0)""",
        "station_days": f"""
            INSERT INTO station_days (station_id, day, checkins, points_issued, points_redeemed, points_lapsed)
            SELECT u.station_id, {day('e.created_at')},
                   sum(CASE WHEN e.kind = 'checkin' THEN 1 ELSE 0 END),
                   sum(CASE WHEN e.earned THEN e.amount ELSE 0 END),
                   sum(CASE WHEN e.kind IN ('redemption', 'refund') THEN -e.amount ELSE 0 END),
                   sum(CASE WHEN e.kind = 'expiry' THEN -e.amount ELSE 0 END)
            FROM ledger_entries e JOIN users u ON u.id = e.user_id
            GROUP BY u.station_id, {day('e.created_at')}""",
        "last_active_on": f"""
            UPDATE users SET last_active_on = (
                SELECT max({day('c.created_at')}) FROM checkins c WHERE c.user_id = users.id)""",
    }
    rows = {}
    raw = engine.raw_connection()
    cur = raw.cursor()
    # the derived tables' indexes and constraints are dropped for the inserts and rebuilt after
    rebuild = base._pg_defer(cur, DERIVED) if pg else base._sqlite_defer(cur, DERIVED)

    def run(names):
        for name in names:
            started = time.perf_counter()
            cur.execute(statements[name])
            rows[name] = cur.rowcount
            log(f"  {name}: {rows[name]} rows in {time.perf_counter() - started:.0f} s")

    run([name for name in statements if name not in UPDATES])
    started = time.perf_counter()
    for statement in rebuild:
        cur.execute(statement)
    if pg:
        for table in ("checkins", "service_records"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    log(f"  indexes of the derived tables: {time.perf_counter() - started:.0f} s")
    run(UPDATES)  # per person, through the rebuilt indexes
    raw.commit()
    cur.close()
    raw.close()
    if pg:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return rows


def main() -> None:
    import logging

    from sqlalchemy import text
    from sqlmodel import select

    from volunteer_app import create_app, db
    from volunteer_app.config import normalise_database_url
    from volunteer_app.models import PointsTotal, User
    from volunteer_app.services import accounts, recognition

    url = normalise_database_url(os.environ.get("TEST_DATABASE_URL")
                                 or f"sqlite:///{tempfile.mkdtemp(prefix='scale-')}/bench.db")
    logging.getLogger("volunteer_app.requests").setLevel(logging.WARNING)
    config = {"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tempfile.mkdtemp(prefix="scale-"),
              "FAST_PASSWORD_HASH": True, "LEADERBOARD_CACHE_SECONDS": 0, "WTF_CSRF_ENABLED": False}
    app = create_app(config)
    engine = app.extensions["db_engine"]
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    log(f"{engine.dialect.name}: {base.STATIONS} stations, {base.USERS} volunteers, {base.ENTRIES} entries")
    if REUSE:
        with engine.connect() as conn:
            rows = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("checkins", "service_records")}
    else:
        base.generate(app, now)
        rows = derive(engine)
    generation = time.perf_counter() - started
    station = base.STATIONS // 2 + 1
    with app.app_context(), db.unit_of_work(engine) as s:
        month = recognition.period_start("month", now)
        ranked = s.exec(select(PointsTotal.user_id).where(
            PointsTotal.period == "month", PointsTotal.period_start == month, PointsTotal.station_id == station)
            .order_by(PointsTotal.points.desc())).all()
        viewer = s.get(User, ranked[len(ranked) // 2])
        viewer.password_hash = accounts.hash_password(PASSWORD)
        viewer_name = viewer.username
        viewer_token, _ = accounts.issue_token(s, viewer, kind="api")
        admin = s.exec(select(User).where(User.username == "station-admin")).first() or accounts.create_user(
            s, None, username="station-admin", password=PASSWORD, display_name="所长", roles=["admin"],
            station_id=station)
        boss = s.exec(select(User).where(User.username == "county-boss")).first() or accounts.create_user(
            s, None, username="county-boss", password=PASSWORD, display_name="县局", roles=["county_admin"],
            station_id=1)
        boss_token, _ = accounts.issue_token(s, boss, kind="api")
        admin_name = admin.username

    def api(token, path):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def run():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return run

    def page(username, path):
        client = app.test_client()
        signed = client.post("/login", data={"username": username, "password": PASSWORD})
        assert signed.status_code == 302, signed.get_data(as_text=True)[:300]

        def run():
            response = client.get(path)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return run

    results = {"bare GET /api/v1/me": base.timed(api(viewer_token, "/api/v1/me"), REPEAT),
               "county summary, this month": base.timed(api(boss_token, "/api/v1/county/summary"), REPEAT),
               "a station's dashboard page": base.timed(page(admin_name, "/manage/dashboard"), REPEAT),
               "a station's month leaderboard, no cache": base.timed(
                   api(viewer_token, "/api/v1/leaderboard?period=month"), REPEAT),
               "a volunteer's home page": base.timed(page(viewer_name, "/"), REPEAT),
               "a station's reports page, this month, no cache": base.timed(page(admin_name, "/reports"), REPEAT)}
    results["bare GET /api/v1/me, again"] = base.timed(api(viewer_token, "/api/v1/me"), REPEAT)
    print()
    print(f"engine: {engine.dialect.name}; {base.STATIONS} stations, {base.USERS} volunteers, {base.ENTRIES} ledger "
          f"entries, {rows['checkins']} check-ins, {rows['service_records']} service records; "
          f"generated in {generation:.0f} s")
    base.print_ratios(results)
    if os.environ.get("BENCH_PROFILE") == "1":
        profile(engine, page(admin_name, "/manage/dashboard"))
    engine.dispose()


def profile(engine, request) -> None:
    """The statements of one request, slowest first, with their share of the request's time."""
    from sqlalchemy import event

    spent: list[tuple[float, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        spent.append(((time.perf_counter() - conn.info.pop("bench_started")) * 1000, " ".join(statement.split())))

    request()  # warm
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    started = time.perf_counter()
    request()
    total = (time.perf_counter() - started) * 1000
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    print(f"\none dashboard request: {total:.1f} ms, {len(spent)} statements, {sum(ms for ms, _ in spent):.1f} ms in them")
    for ms, statement in sorted(spent, reverse=True)[:12]:
        print(f"{ms:8.2f} ms  {statement[:160]}")


if __name__ == "__main__":
    main()
