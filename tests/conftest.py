"""Test app on a fresh database: a temporary SQLite file, or PostgreSQL when
``TEST_DATABASE_URL`` is set (each pytest-xdist worker then gets a database of its own)."""
from __future__ import annotations

import contextlib
import os
import re
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from volunteer_app import create_app, db, settings
from volunteer_app.errors import DomainError
from volunteer_app import models  # noqa: F401

from . import factories

PG_URL = os.environ.get("TEST_DATABASE_URL")


def _worker_database(url: str, worker: str) -> str:
    """``.../name`` -> ``.../name_gw0``, created when missing."""
    if worker in ("", "master"):
        return url
    base, name = url.rsplit("/", 1)
    target = f"{name}_{worker}"
    admin = create_engine(f"{base}/postgres" if "+" in base else f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).first():
            conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return f"{base}/{target}"


@pytest.fixture(scope="session")
def pg_url(worker_id="master"):
    if not PG_URL:
        return None
    from volunteer_app.config import normalise_database_url
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = _worker_database(normalise_database_url(PG_URL), worker)
    engine = create_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:  # leftovers of an Alembic run
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return url


def _truncate_all(engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def make_test_app(tmp_path, pg_url, **overrides):
    url = pg_url or f"sqlite:///{tmp_path}/test.db"
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "FAST_PASSWORD_HASH": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_BASE_URL": "https://patrol.example.cn",
        "SERVER_NAME": None,
        "WEBHOOK_ALLOW_PRIVATE": True,  # the receivers of the tests listen on 127.0.0.1
    }
    config.update(overrides)
    app = create_app(config)
    engine = app.extensions["db_engine"]
    if pg_url:
        _truncate_all(engine)
    else:
        SQLModel.metadata.create_all(engine)
    return app


@pytest.fixture
def app(tmp_path, pg_url):
    app = make_test_app(tmp_path, pg_url)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture(params=["direct", "plain"])
def prepared_path(request, monkeypatch):
    """Run a test with ``db.Prepared`` on its direct path and again on its plain fallback
    (``session.execute``), as when an SQLAlchemy internal it reads is missing."""
    if request.param == "direct" and not db.DIRECT:
        pytest.skip("the direct path is off in this process")
    monkeypatch.setattr(db, "DIRECT", request.param == "direct")
    return request.param


@pytest.fixture
def english_pages(app):
    """Pages in English, for tests that read the English msgids; tests/test_i18n.py checks the
    Chinese the pages show by default."""
    app.extensions["babel"].locale_selector = lambda: "en"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A session for arranging and inspecting data; commit what the app should see.

    No app context stays pushed: otherwise every request of the test client would share one
    ``g`` (Flask-Login's cached user, the CSRF token, the request's database session) and
    session tests would prove nothing. Services called here read the app's settings
    (``settings.configured``)."""
    with settings.configured(app.config), db.unit_of_work(app.extensions["db_engine"]) as session:
        yield session


@pytest.fixture
def station(session):
    return factories.station(session)


@pytest.fixture
def api(app):
    """A JSON client: ``api.post(path, json=..., user=someone)``."""
    return factories.ApiClient(app)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextlib.contextmanager
def arrange(app, write: bool = True):
    """A short unit of work of its own inside the app's context, for arranging or inspecting
    data between requests (it commits at the end; ``write=False``: a reading one)."""
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=write) as session:
        yield session


def sign_in(client, who, password: str = factories.PASSWORD):
    """Sign ``client`` in through the login form as ``who`` (a user or a username); returns the client."""
    username = who if isinstance(who, str) else who.username
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                           "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def signed_in(app, who, password: str = factories.PASSWORD):
    """A new test client signed in as ``who`` (a user or a username) through the login form."""
    return sign_in(app.test_client(), who, password)


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def at_once(calls, *, meet_inside: bool = False, timeout: float = 120) -> list:
    """Run ``calls`` together, one thread each, released at the same moment by a barrier; what
    each returned, or the exception it raised, in order (nothing is lost in a thread). With
    ``meet_inside`` each call is given the meeting point, a function to call where the threads
    should line up (inside their transactions, say), instead of lining up before they start."""
    barrier = threading.Barrier(len(calls), timeout=timeout)
    results: list = [None] * len(calls)
    finished = [False] * len(calls)

    def run(index: int, call) -> None:
        try:
            if meet_inside:
                results[index] = call(barrier.wait)
            else:
                barrier.wait()
                results[index] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            results[index] = error
        finished[index] = True

    threads = [threading.Thread(target=run, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 10)
    assert all(finished), "a call did not finish"
    return results


def outcomes(results: list) -> list[str]:
    """``at_once`` results in words, sorted: "ok", a refusal's code, or the unexpected error."""
    return sorted("ok" if not isinstance(result, BaseException)
                  else result.code if isinstance(result, DomainError) else repr(result) for result in results)


def refused(code: str, call, *args, **kwargs) -> DomainError:
    """``call(*args, **kwargs)`` is refused with ``code``; the refusal."""
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, (caught.value.code, str(caught.value.message))
    return caught.value


def ago(hours: float):
    """A whole second ``hours`` before now (UTC)."""
    from datetime import timedelta

    from volunteer_app.timeutil import utcnow
    return utcnow().replace(microsecond=0) - timedelta(hours=hours)


@pytest.fixture
def receiver():
    """A local HTTP receiver (``tests/receiver.py``) for webhooks and the SMS gateway."""
    from .receiver import start_receiver
    server = start_receiver()
    yield server
    server.close()
