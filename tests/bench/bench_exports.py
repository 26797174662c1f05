"""Export speed and memory: a 100,000-row ledger CSV and the dashboard, against a bare read.

    python tests/bench/bench_exports.py            # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_exports.py

Builds a fresh database (the models' tables), 500 volunteers in 5 teams with 100,000 ledger
entries and 50,000 check-ins over 8 weeks, then, in one process through Flask's test client
(so the figures are the app's own work, without a server):

* ``GET /healthz`` (bare read), median of 200;
* ``GET /reports/ledger.csv`` of the whole station (100,000 rows): time, rows/s, bytes, and
  the peak of Python allocations while the response is consumed (tracemalloc);
* ``GET /manage/dashboard`` for the admin (whole station) and a coordinator (one team).

Prints the timings and the ratios to the bare read. The PostgreSQL database in
TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from volunteer_app import create_app, db  # noqa: E402
from volunteer_app.config import normalise_database_url  # noqa: E402
from volunteer_app.models import Checkin, Checkpoint, LedgerEntry, Station, Team, TeamMembership, User  # noqa: E402
from volunteer_app.services import accounts  # noqa: E402

PASSWORD = "bench-password-1"
ENTRIES = 100_000
CHECKINS = 50_000
VOLUNTEERS = 500


def build(url: str):
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench", "FAST_PASSWORD_HASH": True,
                      "INSTANCE_PATH": tempfile.mkdtemp()})
    engine = app.extensions["db_engine"]
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    rng = random.Random(1)
    now = datetime.now(timezone.utc)
    with app.app_context(), db.unit_of_work(engine) as session:
        station = Station(name="西湖派出所")
        session.add(station)
        session.flush()
        pw = accounts.hash_password(PASSWORD)
        teams = [Team(station_id=station.id, name=f"巡逻队{n}") for n in range(5)]
        session.add_all(teams)
        admin = User(station_id=station.id, username="admin", display_name="站长", roles="admin", status="active",
                     password_hash=pw, large_mode_offered=True)
        coord = User(station_id=station.id, username="coord", display_name="队长", roles="coordinator volunteer",
                     status="active", password_hash=pw, large_mode_offered=True)
        session.add_all([admin, coord])
        session.flush()
        session.add(TeamMembership(team_id=teams[0].id, user_id=coord.id, role="coordinator"))
        users = [User(station_id=station.id, username=f"v{n}", display_name=f"志愿者{n}", status="active",
                      password_hash=pw) for n in range(VOLUNTEERS)]
        session.add_all(users)
        session.flush()
        for n, user in enumerate(users):
            session.add(TeamMembership(team_id=teams[n % 5].id, user_id=user.id))
        cps = [Checkpoint(station_id=station.id, team_id=teams[n % 5].id, name=f"巡逻点{n}") for n in range(40)]
        session.add_all(cps)
        session.flush()
        rows = [{"user_id": rng.choice(users).id, "kind": "checkpoint", "checkpoint_id": rng.choice(cps).id,
                 "points_awarded": 5, "created_at": now - timedelta(minutes=rng.randrange(60 * 24 * 56))}
                for _ in range(CHECKINS)]
        session.execute(insert(Checkin), rows)
        entries = [{"user_id": rng.choice(users).id, "amount": 5, "kind": "checkin", "reason": "巡逻签到",
                    "ref": f"bench:{n}", "balance_after": 5, "earned": True,
                    "created_at": now - timedelta(minutes=rng.randrange(60 * 24 * 56))} for n in range(ENTRIES)]
        for start in range(0, ENTRIES, 20_000):
            session.execute(insert(LedgerEntry), entries[start:start + 20_000])
    return app


def login(client, username):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    url = normalise_database_url(os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    engine_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    started = time.perf_counter()
    app = build(url)
    print(f"{engine_name}: built in {time.perf_counter() - started:.1f} s")
    bare = timed(lambda: app.test_client().get("/healthz"), 200)
    print(f"bare GET /healthz: {bare * 1000:.2f} ms")

    admin = app.test_client()
    login(admin, "admin")

    first = (datetime.now(timezone.utc) - timedelta(days=70)).date().isoformat()

    def export():
        response = admin.get(f"/reports/ledger.csv?from={first}", buffered=False)
        size = lines = 0
        for chunk in response.iter_encoded():
            size += len(chunk)
            lines += chunk.count(b"\n")
        response.close()
        return size, lines

    tracemalloc.start()
    began = time.perf_counter()
    size, lines = export()
    spent = time.perf_counter() - began
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"ledger CSV (traced): {lines - 1} rows, {size / 1e6:.1f} MB, peak Python allocations {peak / 1e6:.2f} MB "
          f"({peak / size:.1%} of the file)")
    export_time = timed(export, 3)
    print(f"ledger CSV: {export_time:.2f} s, {(lines - 1) / export_time:,.0f} rows/s, "
          f"{export_time / bare:,.0f} x the bare read")
    dash_admin = timed(lambda: admin.get("/manage/dashboard"), 5)
    print(f"dashboard, whole station: {dash_admin * 1000:.0f} ms ({dash_admin / bare:,.0f} x the bare read)")
    coord = app.test_client()
    login(coord, "coord")
    dash_coord = timed(lambda: coord.get("/manage/dashboard"), 5)
    print(f"dashboard, one team: {dash_coord * 1000:.0f} ms ({dash_coord / bare:,.0f} x the bare read)")
    app.extensions["db_engine"].dispose()


if __name__ == "__main__":
    main()
