"""The points sweep (``volunteer-app expire-points``) at scale: 100,000 volunteers and 5,000,000
ledger entries on SQLite (a temporary file) or PostgreSQL.

    python tests/bench/bench_expiry.py
    BENCH_USERS=10000 BENCH_ENTRIES=500000 python tests/bench/bench_expiry.py       # smaller
    TEST_DATABASE_URL=postgresql://dev:dev@127.0.0.1/<db> python tests/bench/bench_expiry.py

Every volunteer has BENCH_ENTRIES / BENCH_USERS earned entries spread over the last 25 months,
each a lot under ``year_end:1``: what was earned two calendar years ago is past its day (about
8 % of the lots, in nearly every balance: the sweep writes one ``expiry`` entry per person), what
was earned last year lapses on 31 December of this year (a notice 30 days before, once the day
is within 30 days). Measured, in the same run:

* ``GET /api/v1/me`` (which reads ``expiring``) through the test client, alone;
* the sweep, run as its own process (as cron runs it), in seconds; meanwhile ``GET /api/v1/me``
  again, in the benchmark's process: does a request keep its speed while the sweep runs?
* a second sweep (nothing to do: it must find that quickly);
* ``ledger.check_lots`` afterwards (0 problems expected).

The PostgreSQL database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

USERS = int(os.environ.get("BENCH_USERS", "100000"))
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "5000000"))
CST = timezone(timedelta(hours=8))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_app(url: str, instance: str):
    import logging
    from volunteer_app import create_app
    logging.getLogger("volunteer_app.requests").setLevel(logging.WARNING)
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance,
                       "FAST_PASSWORD_HASH": True, "POINTS_EXPIRE": "year_end:1"})


def load(app) -> None:
    """Bulk-load a station, the volunteers, their entries and lots (raw executemany)."""
    from sqlmodel import SQLModel
    from volunteer_app import models  # noqa: F401
    from volunteer_app.services import accounts
    engine = app.extensions["db_engine"]
    pg = engine.dialect.name == "postgresql"
    if pg:
        SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    rng = random.Random(23)
    now = datetime.now(timezone.utc)
    per_user = max(1, ENTRIES // USERS)
    start = now - timedelta(days=25 * 30)
    span = (now - start).total_seconds() - 3600
    password = accounts.hash_password("bench-password-1")
    if pg:
        raw = engine.raw_connection()
    else:  # a plain connection for the load: no write queue, no fsync per commit
        import sqlite3
        raw = sqlite3.connect(engine.url.database)
        raw.execute("PRAGMA synchronous = OFF")
    cur = raw.cursor()
    mark = "%s" if pg else "?"

    def insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})", rows)

    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if not pg else now
    insert("stations", ("id", "name", "created_at"), [(1, "西湖派出所", stamp)])
    entry_id = lot_id = 0
    for first in range(1, USERS + 1, 2000):
        users, entries, lots = [], [], []
        for user_id in range(first, min(first + 2000, USERS + 1)):
            balance = 0
            for _ in range(per_user):
                when = start + timedelta(seconds=rng.random() * span)
                amount = rng.randint(5, 10)
                balance += amount
                entry_id += 1
                lot_id += 1
                created = when if pg else when.strftime("%Y-%m-%d %H:%M:%S.%f")
                entries.append((entry_id, user_id, amount, "checkin", "", f"checkin:bench:{entry_id}", balance, True,
                                created))
                lots.append((lot_id, 1, user_id, entry_id, amount, amount, date(when.astimezone(CST).year + 1, 12, 31),
                             created))
            users.append((user_id, 1, f"v{user_id}", f"志愿者{user_id}", "volunteer", "active", password, 1, balance,
                          balance, 0, "zh_CN", False, True, False, stamp))
        insert("users", ("id", "station_id", "username", "display_name", "roles", "status", "password_hash",
                         "session_version", "balance", "lifetime_points", "minutes_served", "language", "large_mode",
                         "large_mode_offered", "leaderboard_anonymous", "created_at"), users)
        insert("ledger_entries", ("id", "user_id", "amount", "kind", "reason", "ref", "balance_after", "earned",
                                  "created_at"), entries)
        insert("points_lots", ("id", "station_id", "user_id", "entry_id", "amount", "remaining", "expires_on",
                               "created_at"), lots)
        raw.commit()
        if first % 20000 == 1:
            log(f"  {min(first + 1999, USERS)} volunteers loaded")
    if pg:
        for table in ("users", "ledger_entries", "points_lots"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    cur.execute("ANALYZE")
    raw.commit()
    raw.close()


def timed_me(client, token: str, seconds: float | None = None, count: int = 200) -> list[float]:
    """Latencies (ms) of GET /api/v1/me: ``count`` of them, or as many as fit in ``seconds``."""
    samples, began = [], time.perf_counter()
    while (seconds is None and len(samples) < count) or (seconds is not None and time.perf_counter() - began < seconds):
        t0 = time.perf_counter()
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    return samples


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    return (f"median {statistics.median(samples):.2f} ms, p95 {samples[int(len(samples) * 0.95)]:.2f} ms, "
            f"n={len(samples)}")


def sweep_process(url: str, instance: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance,
           "POINTS_EXPIRE": "year_end:1"}
    return subprocess.Popen([sys.executable, "-c", "from volunteer_app.cli import main; main()", "expire-points"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main() -> None:
    instance = tempfile.mkdtemp(prefix="expiry-bench-")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance}/bench.db"
    from volunteer_app.config import normalise_database_url
    url = normalise_database_url(url)
    app = build_app(url, instance)
    log(f"{app.extensions['db_engine'].dialect.name}: loading {USERS} volunteers, {ENTRIES} entries and lots")
    load(app)
    from volunteer_app.models import User
    from volunteer_app import db
    from volunteer_app.services import accounts, ledger
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        user = session.get(User, USERS // 2)
        token, _row = accounts.issue_token(session, user, kind="api")
    client = app.test_client()
    timed_me(client, token, count=50)  # warm up
    alone = timed_me(client, token)
    log(f"GET /api/v1/me alone: {summary(alone)}")
    began = time.perf_counter()
    process = sweep_process(url, instance)
    during = []
    while process.poll() is None:
        during += timed_me(client, token, seconds=1.0)
    took = time.perf_counter() - began
    log(f"sweep: {took:.1f} s: {process.stdout.read().strip()}")
    log(f"GET /api/v1/me while the sweep ran: {summary(during)}; "
        f"median x{statistics.median(during) / statistics.median(alone):.2f} of alone")
    began = time.perf_counter()
    process = sweep_process(url, instance)
    process.wait()
    log(f"second sweep: {time.perf_counter() - began:.1f} s: {process.stdout.read().strip()}")
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        began = time.perf_counter()
        problems = ledger.check_lots(session)
        log(f"check_lots: {len(problems)} problems in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
