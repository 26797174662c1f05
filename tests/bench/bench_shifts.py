"""Shift endpoints against a bare authenticated read, in one process (Flask test client).

    python tests/bench/bench_shifts.py            # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_shifts.py

Seeds one team with 300 volunteers and 60 upcoming shifts (routes of 4 checkpoints), then
measures, sequentially and in the same run:

* ``GET /api/v1/me``: the bare authenticated read;
* ``GET /api/v1/shifts``: 50 shifts with their routes and fill counts;
* ``POST /api/v1/shifts/{id}/signup``: every request a new (volunteer, shift) sign-up, with the
  locks, the overlap, window and no-show checks and the waitlist;
* ``GET /shifts`` (HTML): a volunteer's shift page.

Prints mean and p95 latency and the ratio to the bare read. The PostgreSQL database named in
TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))


def main() -> None:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from tests import factories
    from volunteer_app import create_app, db
    from volunteer_app.config import normalise_database_url
    from volunteer_app.timeutil import utcnow

    tmp = tempfile.mkdtemp(prefix="bench-shifts-")
    url = normalise_database_url(os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "FAST_PASSWORD_HASH": True,
                      "INSTANCE_PATH": f"{tmp}/instance", "PUBLIC_BASE_URL": "https://bench.example.cn"})
    engine = app.extensions["db_engine"]
    SQLModel.metadata.drop_all(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.create_all(engine)
    with app.app_context(), db.unit_of_work(engine) as session:
        team = factories.team(session)
        volunteers = [factories.user(session, team=team) for _ in range(300)]
        cps = [factories.patrol_checkpoint(session) for _ in range(8)]
        start = utcnow() + timedelta(days=1)
        shifts = [factories.shift(session, team, starts_at=start + timedelta(hours=3 * n),
                                  ends_at=start + timedelta(hours=3 * n + 2), capacity=5,
                                  route=cps[n % 4:n % 4 + 4]) for n in range(60)]
        shift_ids = [s.id for s in shifts]
    api = factories.ApiClient(app)
    for volunteer in volunteers:
        api.headers(volunteer)

    def timed(label, call, rounds=ROUNDS):
        call(0)  # warm up
        samples = []
        for n in range(1, rounds + 1):
            began = time.perf_counter()
            response = call(n)
            samples.append(time.perf_counter() - began)
            assert response.status_code < 300, (label, response.status_code, response.get_data()[:300])
        samples.sort()
        return label, statistics.mean(samples), samples[int(len(samples) * 0.95) - 1]

    me = volunteers[0]
    results = [
        timed("GET /api/v1/me", lambda n: api.get("/api/v1/me", user=me)),
        timed("GET /api/v1/shifts", lambda n: api.get("/api/v1/shifts", user=me)),
        timed("POST signup", lambda n: api.post(
            f"/api/v1/shifts/{shift_ids[n % 60]}/signup", user=volunteers[(n * 7) % 299 + 1])),
    ]
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post("/login", data={"csrf_token": csrf, "username": me.username, "password": factories.PASSWORD})
    results.append(timed("GET /shifts (page)", lambda n: browser.get("/shifts"), rounds=max(ROUNDS // 4, 20)))
    bare = results[0][1]
    print(f"engine: {engine.dialect.name}, rounds: {ROUNDS}")
    for label, mean, p95 in results:
        print(f"{label:24s} mean {mean * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms  x{mean / bare:5.2f} of bare read")


if __name__ == "__main__":
    main()
