"""The county's summary at scale: 200 stations and 200,000 volunteers, a year and a month of
station days, tips; SQLite and PostgreSQL.

    python tests/bench/bench_county.py                      # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_county.py
    BENCH_USERS=20000 python tests/bench/bench_county.py     # smaller

The generator bulk-loads the stations, the volunteers (each with the day of their latest
check-in, a third of them within 30 days), 400 days of ``station_days`` and of ``service_station_days`` (two
kinds) per station (what the writes keep) and 100 tips a station. The summary reads those tables only, never the ledger or
the check-ins, so their size does not enter (the leaderboard's benchmark loads a 5 M-entry
ledger). Measured in the same run through the Flask test client: ``GET /api/v1/me`` (the bare
read), ``GET /api/v1/county/summary`` for this month and for a whole year, and the county
dashboard page. Prints median and p95 in ms and the ratios to the bare read. The PostgreSQL
database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

STATIONS = 200
USERS = int(os.environ.get("BENCH_USERS", "200000"))
DAYS = 400
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(fn, repeat: int = REPEAT) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    import logging

    from sqlalchemy import insert, text
    from sqlmodel import SQLModel

    from volunteer_app import create_app, db
    from volunteer_app.models import ServiceStationDay, Station, StationDay, Tip, User
    from volunteer_app.services import accounts

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='county-')}/bench.db"
    from volunteer_app.config import normalise_database_url
    url = normalise_database_url(url)
    logging.getLogger("volunteer_app.requests").setLevel(logging.WARNING)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tempfile.mkdtemp(prefix="cty-"),
                      "FAST_PASSWORD_HASH": True})
    engine = app.extensions["db_engine"]
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    rng = random.Random(20)
    today = date.today()
    now = datetime.now(timezone.utc)
    accounts.configure_hasher(fast=True)
    password_hash = accounts.hash_password("bench password 1")
    log(f"loading {STATIONS} stations, {USERS} volunteers, {STATIONS * DAYS} station days")
    with engine.begin() as conn:
        conn.execute(insert(Station), [{"id": s, "name": f"第{s}派出所", "short_name": f"{s}所", "join_version": 1,
                                        "created_at": now} for s in range(1, STATIONS + 1)])
        batch = []
        for number in range(1, USERS + 1):
            recent = rng.random() < 0.33
            batch.append({"station_id": rng.randint(1, STATIONS), "username": f"v{number}", "username_skeleton": f"v{number}",
                          "display_name": f"志愿者{number}", "roles": "volunteer", "status": "active",
                          "password_hash": password_hash, "session_version": 1, "balance": 0, "lifetime_points": 0,
                          "minutes_served": 0, "language": "zh_CN", "large_mode": False, "large_mode_offered": True,
                          "leaderboard_anonymous": False, "created_at": now,
                          "last_active_on": today - timedelta(days=rng.randint(0, 29) if recent else rng.randint(30, 400))})
            if len(batch) == 10_000:
                conn.execute(insert(User), batch)
                batch = []
        if batch:
            conn.execute(insert(User), batch)
        days = [{"station_id": s, "day": today - timedelta(days=d), "checkins": rng.randint(0, 400),
                 "points_issued": rng.randint(0, 3000),
                 "points_redeemed": rng.randint(0, 1000)} for s in range(1, STATIONS + 1) for d in range(DAYS)]
        for start in range(0, len(days), 10_000):
            conn.execute(insert(StationDay), days[start:start + 10_000])
        served = [{"station_id": s, "day": today - timedelta(days=d), "kind": kind, "minutes": rng.randint(0, 10_000),
                   "records": rng.randint(0, 50)} for s in range(1, STATIONS + 1) for d in range(DAYS)
                  for kind in ("patrol", "tea_room")]
        for start in range(0, len(served), 10_000):
            conn.execute(insert(ServiceStationDay), served[start:start + 10_000])
        conn.execute(insert(Tip), [{"station_id": s, "reporter_id": 1, "category": "hazard", "description": "隐患",
                                    "status": rng.choice(["triaged", "closed"]), "level": rng.choice(["red", "yellow", "blue"]),
                                    "due_at": now - timedelta(days=rng.randint(-5, 60)), "points_awarded": 0,
                                    "created_at": now - timedelta(days=rng.randint(0, 365))}
                                   for s in range(1, STATIONS + 1) for _ in range(100)])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with app.app_context(), db.unit_of_work(engine) as session:
        boss = accounts.create_user(session, None, username="county-boss", password="bench password 1",
                                    display_name="县局", roles=["county_admin"], station_id=1)
        raw, _token = accounts.issue_token(session, boss, kind="api")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}

    def get(path):
        def run():
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return run

    year_ago = (today - timedelta(days=365)).isoformat()
    results = {"GET /api/v1/me": timed(get("/api/v1/me")),
               "county summary, this month": timed(get("/api/v1/county/summary")),
               "county summary, a year": timed(get(f"/api/v1/county/summary?since={year_ago}"))}
    bare = results["GET /api/v1/me"][0]
    log(f"{engine.dialect.name}: {STATIONS} stations, {USERS} volunteers, {STATIONS * DAYS} station days")
    for name, (median, p95) in results.items():
        print(f"  {name:32s} median {median:8.2f} ms  p95 {p95:8.2f} ms  × bare {median / bare:6.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
