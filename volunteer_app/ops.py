"""Backups and restores while the app serves.

SQLite: the online backup API copies a consistent snapshot (in WAL mode writers go on meanwhile).
PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot too) and ``pg_restore``.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

PG_HELP = (
    "pg_dump is not on the PATH. Install the PostgreSQL client of the server's major version or newer "
    "(Debian: apt-get install postgresql-client-15) and run this command again, or run it yourself:\n"
    "  PGPASSWORD=... pg_dump --format=custom --no-owner --file backup.dump "
    "--host HOST --port PORT --username USER DBNAME\n"
    "and restore into an empty database with:\n"
    "  PGPASSWORD=... pg_restore --no-owner --exit-on-error --dbname DBNAME backup.dump"
)


class OpsError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise OpsError("This SQLite database lives in memory; there is nothing to back up.")
    return Path(database)


def _pg_args(engine: Engine) -> tuple[list[str], dict]:
    """libpq connection options, with the password in the environment (never on the command line)."""
    url = engine.url
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def backup(engine: Engine, path: str | os.PathLike) -> Path:
    """Write a consistent copy of the database to ``path`` (replaced atomically when done)."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    if engine.dialect.name == "sqlite":
        source_path = _sqlite_path(engine)
        if not source_path.exists():
            raise OpsError(f"No database at {source_path}.")
        source = sqlite3.connect(str(source_path), timeout=30)
        try:
            copy = sqlite3.connect(str(partial))
            try:
                source.backup(copy)  # all pages in one step: one consistent read snapshot
                copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            finally:
                copy.close()
        finally:
            source.close()
    elif engine.dialect.name == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise OpsError(PG_HELP)
        args, env = _pg_args(engine)
        result = subprocess.run([pg_dump, "--format=custom", "--no-owner", "--file", str(partial), *args,
                                 engine.url.database], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise OpsError(f"pg_dump failed: {result.stderr.strip()}")
    else:
        raise OpsError(f"Backups of {engine.dialect.name} databases are not supported.")
    os.replace(partial, target)
    return target


def rows_present(engine: Engine) -> list[str]:
    """Tables of the database that hold rows (Alembic's bookkeeping aside)."""
    names = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    busy = []
    with engine.connect() as conn:
        for name in names:
            if conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None:
                busy.append(name)
    return busy


def restore(engine: Engine, path: str | os.PathLike) -> None:
    """Load a backup made by :func:`backup` into an empty database (tables may exist, rows may not)."""
    source = Path(path)
    if not source.is_file():
        raise OpsError(f"No backup file at {source}.")
    busy = rows_present(engine)
    if busy:
        raise OpsError("The database is not empty (rows in: " + ", ".join(sorted(busy)[:8]) + "). "
                       "Restore into a new, empty database.")
    if engine.dialect.name == "sqlite":
        with open(source, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise OpsError(f"{source} is not a SQLite backup.")
        engine.dispose()
        target_path = _sqlite_path(engine)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(str(target_path), timeout=30)
            try:
                backup_db.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
        finally:
            backup_db.close()
    elif engine.dialect.name == "postgresql":
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise OpsError(PG_HELP)
        engine.dispose()
        args, env = _pg_args(engine)
        result = subprocess.run([pg_restore, "--no-owner", "--clean", "--if-exists", "--exit-on-error",
                                 "--single-transaction", *args, "--dbname", engine.url.database, str(source)],
                                env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise OpsError(f"pg_restore failed: {result.stderr.strip()}")
    else:
        raise OpsError(f"Restores into {engine.dialect.name} databases are not supported.")
