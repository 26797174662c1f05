"""Mixed load benchmark: check-ins, redemptions, the leaderboard and the home page, each against the
bare authenticated read ``GET /api/v1/me`` measured in the same run, on SQLite and PostgreSQL.

    python tests/bench/bench_load.py                 # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_load.py
    BENCH_SECONDS=3 python tests/bench/bench_load.py # a short run

For each engine: a fresh database seeded through the services (bench_checkin's 900 volunteers with
bearer tokens and 40 checkpoints; here also a clerk, a store item and 10 000 points for each
volunteer), ``volunteer-app serve --workers 3`` (gunicorn) on a loopback port, then one phase per
kind, ``BENCH_SECONDS`` each at concurrency 8 (threads, one connection per request):

* ``me``: ``GET /api/v1/me`` (the bare endpoint; measured before and after the others);
* ``checkin``: ``POST /api/v1/checkins``, every request a new (volunteer, checkpoint) pair;
* ``redemption``: ``POST /api/v1/store/redemptions`` by the clerk, for volunteer after volunteer;
* ``leaderboard``: ``GET /api/v1/leaderboard?period=month``;
* ``home``: ``GET /`` with a signed-in volunteer's session cookie (logged in through the form).

Prints requests/s, p50/p99 latency and errors per kind, and the ratios to ``me``. The PostgreSQL
database named in TEST_DATABASE_URL is wiped. Timing is reported, never asserted. Not collected
by pytest.
"""
from __future__ import annotations

import http.client
import http.cookiejar
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_checkin import CONCURRENCY, engine_runs, free_port, prepare, start_server, summarise  # noqa: E402

PASSWORD_FOR_VOLUNTEERS = "bench-password-1"  # the one bench_checkin.prepare gives everybody

PHASE_SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ITEM_COST = 1
BALANCE = 10_000


def seed_store(url: str) -> tuple[str, int, list[int], str]:
    """A clerk (token), an item with ample stock, points for every volunteer; (clerk token, item id,
    volunteer ids in token order, the first volunteer's username)."""
    from sqlmodel import select

    from volunteer_app import create_app, db
    from volunteer_app.models import StockMovement, StoreItem, User
    from volunteer_app.services import accounts, ledger

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key",
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-instance-")})
    engine = app.extensions["db_engine"]
    with app.app_context(), db.unit_of_work(engine) as session:
        station = accounts.default_station(session)
        clerk = accounts.create_user(session, None, username="bench-clerk", password=PASSWORD_FOR_VOLUNTEERS,
                                     display_name="兑换员", roles=["clerk"], station_id=station.id)
        clerk.status = "active"
        item = StoreItem(station_id=station.id, name="矿泉水", cost=ITEM_COST, stock=1_000_000)
        session.add_all([clerk, item])
        session.flush()
        session.add(StockMovement(item_id=item.id, delta=item.stock, reason="initial", stock_after=item.stock))
        people = session.exec(select(User).where(User.username.like("v%")).order_by(User.username)).all()
        people[0].large_mode_offered = True  # the home page, not the one-time large-text offer
        for person in people:
            ledger.post(session, person.id, BALANCE, "adjustment", f"bench-seed:{person.id}", reason="bench")
        raw, _ = accounts.issue_token(session, clerk)
        result = raw, item.id, [person.id for person in people], people[0].username
    engine.dispose()
    return result


def login_cookie(port: int, username: str) -> str:
    """Sign in through the login form; the ``Cookie`` header of the signed-in session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "username": username,
                                   "password": PASSWORD_FOR_VOLUNTEERS}).encode()
    opener.open(base + "/login", data=form, timeout=30).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    status, body = call(port, "GET", "/", {"Cookie": cookie})
    if status != 200:
        raise SystemExit(f"login as {username} did not give the home page ({status})")
    return cookie


def call(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def phase(port: int, make_request, seconds: float, expect: int) -> dict:
    """``CONCURRENCY`` clients for ``seconds`` (and at most 100 000 requests);
    make_request(client, n) -> (method, path, headers, body bytes)."""
    latencies, errors, lock = [], [], threading.Lock()
    start = time.perf_counter()
    stop_at = start + seconds
    limit = 100_000 // CONCURRENCY

    def client(index: int) -> None:
        n = 0
        while time.perf_counter() < stop_at and n < limit:
            method, path, headers, body = make_request(index, n)
            n += 1
            began = time.perf_counter()
            try:
                status, data = call(port, method, path, headers, body)
            except OSError as error:
                status, data = 0, str(error).encode()
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status != expect:
                    errors.append((status, data[:200]))

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    return summarise(latencies, errors, time.perf_counter() - start)


def json_body(data: dict) -> bytes:
    import json
    return json.dumps(data).encode()


def bench(label: str, url: str) -> dict:
    print(f"\n== {label}: seeding", flush=True)
    tokens, urls, _burst = prepare(url)
    clerk_token, item_id, volunteer_ids, first_username = seed_store(url)
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-load-{label}-{os.getpid()}.log"
    server = start_server(url, port, log)
    try:
        cookie = login_cookie(port, first_username)
        per_client = len(tokens) // CONCURRENCY
        auth = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
        post = lambda token: {**auth(token), "Content-Type": "application/json"}  # noqa: E731

        def me(index, n):
            return "GET", "/api/v1/me", auth(tokens[index * per_client + n % per_client]), None

        def checkin(index, n):
            # every (volunteer, checkpoint) pair is new: no cooldown refusals
            if n >= per_client * len(urls):
                raise SystemExit("ran out of distinct (volunteer, checkpoint) pairs; lower BENCH_SECONDS")
            volunteer = index * per_client + n % per_client
            return ("POST", "/api/v1/checkins", post(tokens[volunteer]),
                    json_body({"code": urls[(n // per_client) % len(urls)]}))

        def redemption(index, n):
            user_id = volunteer_ids[(index * per_client + n) % len(volunteer_ids)]
            return ("POST", "/api/v1/store/redemptions", post(clerk_token),
                    json_body({"user_id": user_id, "item_id": item_id}))

        def leaderboard(index, n):
            return "GET", "/api/v1/leaderboard?period=month", auth(tokens[index * per_client]), None

        def home(index, n):
            return "GET", "/", {"Cookie": cookie}, None

        phase(port, me, min(2.0, PHASE_SECONDS), 200)  # warm up: every worker imports, connects, caches
        results = {"me": phase(port, me, PHASE_SECONDS, 200)}
        results["checkin"] = phase(port, checkin, PHASE_SECONDS, 201)
        results["redemption"] = phase(port, redemption, PHASE_SECONDS, 201)
        results["leaderboard"] = phase(port, leaderboard, PHASE_SECONDS, 200)
        results["home"] = phase(port, home, PHASE_SECONDS, 200)
        again = phase(port, me, PHASE_SECONDS / 2, 200)
        results["me"]["rps"] = (results["me"]["rps"] + again["rps"]) / 2
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return results


KINDS = (("me", "GET /api/v1/me"), ("checkin", "POST /api/v1/checkins"),
         ("redemption", "POST /api/v1/store/redemptions"), ("leaderboard", "GET /api/v1/leaderboard?period=month"),
         ("home", "GET / (signed in)"))


def report(label: str, results: dict) -> None:
    me = results["me"]
    print(f"-- {label} (concurrency {CONCURRENCY}, gunicorn 3 workers, {PHASE_SECONDS:g} s per kind)")
    print(f"   {'kind':<38} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}   "
          f"{'rps/me':>6} {'p50/me':>6} {'p99/me':>6}")
    for key, name in KINDS:
        row = results[key]
        print(f"   {name:<38} {row['rps']:7.1f} {row['p50']:7.1f} {row['p99']:7.1f} {row['errors']:6d}   "
              f"{row['rps'] / me['rps']:6.2f} {row['p50'] / me['p50']:6.2f} {row['p99'] / me['p99']:6.2f}")
    for key, _ in KINDS:
        for sample in results[key]["samples"][:2]:
            print(f"   sample error ({key}): {sample}")


def main() -> None:
    results = {label: bench(label, url) for label, url in engine_runs()}
    print()
    for label, row in results.items():
        report(label, row)


if __name__ == "__main__":
    main()
