"""Redemption throughput against the authenticated bare read, in the same run.

Serves the app with gunicorn (``volunteer-app serve``) on a loopback port, then drives it at
concurrency 8 with http.client, a new connection per request (as bench_checkin.py):

* baseline: ``GET /api/v1/me`` with volunteers' bearer tokens;
* redemptions: ``POST /api/v1/store/redemptions`` by a clerk, each for a different volunteer.

Runs on SQLite, and on PostgreSQL too when ``TEST_DATABASE_URL`` is set (that database is wiped).
Reports requests/s, p50/p99 latency, errors, and the throughput ratio redemptions / baseline.

    python tests/bench/bench_store.py [--requests 1600] [--workers 4] [--port PORT]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text
from sqlmodel import SQLModel

CONCURRENCY = 8
WARM_UP = 100
sys.path.insert(0, str(Path(__file__).parent))
from bench_checkin import request  # noqa: E402


def prepare(url: str, instance: str, volunteers: int) -> tuple[str, list[str], list[int], int]:
    """A fresh schema with a clerk, ``volunteers`` volunteers with points, and one item."""
    os.environ["DATABASE_URL"] = url
    os.environ["INSTANCE_PATH"] = instance
    os.environ["SECRET_KEY"] = "bench-secret"
    from volunteer_app import create_app, db, models  # noqa: F401
    from volunteer_app.cli import init_db
    from volunteer_app.services import accounts, ledger, store

    app = create_app({"FAST_PASSWORD_HASH": True})
    engine = app.extensions["db_engine"]
    if not url.startswith("sqlite"):
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    init_db(app)
    SQLModel.metadata.create_all(engine)  # tables newer than the migration
    with app.app_context(), db.unit_of_work(engine) as session:
        station = accounts.default_station(session)
        admin = accounts.create_user(session, None, username="bench-admin", password="bench-pass-1",
                                     display_name="admin", roles=["admin"], station_id=station.id)
        clerk = accounts.create_user(session, None, username="bench-clerk", password="bench-pass-1",
                                     display_name="clerk", roles=["clerk"], station_id=station.id)
        item = store.create_item(session, admin, name="肥皂", cost=1, stock=1_000_000)
        clerk_token, _ = accounts.issue_token(session, clerk)
        tokens, ids = [], []
        for number in range(volunteers):
            user = accounts.create_user(session, None, username=f"bench{number:05d}", password="bench-pass-1",
                                        display_name=f"志愿者{number}", station_id=station.id)
            ledger.post(session, user.id, 1000, "adjustment", f"bench-seed:{user.id}", reason="bench")
            tokens.append(accounts.issue_token(session, user)[0])
            ids.append(user.id)
        item_id = item.id
    engine.dispose()
    return clerk_token, tokens, ids, item_id


def serve(url: str, instance: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, INSTANCE_PATH=instance, SECRET_KEY="bench-secret", LOG_LEVEL="WARNING")
    command = shutil.which("volunteer-app") or str(Path(sys.executable).with_name("volunteer-app"))
    log = open(Path(instance) / "server.log", "w")
    process = subprocess.Popen([command, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop(process)
    raise SystemExit("server did not start:\n" + (Path(instance) / "server.log").read_text()[-2000:])


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn and its workers: the group we started
    except ProcessLookupError:
        return
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def drive(make_request, total: int) -> dict:
    """``total`` requests spread over CONCURRENCY threads; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker():
        while True:  # one light http.client connection per request, as in bench_checkin.py
            with lock:
                index = next(counter, None)
            if index is None:
                return
            started = time.perf_counter()
            try:
                status, data = make_request(index)
                ok = status < 300
                detail = f"{status} {data[:120]!r}"
            except OSError as error:
                ok, detail = False, repr(error)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors.append(detail)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"rps": total / wall, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], "errors": errors}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(engine_name: str, url: str, args) -> dict:
    instance = tempfile.mkdtemp(prefix="bench-store-")
    port = args.port or free_port()
    clerk_token, tokens, ids, item_id = prepare(url, instance, args.requests + WARM_UP)
    process = serve(url, instance, port, args.workers)
    try:
        def me(index):
            return request(port, "GET", "/api/v1/me", tokens[index % len(tokens)])

        def redeem(index, offset=0):
            return request(port, "POST", "/api/v1/store/redemptions", clerk_token,
                           {"user_id": ids[offset + index], "item_id": item_id})

        # Warm up every worker on both kinds (connections, compiled statements), with volunteers
        # of their own, then measure.
        drive(me, WARM_UP)
        drive(lambda index: redeem(index, args.requests), WARM_UP)
        baseline = drive(me, args.requests)
        redemptions = drive(redeem, args.requests)
    finally:
        stop(process)
    return {"engine": engine_name, "baseline": baseline, "redemptions": redemptions}


def report(result: dict) -> None:
    base, red = result["baseline"], result["redemptions"]
    print(f"[{result['engine']}] GET /me: {base['rps']:.0f} req/s, p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms, "
          f"errors {len(base['errors'])}")
    print(f"[{result['engine']}] redemptions: {red['rps']:.0f} req/s, p50 {red['p50']:.1f} ms, "
          f"p99 {red['p99']:.1f} ms, errors {len(red['errors'])}")
    print(f"[{result['engine']}] ratio redemptions/me throughput: {red['rps'] / base['rps']:.2f}; "
          f"p99 ratio {red['p99'] / base['p99']:.2f}")
    for error in (base["errors"] + red["errors"])[:5]:
        print("   error:", error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1600)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (as bench_checkin.py)")
    parser.add_argument("--port", type=int, default=0, help="default: a free loopback port")
    args = parser.parse_args()
    results = []
    sqlite_dir = tempfile.mkdtemp(prefix="bench-store-db-")
    results.append(run("sqlite", f"sqlite:///{Path(sqlite_dir) / 'bench.db'}", args))
    if os.environ.get("TEST_DATABASE_URL"):
        from volunteer_app.config import normalise_database_url
        results.append(run("postgresql", normalise_database_url(os.environ["TEST_DATABASE_URL"]), args))
    for result in results:
        report(result)


if __name__ == "__main__":
    main()
