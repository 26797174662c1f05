"""Check-in throughput and latency against a bare authenticated read, on SQLite and PostgreSQL.

    python tests/bench/bench_checkin.py            # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_checkin.py

For each engine: build a fresh database (the models' tables, stamped at the migrations' head),
seed 400 volunteers with bearer tokens and 40 checkpoints, start ``volunteer-app serve --workers 3``
(gunicorn) on a loopback port, then measure in the same run, at concurrency 8, the first two kinds
in turn (five rounds of 2 s each by default), so a change in the machine's speed weighs on both:

* ``GET /api/v1/me``: the bare authenticated read (token lookup + a small JSON answer);
* ``POST /api/v1/checkins``: every request a distinct (volunteer, checkpoint) pair, so every
  one is a real check-in (lock, insert, ledger, badges);
* a burst: 500 distinct volunteers checking in within 10 s (requests arrive evenly, 64 clients).

``BENCH_STATION_SETTINGS='{"NIGHT_FACTOR": 2}'`` gives the station settings of its own.

Prints requests/s, p50 and p99 latency, errors, and the ratios check-in / bare read. The
PostgreSQL database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CONCURRENCY = 8
PHASE_SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
VOLUNTEERS = 400
CHECKPOINTS = 40
ROUNDS = 5
BURST = 500
BURST_SECONDS = 10.0
SECRET = "bench-secret-key"
BASE = "http://bench.example.cn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str) -> tuple[list[str], list[str], list[str]]:
    """A fresh schema and seed data; (volunteer tokens, checkpoint URLs, burst volunteer tokens)."""
    from alembic import command
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from volunteer_app import create_app, db, migrate
    from volunteer_app.models import Checkpoint, User
    from volunteer_app.services import accounts, checkpoints

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "PUBLIC_BASE_URL": BASE,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-instance-")})
    engine = app.extensions["db_engine"]
    if engine.dialect.name == "postgresql":
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.create_all(engine)
    with engine.connect() as connection:  # the tables are the models': tell Alembic they are at head
        cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = connection
        command.stamp(cfg, "head")
        connection.commit()
    tokens, urls, burst = [], [], []
    with app.app_context(), db.unit_of_work(engine) as session:
        station = accounts.default_station(session)
        own = os.environ.get("BENCH_STATION_SETTINGS")  # the station's own settings (JSON), where the code has them
        if own and hasattr(station, "settings_json"):
            station.settings_json = own
        password = accounts.hash_password("bench-password-1")
        admin = User(station_id=station.id, username="bench-admin", display_name="站长", roles="admin",
                     status="active", password_hash=password)
        session.add(admin)
        people = [User(station_id=station.id, username=f"v{n:04d}", display_name=f"志愿者{n}", roles="volunteer",
                       status="active", password_hash=password) for n in range(VOLUNTEERS + BURST)]
        session.add_all(people)
        session.flush()
        for n in range(CHECKPOINTS):
            session.add(Checkpoint(station_id=station.id, name=f"巡逻点{n}", points=5, cooldown_minutes=30))
        session.flush()
        for person in people:
            raw, _ = accounts.issue_token(session, person)
            (tokens if len(tokens) < VOLUNTEERS else burst).append(raw)
        from sqlmodel import select
        for row in session.exec(select(Checkpoint).order_by(Checkpoint.id)):
            urls.append(checkpoints.checkin_url(BASE, checkpoints.token(row)))
    engine.dispose()
    return tokens, urls, burst


def start_server(url: str, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET, PUBLIC_BASE_URL=BASE, LOG_LEVEL="WARNING")
    venv_bin = Path(sys.executable).parent
    command = [str(venv_bin / "volunteer-app"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "3"]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            status, _ = request(port, "GET", "/healthz")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"server did not start; see {log}")


def request(port: int, method: str, path: str, token: str | None = None, body: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None
    if body is not None:
        payload = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data
    finally:
        connection.close()


def run_phase(port: int, make_request, seconds: float) -> dict:
    """``CONCURRENCY`` clients for ``seconds``; make_request(client, n) -> (method, path, token, body)."""
    began = time.perf_counter()
    latencies, errors = drive(port, make_request, seconds)
    return summarise(latencies, errors, time.perf_counter() - began)


def drive(port: int, make_request, seconds: float) -> tuple[list[float], list]:
    """Run ``CONCURRENCY`` clients for ``seconds``: (latencies, errors)."""
    latencies, errors, lock = [], [], threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index: int):
        n = 0
        while time.perf_counter() < stop_at:
            method, path, token, body = make_request(index, n)
            n += 1
            began = time.perf_counter()
            try:
                status, data = request(port, method, path, token, body)
            except OSError as error:
                status, data = 0, str(error).encode()
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status >= 400 or status == 0:
                    errors.append((status, data[:200]))

    threads = [threading.Thread(target=client, args=(index,)) for index in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def run_alternating(port: int, kinds: dict, seconds: float, rounds: int = ROUNDS) -> dict:
    """Each kind in turn for ``seconds / rounds`` at a time, ``rounds`` times over, so that a
    change in the machine's speed during the run weighs on every kind alike (the ratios compare
    like with like); the summary of each kind over all its rounds."""
    collected = {name: ([], [], 0.0) for name in kinds}
    for _ in range(rounds):
        for name, make_request in kinds.items():
            began = time.perf_counter()
            latencies, errors = drive(port, make_request, seconds / rounds)
            kept_latencies, kept_errors, elapsed = collected[name]
            collected[name] = (kept_latencies + latencies, kept_errors + errors,
                               elapsed + time.perf_counter() - began)
    return {name: summarise(*values) for name, values in collected.items()}


def summarise(latencies: list[float], errors: list, elapsed: float) -> dict:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")  # noqa: E731
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": pick(0.50), "p99": pick(0.99),
            "max": (ordered[-1] * 1000 if ordered else float("nan")), "errors": len(errors),
            "locked": sum(1 for _, data in errors if b"locked" in data),
            "samples": errors[:3], "elapsed": elapsed}


def run_burst(port: int, tokens: list[str], urls: list[str]) -> dict:
    """``BURST`` distinct volunteers, arriving evenly over ``BURST_SECONDS``, 64 clients."""
    latencies, errors, lock = [], [], threading.Lock()
    start = time.perf_counter() + 0.2
    gap = BURST_SECONDS / BURST
    queue = list(range(BURST))

    def client():
        while True:
            with lock:
                if not queue:
                    return
                n = queue.pop(0)
            due = start + n * gap
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            began = time.perf_counter()
            try:
                status, data = request(port, "POST", "/api/v1/checkins", tokens[n], {"code": urls[n % len(urls)]})
            except OSError as error:
                status, data = 0, str(error).encode()
            with lock:
                latencies.append(time.perf_counter() - began)
                if status != 201:
                    errors.append((status, data[:200]))

    threads = [threading.Thread(target=client) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summarise(latencies, errors, time.perf_counter() - start)


def bench(label: str, url: str) -> dict:
    print(f"\n== {label}: preparing {VOLUNTEERS + BURST} volunteers, {CHECKPOINTS} checkpoints", flush=True)
    tokens, urls, burst_tokens = prepare(url)
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-checkin-{label}.log"
    server = start_server(url, port, log)
    try:
        per_client = VOLUNTEERS // CONCURRENCY

        def me(index, n):
            return "GET", "/api/v1/me", tokens[index * per_client + n % per_client], None

        sent = [0] * CONCURRENCY  # check-ins each client has sent, over all rounds

        def checkin(index, _n):
            # Client ``index`` owns volunteers [index*per_client, (index+1)*per_client); it walks
            # volunteer by volunteer, checkpoint by checkpoint: every pair is new, no cooldown.
            n = sent[index]
            sent[index] += 1
            volunteer = index * per_client + n % per_client
            checkpoint = (n // per_client) % len(urls)
            if n >= per_client * len(urls):
                raise SystemExit("ran out of distinct (volunteer, checkpoint) pairs; lower BENCH_SECONDS")
            return "POST", "/api/v1/checkins", tokens[volunteer], {"code": urls[checkpoint]}

        run_phase(port, me, 2)  # warm up: every worker imports, connects and caches
        results = run_alternating(port, {"me": me, "checkin": checkin}, PHASE_SECONDS)
        results["burst"] = run_burst(port, burst_tokens, urls)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    server_log = log.read_text(errors="replace")
    results["server_locked"] = server_log.count("database is locked")
    return results


def report(label: str, results: dict) -> None:
    me, checkin, burst = results["me"], results["checkin"], results["burst"]
    print(f"-- {label} (concurrency {CONCURRENCY}, gunicorn 3 workers)")
    for name, row in (("GET /api/v1/me", me), ("POST /api/v1/checkins", checkin)):
        print(f"   {name:<22} {row['rps']:7.1f} req/s   p50 {row['p50']:6.1f} ms   p99 {row['p99']:6.1f} ms   "
              f"errors {row['errors']}")
    print(f"   ratio check-in / bare read: throughput {checkin['rps'] / me['rps']:.2f}, "
          f"p50 {checkin['p50'] / me['p50']:.2f}x, p99 {checkin['p99'] / me['p99']:.2f}x")
    print(f"   burst: {burst['requests']} volunteers in {burst['elapsed']:.1f} s, errors {burst['errors']} "
          f"(database is locked: {burst['locked']} answers, {results['server_locked']} in the server log), "
          f"p50 {burst['p50']:.1f} ms, p99 {burst['p99']:.1f} ms, max {burst['max']:.1f} ms")
    for sample in (checkin["samples"] + burst["samples"])[:3]:
        print(f"   sample error: {sample}")


def engine_runs() -> list[tuple[str, str]]:
    """A temporary SQLite file always; PostgreSQL too when TEST_DATABASE_URL is set (wiped)."""
    runs = [("sqlite", f"sqlite:///{tempfile.mkdtemp(prefix='bench-db-')}/bench.db")]
    if os.environ.get("TEST_DATABASE_URL"):
        from volunteer_app.config import normalise_database_url
        runs.append(("postgresql", normalise_database_url(os.environ["TEST_DATABASE_URL"])))
    return runs


def main() -> None:
    results = {label: bench(label, url) for label, url in engine_runs()}
    print()
    for label, row in results.items():
        report(label, row)


if __name__ == "__main__":
    main()
