"""The data layer's transaction rules that requests rely on."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from datetime import UTC, datetime

from sqlalchemy import event as sa_event, insert
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import LedgerEntry
from volunteer_app.services import accounts, checkpoints

from . import factories
from .conftest import PG_URL, csrf_token, make_test_app

#: Every test runs with db.Prepared on its direct path and on its plain fallback.
pytestmark = pytest.mark.usefixtures("prepared_path")

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's single write lock")


@pytest.fixture
def write_locks(monkeypatch):
    """Every ``BEGIN IMMEDIATE`` the app starts: whether the other writer had let go by the time
    it got the lock (``released`` is set just before the holder lets go)."""
    released, taken = threading.Event(), []
    real = db.begin_immediate

    def spy(dbapi_connection, busy_timeout_ms):
        real(dbapi_connection, busy_timeout_ms)
        taken.append(released.is_set())

    monkeypatch.setattr(db, "begin_immediate", spy)
    return released, taken


def _hold_write_lock(app) -> sqlite3.Connection:
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


@sqlite_only
def test_a_writing_request_authenticates_without_the_write_lock(tmp_path, write_locks):
    """Looking up the caller must not wait for (or take) the write lock: a bad token is told
    so even while another process writes."""
    app = make_test_app(tmp_path, None, SQLITE_BUSY_TIMEOUT_MS=1500)
    holder = _hold_write_lock(app)
    try:
        write_locks[1].clear()
        response = app.test_client().post("/api/v1/checkins", json={"code": "x"},
                                          headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401, response.get_data(as_text=True)
        assert write_locks[1] == []
    finally:
        holder.rollback()
        holder.close()


@sqlite_only
def test_a_writing_request_waits_for_the_lock_after_authenticating(tmp_path, write_locks):
    """The write itself queues behind the other writer and succeeds once the lock is free."""
    app = make_test_app(tmp_path, None, SQLITE_BUSY_TIMEOUT_MS=10_000)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        user = factories.user(session)
        raw, _ = accounts.issue_token(session, user)
        url = checkpoints.checkin_url("https://patrol.example.cn", checkpoints.token(factories.checkpoint(session)))
    holder = _hold_write_lock(app)
    released, taken = write_locks
    taken.clear()

    def release():
        released.set()
        holder.rollback()

    release = threading.Timer(0.3, release)
    release.start()
    try:
        response = app.test_client().post("/api/v1/checkins", json={"code": url},
                                          headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 201, response.get_data(as_text=True)
        assert taken == [True]  # one write transaction, begun once the other writer let go
    finally:
        release.join()
        holder.close()


@sqlite_only
def test_a_page_post_loads_the_signed_in_user_without_the_write_lock(tmp_path, write_locks):
    """The same for the browser session: a scan of a forged poster is refused with the page's
    own message while another process writes, not with a timeout."""
    app = make_test_app(tmp_path, None, SQLITE_BUSY_TIMEOUT_MS=1500)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        factories.user(session, username="walker")
    client = app.test_client()
    assert client.post("/login", data={"csrf_token": csrf_token(client), "username": "walker",
                                       "password": factories.PASSWORD}).status_code == 302
    token = csrf_token(client, "/")
    holder = _hold_write_lock(app)
    try:
        write_locks[1].clear()
        response = client.post("/c/forged-poster", data={"csrf_token": token})
        assert response.status_code == 400, response.status_code
        assert write_locks[1] == []
    finally:
        holder.rollback()
        holder.close()


@sqlite_only
def test_a_check_in_reads_the_volunteer_and_the_place_without_the_write_lock(tmp_path, write_locks):
    """A scan refused on what is read (here: a retired checkpoint) is answered without the
    write lock while another process writes; only the check-in's writes queue for the lock."""
    app = make_test_app(tmp_path, None, SQLITE_BUSY_TIMEOUT_MS=1500)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        user = factories.user(session)
        raw, _ = accounts.issue_token(session, user)
        retired = factories.checkpoint(session, active=False)
        url = checkpoints.checkin_url("https://patrol.example.cn", checkpoints.token(retired))
    holder = _hold_write_lock(app)
    try:
        write_locks[1].clear()
        response = app.test_client().post("/api/v1/checkins", json={"code": url},
                                          headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_code", response.get_data()
        assert write_locks[1] == []
    finally:
        holder.rollback()
        holder.close()


@sqlite_only
@pytest.mark.parametrize("client_ref", [None, "tap-1"])
def test_an_api_check_in_is_one_read_transaction_and_one_write_transaction(tmp_path, client_ref):
    """The caller's lookup, the double-tap lookup and the check-in's lock-and-load share one read
    transaction; the writes are the other (each transaction costs a BEGIN and a COMMIT)."""
    app = make_test_app(tmp_path, None)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        user = factories.user(session)
        raw, _ = accounts.issue_token(session, user)
        url = checkpoints.checkin_url("https://patrol.example.cn", checkpoints.token(factories.checkpoint(session)))
    with _transactions_seen(app) as seen:
        response = app.test_client().post("/api/v1/checkins", json={"code": url, "client_ref": client_ref},
                                          headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 201, response.get_data(as_text=True)
    transactions = [step for step in seen if step.startswith("BEGIN")]
    assert transactions == ["BEGIN", "BEGIN IMMEDIATE"], seen
    assert seen.index("lock-and-load") < seen.index("BEGIN IMMEDIATE"), seen


@sqlite_only
def test_a_page_check_in_reads_before_it_takes_the_write_lock(tmp_path):
    """On the phone page too, the double-tap lookup and the check-in's lock-and-load share a read
    transaction, and the write lock is taken for the writes alone."""
    app = make_test_app(tmp_path, None)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        factories.user(session, username="walker")
        path = "/c/" + checkpoints.token(factories.checkpoint(session))
    client = app.test_client()
    assert client.post("/login", data={"csrf_token": csrf_token(client), "username": "walker",
                                       "password": factories.PASSWORD}).status_code == 302
    token = csrf_token(client, path)
    with _transactions_seen(app) as seen:
        response = client.post(path, data={"csrf_token": token, "client_ref": "tap-1"})
    assert response.status_code == 303, response.get_data(as_text=True)
    transactions = [step for step in seen if step.startswith("BEGIN")]
    assert transactions[-2:] == ["BEGIN", "BEGIN IMMEDIATE"], seen
    write = len(seen) - seen[::-1].index("BEGIN IMMEDIATE") - 1
    assert seen.index("lock-and-load") < write and seen[write + 1] == "INSERT", seen


@contextlib.contextmanager
def _transactions_seen(app):
    """The transactions begun ("BEGIN" to read, "BEGIN IMMEDIATE" to write) and the statements
    run, in order; the check-in's lock-and-load shows as "lock-and-load"."""
    engine = app.extensions["db_engine"]
    seen = []

    def begin(connection):
        seen.append("BEGIN IMMEDIATE" if db.write_intent.get() else "BEGIN")

    def statement(conn, cursor, sql, *args):
        if not sql.startswith("BEGIN"):  # issued by the begin hook itself
            seen.append("lock-and-load" if "volunteer_station_id" in sql else sql.split()[0].upper())

    sa_event.listen(engine, "begin", begin)
    sa_event.listen(engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "begin", begin)
        sa_event.remove(engine, "before_cursor_execute", statement)


@sqlite_only
def test_writers_take_turns_and_a_turn_ends_with_the_transaction(tmp_path):
    """A writer waits for the one before it without polling and starts the moment it commits or
    rolls back; a second connection of the same thread does not wait for its own thread (it gets
    SQLite's own "database is locked" after the busy timeout instead of hanging)."""
    engine = db.make_engine(f"sqlite:///{tmp_path}/turns.db", busy_timeout_ms=300)
    first, second = engine.raw_connection(), engine.raw_connection()
    try:
        writer = first.driver_connection
        db.begin_immediate(writer, 300)
        started, attempts, ended = [], [], threading.Event()

        def other_writer():
            connection = second.driver_connection
            connection.set_trace_callback(lambda sql: attempts.append(sql) if sql == "BEGIN IMMEDIATE" else None)
            db.begin_immediate(connection, 5_000)
            started.append(ended.is_set())
            connection.set_trace_callback(None)
            connection.rollback()

        thread = threading.Thread(target=other_writer)
        thread.start()
        time.sleep(0.3)
        assert started == []  # still waiting for its turn
        ended.set()
        writer.rollback()
        thread.join(timeout=5)
        assert started == [True]  # it started once the first writer had ended
        assert attempts == ["BEGIN IMMEDIATE"]  # it slept until its turn: one try, no polling

        outcome = []

        def two_connections_in_one_thread():
            db.begin_immediate(first.driver_connection, 300)
            try:
                db.begin_immediate(second.driver_connection, 300)
            except sqlite3.OperationalError as error:
                outcome.append(str(error))
            first.driver_connection.commit()

        thread = threading.Thread(target=two_connections_in_one_thread, daemon=True)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive() and outcome and "locked" in outcome[0], outcome
        db.begin_immediate(second.driver_connection, 300)  # free again at once
        second.driver_connection.rollback()
    finally:
        first.close()
        second.close()
        engine.dispose()


def test_written_builds_a_persistent_clean_object_without_a_query(app, session):
    user = factories.user(session)
    new_id = session.execute(insert(LedgerEntry.__table__).returning(LedgerEntry.__table__.c.id), VALUES | {
        "user_id": user.id}).scalar_one()
    statements = []
    engine = app.extensions["db_engine"]

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        entry = db.written(session, LedgerEntry, VALUES | {"user_id": user.id, "id": new_id})
        assert (entry.id, entry.ref, entry.amount, entry.reason) == (new_id, "test:written", 3, "why")
        assert session.get(LedgerEntry, new_id) is entry
        assert entry in session and not session.new and not session.dirty
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def test_written_works_before_any_orm_query(tmp_path):
    """In a new process the first thing a request does with the ORM may be :func:`db.written`
    (a check-in's statements are Core ones): the app configures the mappers at start-up."""
    script = f"""
from datetime import UTC, datetime
from volunteer_app import create_app, db
from volunteer_app.models import LedgerEntry

app = create_app({{"DATABASE_URL": "sqlite:///{tmp_path}/fresh.db", "SECRET_KEY": "fresh-secret-key",
                  "INSTANCE_PATH": "{tmp_path}/instance"}})
with app.app_context():
    entry = db.written(db.get_session(), LedgerEntry, {{"id": 1, "user_id": 1, "amount": 3, "kind": "checkin",
        "ref": "r", "reason": "", "balance_after": 3, "earned": True, "actor_id": None,
        "created_at": datetime.now(UTC)}})
    print(entry.amount)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().endswith("3"), done.stderr[-2000:]


def test_written_refuses_a_row_with_a_column_missing(session):
    with pytest.raises(ValueError, match="balance_after"):
        db.written(session, LedgerEntry, {key: value for key, value in VALUES.items() if key != "balance_after"}
                   | {"id": 1, "user_id": 1})


VALUES = {"amount": 3, "kind": "adjustment", "ref": "test:written", "reason": "why", "balance_after": 3,
          "earned": False, "actor_id": None, "created_at": datetime(2026, 11, 23, tzinfo=UTC)}


def test_insert_now_leaves_the_row_persistent_clean_and_complete(app, session):
    user = factories.user(session)
    entry = db.insert_now(session, LedgerEntry(user_id=user.id, amount=0, kind="adjustment", ref="test:1",
                                               balance_after=0))
    assert entry.id and entry in session and not session.new and not session.dirty
    assert session.get(LedgerEntry, entry.id) is entry
    stored = session.exec(select(LedgerEntry.reason, LedgerEntry.earned, LedgerEntry.created_at)
                          .where(LedgerEntry.id == entry.id)).one()
    assert tuple(stored) == (entry.reason, entry.earned, entry.created_at) == ("", False, entry.created_at)


@sqlite_only
def test_reading_before_writing_never_commits_pending_changes(app, session):
    """Once the request's unit of work has begun (here: a change not yet flushed), the block
    stays in it: nothing is committed early, and a rollback still undoes everything."""
    user = factories.user(session)
    session.commit()
    with app.app_context():
        work = db.get_session()
        work.add(LedgerEntry(user_id=user.id, amount=0, kind="adjustment", ref="test:pending", balance_after=0))
        with db.read_before_writing(work):
            work.exec(select(LedgerEntry.id)).all()
        work.rollback()
    assert session.exec(select(LedgerEntry).where(LedgerEntry.ref == "test:pending")).first() is None


# -- db.Prepared: the hot paths' statements ---------------------------------------------------------

def _event_row(session, station_row):
    from volunteer_app.models import Event
    event = Event(station_id=station_row.id, title="反诈茶话会", starts_at=datetime(2026, 11, 23, 0, 30, tzinfo=UTC),
                  ends_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC), points=10)
    session.add(event)
    session.flush()
    return event


def test_prepared_reads_the_same_values_as_session_execute(session, station):
    """Every type a hot path reads comes back as the ORM would give it: aware datetimes, bools,
    floats, None, text; and the bound values go through the same processors (a datetime compared
    in SQL, a bool filter)."""
    from sqlalchemy import bindparam, select as sa_select
    from volunteer_app.models import Checkpoint, Event
    event = _event_row(session, station)
    place = Checkpoint(station_id=station.id, name="湖滨凉亭", latitude=30.259, longitude=None, active=True)
    session.add(place)
    session.flush()
    events, places = Event.__table__, Checkpoint.__table__
    statement = (sa_select(events.c.id, events.c.title, events.c.starts_at, events.c.ends_at, places.c.latitude,
                           places.c.longitude, places.c.active)
                 .select_from(events.join(places, places.c.station_id == events.c.station_id))
                 .where(events.c.starts_at >= bindparam("since", type_=events.c.starts_at.type),
                        places.c.active == bindparam("active", type_=places.c.active.type)))
    params = {"since": datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "active": True}
    expected = [tuple(row) for row in session.execute(statement, params)]
    prepared = db.Prepared(statement)
    assert prepared.all(session, params) == expected == [
        (event.id, "反诈茶话会", event.starts_at, event.ends_at, 30.259, None, True)]
    assert prepared.first(session, params)[2].tzinfo is not None
    assert prepared.all(session, {**params, "since": datetime(2026, 11, 24, tzinfo=UTC)}) == []
    assert prepared.scalar(session, {**params, "active": False}) is None


def test_prepared_statements_are_seen_by_statement_listeners(app, session, station):
    from sqlalchemy import text
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = app.extensions["db_engine"]
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        answer = db.Prepared(text("SELECT CAST(:n AS INTEGER) + 1")).scalar(session, {"n": 41})
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert answer == 42
    assert any("+ 1" in statement for statement in seen), seen


def test_prepared_raises_database_errors_as_sqlalchemy_does(session, station):
    """The API turns an IntegrityError into 409 and rolls back: a Prepared statement's
    constraint violation must arrive as that same exception, and leave the session usable."""
    from sqlalchemy.exc import IntegrityError
    from volunteer_app.models import Station
    session.commit()
    insert_station = db.Prepared(insert(Station.__table__).values(id=station.id, name="重复",
                                                                  created_at=station.created_at))
    with pytest.raises(IntegrityError):
        insert_station.all(session)
    session.rollback()
    assert session.get(Station, station.id).name == station.name


def test_prepared_refuses_in_lists():
    """An expanding IN list changes the SQL per call: not for a statement compiled once."""
    from sqlalchemy import create_engine, select as sa_select
    from volunteer_app.models import Station
    statement = sa_select(Station.__table__.c.id).where(Station.__table__.c.id.in_([1, 2]))
    with pytest.raises(ValueError, match="expanding"):
        db.Prepared(statement)._plan(create_engine("sqlite://").dialect)


def test_the_direct_path_turns_itself_off_when_an_internal_is_missing(monkeypatch):
    from sqlalchemy.engine import Connection
    assert db._internals_present() == (os.environ.get("PLAIN_EXECUTE", "") in ("", "0"))
    monkeypatch.delattr(Connection, "_handle_dbapi_exception")
    assert db._internals_present() is False


def test_plain_execute_in_the_environment_turns_the_direct_path_off(monkeypatch):
    monkeypatch.setenv("PLAIN_EXECUTE", "1")
    assert db._internals_present() is False
