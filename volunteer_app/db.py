"""Engine, the per-request session, SQLite pragmas and the transaction helpers.

One unit of work per request: services ``add``/``flush``; the view calls :func:`commit` once.
On SQLite every transaction of a writing request starts with ``BEGIN IMMEDIATE`` so that a
read-then-write never fails with SQLITE_BUSY half way; reads start a deferred ``BEGIN``.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import random
import sqlite3
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy import bindparam, create_engine, event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

#: True while the current unit of work may write (chooses BEGIN IMMEDIATE on SQLite).
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)
#: False while a write would rather fail at once (SQLite: ``OperationalError``) than queue for
#: the write lock (see :func:`without_waiting`).
wait_for_lock: ContextVar[bool] = ContextVar("wait_for_lock", default=True)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        pool = {} if in_memory else {"pool_size": 10, "max_overflow": 20}  # memory: one shared connection
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000,
                               "factory": QueuedWriterConnection}, **pool)
        queue_path = None if in_memory else f"{engine.url.database}-writers"

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            dbapi_connection.queue_path = queue_path
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            if write_intent.get() and not wait_for_lock.get():
                _begin_immediate(connection.connection.driver_connection, 0)  # one try, no queue
            elif write_intent.get():
                begin_immediate(connection.connection.driver_connection, busy_timeout_ms)
            else:
                connection.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class QueuedWriterConnection(sqlite3.Connection):
    """A SQLite connection whose writers queue for their turn on a lock file beside the database
    (``<database>-writers``, ``flock``): a waiting writer sleeps in the kernel and wakes the
    moment the one before it ends its transaction, instead of polling for SQLite's write lock.
    The turn ends with the transaction (commit, rollback or close). A second connection of the
    same thread never queues (it would wait for its own thread); it polls as any other writer."""

    queue_path: str | None = None
    _queue_fd: int | None = None
    _has_turn = False
    _turns_in_thread = threading.local()

    def wait_for_turn(self) -> None:
        if self.queue_path is None or self._has_turn or getattr(self._turns_in_thread, "held", 0):
            return
        if self._queue_fd is None:
            self._queue_fd = os.open(self.queue_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
        self._has_turn = True
        self._turns_in_thread.held = 1

    def end_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            self._turns_in_thread.held = 0
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        self.end_turn()
        if self._queue_fd is not None:
            os.close(self._queue_fd)
            self._queue_fd = None
        super().close()


def begin_immediate(dbapi_connection, busy_timeout_ms: int) -> None:
    """``BEGIN IMMEDIATE``, after waiting for this writer's turn (:class:`QueuedWriterConnection`);
    should another program hold the write lock even so, it polls for it in short, jittered steps.

    SQLite's own busy handler sleeps up to 100 ms between tries, which turns a queue of short
    writers into a long tail; polling every millisecond or so keeps the lock busy instead.
    """
    if not isinstance(dbapi_connection, QueuedWriterConnection):
        _begin_immediate(dbapi_connection, busy_timeout_ms)
        return
    dbapi_connection.wait_for_turn()
    try:
        _begin_immediate(dbapi_connection, busy_timeout_ms)
    except BaseException:
        dbapi_connection.end_turn()
        raise


def _begin_immediate(dbapi_connection, busy_timeout_ms: int) -> None:
    deadline = time.monotonic() + busy_timeout_ms / 1000
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(random.uniform(0.0005, 0.002))
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


def get_session() -> Session:
    """The session of the current request (or app context), created on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def commit() -> None:
    get_session().commit()


def close_session(_exc=None) -> None:
    """Roll back and drop the request's session, whatever state the database is in (an aborted
    transaction, a lost connection): what comes next (the error page's own reads, the next
    request) starts afresh."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()  # rolls back whatever was not committed
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
        try:
            session.invalidate()
        except Exception:  # noqa: BLE001
            pass


@contextlib.contextmanager
def unit_of_work(engine: Engine, *, write: bool = True):
    """A session that commits when the block ends cleanly (CLI, tests, background work)."""
    token = write_intent.set(write)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    finally:
        write_intent.reset(token)


#: What a write in :func:`without_waiting` raises when SQLite's write lock is taken (raised
#: from the ``begin`` listener, the driver's own error is not wrapped by SQLAlchemy).
LOCK_TAKEN = (OperationalError, sqlite3.OperationalError)


@contextlib.contextmanager
def without_waiting():
    """Transactions begun in the block that write take SQLite's write lock only if it is free at
    once, else raise one of ``LOCK_TAKEN`` (a refusal's own bookkeeping must not make the refusal
    wait behind other writers). PostgreSQL's row locks never make a plain insert wait."""
    token = wait_for_lock.set(False)
    try:
        yield
    finally:
        wait_for_lock.reset(token)


@contextlib.contextmanager
def read_before_writing(session: Session, *, hold: bool = False):
    """On SQLite, run the block (e.g. authentication) in a short read transaction of its own
    that ends with it, so that a writing request takes the database's only write lock for its
    writes alone, not while it looks up the caller and parses the body. Objects loaded here
    stay usable (``expire_on_commit=False``); rows the request changes are locked and read
    again by the services. Elsewhere (row locks), and inside a transaction, it does nothing.

    ``hold``: leave the read transaction open; the next ``read_before_writing`` block joins it
    and ends it (one transaction for both reads), or :func:`end_reading` does. Nothing may write
    in between: a write would find the snapshot outdated."""
    if session.info.get("reading") and session.in_transaction():
        yield  # the block joins the held read transaction
        if not hold:
            end_reading(session)
        return
    session.info.pop("reading", None)
    if not write_intent.get() or session.in_transaction() or not is_sqlite(session):
        yield
        return
    token = write_intent.set(False)
    try:
        yield
    finally:
        write_intent.reset(token)
        if hold and session.in_transaction():
            session.info["reading"] = True
        else:
            session.commit()  # ends the read transaction (nothing was written)


def end_reading(session: Session) -> None:
    """End a read transaction :func:`read_before_writing` held, if one is open."""
    if session.info.pop("reading", False) and session.in_transaction():
        session.commit()


def _internals_present() -> bool:
    """Whether this SQLAlchemy has every internal :class:`Prepared`'s direct path reads (checked
    once, at import, on a statement of its own). ``PLAIN_EXECUTE=1`` in the environment turns
    the direct path off as if one were missing."""
    if os.environ.get("PLAIN_EXECUTE", "") not in ("", "0"):
        return False
    try:
        from sqlalchemy.dialects import sqlite
        from sqlalchemy.engine import Connection
        from sqlalchemy.types import Integer, TypeEngine

        compiled = select(bindparam("n", type_=Integer)).compile(dialect=sqlite.dialect())
        return (isinstance(compiled._bind_processors, Mapping) and isinstance(compiled._result_columns, list)
                and all(hasattr(compiled, name) for name in ("construct_params", "positiontup", "positional",
                                                             "escaped_bind_names", "literal_execute_params",
                                                             "post_compile_params"))
                and callable(getattr(Connection, "_handle_dbapi_exception", None))
                and callable(getattr(TypeEngine, "_cached_result_processor", None)))
    except Exception:  # any change in the internals: the plain path
        return False


#: True: :class:`Prepared` runs through the DBAPI cursor; False: through ``session.execute``.
DIRECT = _internals_present()


class Prepared:
    """A Core statement of a hot path (a check-in, a redemption), compiled once per dialect and
    run on the session's connection straight through the DBAPI cursor.

    The one place that uses SQLAlchemy's internals (``compiled._bind_processors``,
    ``compiled._result_columns``, ``Connection._handle_dbapi_exception``, ...): when one of them
    is missing (:data:`DIRECT` is False) the statement runs through ``session.execute`` instead,
    with the same results and errors, only slower.

    ``session.execute`` spends 50-70 µs of Python per statement on what is the same every time
    (the execution context, parameter processing set-up, the result's metadata); the database
    itself takes 15-40 µs. This does only what changes per call: the parameters through the
    columns' bind processors, the cursor, the selected columns through their result processors.
    The session's transaction is used as usual (``session.connection()`` begins it, so the
    write lock and the unit of work are unchanged), ``before_cursor_execute`` and
    ``after_cursor_execute`` listeners are told of every statement, and a DBAPI error is raised
    the way SQLAlchemy raises it (``IntegrityError``, ``OperationalError``, ...).

    Not for statements with ``IN`` lists (expanding parameters) or ``literal_execute``."""

    def __init__(self, statement, *, column_keys: tuple[str, ...] | None = None):
        self.statement = statement
        self.column_keys = column_keys  # an INSERT without .values(): the columns it is given
        self._plans: dict = {}

    def _plan(self, dialect) -> "_Plan":
        key = (type(dialect), dialect.server_version_info)
        plan = self._plans.get(key)
        if plan is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise ValueError("Prepared statements cannot have expanding or literal_execute parameters")
            plan = self._plans[key] = _Plan(
                sql=str(compiled), compiled=compiled, processors=dict(compiled._bind_processors),
                positions=tuple(compiled.positiontup) if compiled.positional else None,
                escaped=dict(compiled.escaped_bind_names or {}))
        return plan

    def all(self, session: Session, params: dict | None = None) -> list[tuple]:
        """Every row, as tuples of processed values (an empty list for a statement without rows)."""
        if not DIRECT:
            return self._plain(session, params)
        connection = session.connection()
        plan = self._plan(connection.dialect)
        values = plan.compiled.construct_params(params or {}, escape_names=False)
        processors = plan.processors
        if plan.positions is not None:
            parameters = [processors[name](values[name]) if name in processors else values[name]
                          for name in plan.positions]
        else:
            parameters = {plan.escaped.get(name, name): processors[name](value) if name in processors else value
                          for name, value in values.items()}
        dispatch = connection.dispatch
        cursor = connection.connection.driver_connection.cursor()
        try:
            for listener in dispatch.before_cursor_execute:
                listener(connection, cursor, plan.sql, parameters, None, False)
            cursor.execute(plan.sql, parameters)
            rows = cursor.fetchall() if cursor.description is not None else []
            if plan.results is _UNKNOWN:  # the columns' types as the database reports them, once
                plan.results = plan.result_processors(connection.dialect, cursor.description)
            for listener in dispatch.after_cursor_execute:
                listener(connection, cursor, plan.sql, parameters, None, False)
        except Exception as error:  # raised as SQLAlchemy would (wrapped, disconnects handled)
            connection._handle_dbapi_exception(error, plan.sql, parameters, cursor, None)
        finally:
            cursor.close()
        if plan.results is not None:
            rows = [tuple(value if process is None or value is None else process(value)
                          for process, value in zip(plan.results, row)) for row in rows]
        return rows

    def _plain(self, session: Session, params: dict | None) -> list[tuple]:
        if self.column_keys is not None:
            params = {key: (params or {})[key] for key in self.column_keys}
        result = session.execute(self.statement, params or {})
        return [tuple(row) for row in result] if result.returns_rows else []

    def first(self, session: Session, params: dict | None = None) -> tuple | None:
        rows = self.all(session, params)
        return rows[0] if rows else None

    def scalar(self, session: Session, params: dict | None = None):
        row = self.first(session, params)
        return None if row is None else row[0]


_UNKNOWN = object()


@dataclass
class _Plan:
    """What :class:`Prepared` keeps of a statement compiled for one dialect: the result
    processors are known after the first execution (some depend on the reported column types)."""
    sql: str
    compiled: object
    processors: dict
    positions: tuple | None
    escaped: dict
    results: list | None | object = _UNKNOWN

    def result_processors(self, dialect, description) -> list | None:
        if description is None:
            return None
        processors = [entry.type._cached_result_processor(dialect, column[1])
                      for entry, column in zip(self.compiled._result_columns, description)]
        return processors if any(processors) else None


@functools.cache
def _insert_returning_id(table, column_keys: tuple[str, ...]) -> Prepared:
    return Prepared(insert(table).returning(table.c.id), column_keys=column_keys)


def insert_now(session: Session, obj):
    """Insert a new model object at once (see :func:`insert_row`); ``obj`` holds every column's
    value (model defaults applied when it was made). Returns the object the session now holds."""
    table = type(obj).__table__
    return insert_row(session, type(obj), {key: getattr(obj, key) for key in _column_keys(table) if key != "id"})


def insert_row(session: Session, model, values: dict):
    """One ``INSERT ... RETURNING id`` (built once per table), then the row's object as
    :func:`written` makes it: the hot paths' way around the unit of work's flush machinery."""
    new_id = _insert_returning_id(model.__table__, tuple(values)).scalar(session, values)
    return written(session, model, {**values, "id": new_id})


def written(session: Session, model, values: dict):
    """The object of a row a statement of this transaction has just written, persistent and
    clean in the session, built the way the ORM builds a loaded row (no validation, no flush,
    no second round trip). ``values`` hold every column, the id included."""
    missing = _column_keys(model.__table__) - values.keys()
    if missing:
        raise ValueError(f"{model.__name__}: no value for {sorted(missing)}")
    obj = model._sa_class_manager.new_instance()
    for key, value in values.items():
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


@functools.cache
def _column_keys(table) -> frozenset[str]:
    return frozenset(column.key for column in table.columns)


def start_writing(session: Session) -> None:
    """A GET that writes (an audited reading of personal data): the read transaction so far
    ends (nothing was written in it) and the next one takes the write lock on SQLite, as a
    POST's would, instead of upgrading a read snapshot that another writer may have outdated."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
    write_intent.set(True)


def done_writing() -> None:
    """The rest of this request only reads (e.g. after a refusal was rolled back): on SQLite its
    next transaction starts without the write lock. The request's end restores the default."""
    write_intent.set(False)


def is_sqlite(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


def init_app(app) -> None:
    configure_mappers()  # now, not at the first ORM query: :func:`written` may come first
    engine = make_engine(app.config["DATABASE_URL"], busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    app.extensions["db_engine"] = engine
    app.teardown_appcontext(close_session)
