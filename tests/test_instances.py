"""Several instances: two gunicorn servers (2 workers each) on two loopback ports share one
PostgreSQL database. Parallel redemptions split across both never oversell and never overdraw, and
parallel check-ins of one volunteer at one checkpoint give exactly one.

PostgreSQL only (SQLite is one file on one machine, not shared by instances): skipped when
TEST_DATABASE_URL is not set. The test uses a database of its own (the test database's name +
``_instances``), created and dropped here.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from volunteer_app import cli, create_app

from . import factories
from .conftest import arrange, at_once

PG_URL = os.environ.get("TEST_DATABASE_URL")
ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "instances-secret-key"
BASE_URL = "https://patrol.example.cn"
START_SECONDS = 60
REQUEST_SECONDS = 60

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="several instances share one PostgreSQL database: set TEST_DATABASE_URL to run this")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_engine(base: str):
    from sqlalchemy import create_engine
    return create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")


def _create_database(url: str) -> str:
    from sqlalchemy import text

    from volunteer_app.config import normalise_database_url
    base, name = normalise_database_url(url).rsplit("/", 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    target = f"{name}_instances" + (f"_{worker}" if worker else "")
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return f"{base}/{target}"


def _drop_database(url: str) -> None:
    from sqlalchemy import text
    base, target = url.rsplit("/", 1)
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
    admin.dispose()


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def _start(port: int, database_url: str, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PUBLIC_BASE_URL": BASE_URL,
           "INSTANCE_PATH": str(log_path.parent), "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("TEST_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "60",
         "--error-logfile", "-", "volunteer_app:create_app()"],
        cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(servers: list[tuple[int, subprocess.Popen, Path]]) -> None:
    deadline = time.monotonic() + START_SECONDS
    for port, process, log_path in servers:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn on {port} exited with {process.returncode}:\n"
                                   f"{log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if _get(port, "/healthz") == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn on {port} did not answer within {START_SECONDS} s:\n"
                                   f"{log_path.read_text()[-3000:]}")
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    """``(app, [port_a, port_b])``: an app object on the shared database for arranging and
    checking, and the two servers' ports (started once for this file; each test makes its own rows)."""
    from sqlmodel import SQLModel

    from volunteer_app import models  # noqa: F401

    tmp_path = tmp_path_factory.mktemp("instances")
    database_url = _create_database(PG_URL)
    app = None
    processes: list[subprocess.Popen] = []
    try:
        app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
                          "FAST_PASSWORD_HASH": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                          "PUBLIC_BASE_URL": BASE_URL, "SERVER_NAME": None})
        SQLModel.metadata.create_all(app.extensions["db_engine"])
        servers = []
        for name in ("a", "b"):
            port = _free_port()
            log_path = tmp_path / f"server-{name}.log"
            process = _start(port, database_url, log_path)
            processes.append(process)
            servers.append((port, process, log_path))
        _wait_ready(servers)
        yield app, [port for port, _, _ in servers]
    finally:
        for process in processes:
            _stop(process)
        if app is not None:
            app.extensions["db_engine"].dispose()
        _drop_database(database_url)


def _call(port: int, method: str, path: str, token: str | None = None, body: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_SECONDS)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=json.dumps(body or {}), headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)
    finally:
        connection.close()


def _token(port: int, username: str) -> str:
    status, body = _call(port, "POST", "/api/v1/auth/token",
                         body={"username": username, "password": factories.PASSWORD})
    assert status == 200, body
    return body["access_token"]


def _parallel(calls: list[tuple]) -> list[tuple[int, dict]]:
    """Run every ``(port, method, path, token, body)`` at once, one thread each; answers in order."""
    results = at_once([lambda call=call: _call(*call) for call in calls], timeout=REQUEST_SECONDS)
    assert not [result for result in results if isinstance(result, BaseException)], results
    return results


def _outcomes(results) -> Counter:
    return Counter(status if status < 400 else (body or {}).get("code") for status, body in results)


def test_parallel_redemptions_across_two_instances_never_oversell_or_overdraw(instances):
    from volunteer_app.models import Redemption, StoreItem, User

    app, ports = instances
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        # Balances bind on this item: 3 + 1 + 0 redemptions fit, its stock (6) never runs out.
        cheap = factories.store_item(session, name="雨衣", cost=10, stock=6)
        rich = factories.user(session, balance=30)
        one = factories.user(session, balance=10)
        short = factories.user(session, balance=5)
        # Stock binds on this one: 3 of 12 fit, every volunteer could pay for all of theirs.
        scarce = factories.store_item(session, name="手电筒", cost=20, stock=3)
        wealthy = [factories.user(session, balance=100) for _ in range(4)]
        clerk_name = clerk.username
        ids = {"cheap": cheap.id, "scarce": scarce.id, "rich": rich.id, "one": one.id, "short": short.id,
               "wealthy": [v.id for v in wealthy]}
    token = _token(ports[0], clerk_name)

    wanted = ([("cheap", ids["rich"])] * 6 + [("cheap", ids["one"])] * 4 + [("cheap", ids["short"])] * 3
              + [("scarce", v) for v in ids["wealthy"] for _ in range(3)])
    calls = [(ports[i % 2], "POST", "/api/v1/store/redemptions", token, {"user_id": user_id, "item_id": ids[item]})
             for i, (item, user_id) in enumerate(wanted)]
    assert len(calls) == 25 and {call[0] for call in calls} == set(ports)
    results = _parallel(calls)

    by_item = {"cheap": [], "scarce": []}
    for (item, _), result in zip(wanted, results):
        by_item[item].append(result)
    assert _outcomes(by_item["cheap"]) == {201: 4, "insufficient_points": 9}, by_item["cheap"]
    assert _outcomes(by_item["scarce"]) == {201: 3, "out_of_stock": 9}, by_item["scarce"]
    assert all(body["balance_after"] >= 0 and body["stock_after"] >= 0
               for status, body in results if status == 201)

    with arrange(app) as session:
        from sqlmodel import select
        assert session.get(StoreItem, ids["cheap"]).stock == 2
        assert session.get(StoreItem, ids["scarce"]).stock == 0
        assert [session.get(User, ids[key]).balance for key in ("rich", "one", "short")] == [0, 0, 5]
        rich_balances = sorted(session.get(User, v).balance for v in ids["wealthy"])
        assert all(balance >= 0 and balance % 20 == 0 for balance in rich_balances)
        assert sum(rich_balances) == 400 - 3 * 20
        assert len(session.exec(select(Redemption)).all()) == 7
    assert cli.run_checks(app) == []


def test_parallel_checkins_of_one_volunteer_across_two_instances_give_one(instances):
    from sqlmodel import select

    from volunteer_app.models import Checkin, User
    from volunteer_app.services import checkpoints

    app, ports = instances
    with arrange(app) as session:
        volunteer = factories.user(session)
        point = factories.checkpoint(session, points=5, cooldown_minutes=30)
        code = checkpoints.checkin_url(BASE_URL, checkpoints.token(point))
        volunteer_id, username = volunteer.id, volunteer.username
    token = _token(ports[1], username)
    results = _parallel([(ports[i % 2], "POST", "/api/v1/checkins", token, {"code": code}) for i in range(12)])
    outcomes = _outcomes(results)
    assert outcomes[201] == 1 and sum(outcomes.values()) == 12, outcomes
    assert set(outcomes) <= {201, "cooldown"}, outcomes
    with arrange(app) as session:
        assert len(session.exec(select(Checkin).where(Checkin.user_id == volunteer_id)).all()) == 1
        assert session.get(User, volunteer_id).balance == 5
    assert cli.run_checks(app) == []
