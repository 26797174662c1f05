"""Backups and restores while the app serves, the uploads' presence, and whether writes work.

A backup is a tar archive: ``database`` (SQLite: the online backup API's consistent snapshot,
taken while writers go on in WAL mode; PostgreSQL: ``pg_dump --format=custom``, a consistent
snapshot too, restored with ``pg_restore``) and ``uploads/<folder>/<file>``, the uploaded tip
photos and store pictures. The files are copied after the snapshot, and a file is written
before its row commits, so every row of the snapshot finds its file. A bare database file (a
backup of an older version) restores too.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy import inspect, insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from . import db
from .models import Attempt, StoreItem, TipPhoto
from .services import store, tips
from .timeutil import utcnow

#: The instance folders that hold uploads (tip photos, store pictures).
UPLOAD_DIRS = (tips.photo_dir("").name, store.PICTURE_DIR)
DATABASE_MEMBER = "database"
#: The file /healthz writes to prove the instance folder takes writes.
HEALTH_PROBE = ".healthz-probe"

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


def backup(engine: Engine, path: str | os.PathLike, instance_path: str | os.PathLike | None = None) -> Path:
    """Write a consistent copy of the database and the uploads under ``instance_path`` to
    ``path`` (replaced atomically when done)."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    snapshot = target.with_name(target.name + ".database.partial")
    partial.unlink(missing_ok=True)
    snapshot.unlink(missing_ok=True)
    try:
        _snapshot(engine, snapshot)
        with tarfile.open(partial, "w") as archive:
            archive.add(snapshot, arcname=DATABASE_MEMBER)
            for folder, file in _uploads(instance_path):
                archive.add(file, arcname=f"uploads/{folder}/{file.name}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        snapshot.unlink(missing_ok=True)
    os.replace(partial, target)
    return target


def _uploads(instance_path) -> list[tuple[str, Path]]:
    """(folder, file) of every uploaded file (half-written ``.part`` files left out)."""
    if instance_path is None:
        return []
    found = []
    for folder in UPLOAD_DIRS:
        directory = Path(instance_path) / folder
        if directory.is_dir():
            found += [(folder, file) for file in sorted(directory.iterdir())
                      if file.is_file() and not file.name.endswith(".part")]
    return found


def _snapshot(engine: Engine, partial: Path) -> None:
    """The database's consistent copy in ``partial``."""
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
            raise OpsError(f"pg_dump failed: {result.stderr.strip()}")
    else:
        raise OpsError(f"Backups of {engine.dialect.name} databases are not supported.")


def rows_present(engine: Engine) -> list[str]:
    """Tables of the database that hold rows (Alembic's bookkeeping aside)."""
    names = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    busy = []
    with engine.connect() as conn:
        for name in names:
            if conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None:
                busy.append(name)
    return busy


def restore(engine: Engine, path: str | os.PathLike, instance_path: str | os.PathLike | None = None) -> int:
    """Load a backup made by :func:`backup` into an empty database (tables may exist, rows may
    not) and its uploads into ``instance_path`` (files already there are kept). Returns the
    number of uploaded files restored."""
    source = Path(path)
    if not source.is_file():
        raise OpsError(f"No backup file at {source}.")
    if not tarfile.is_tarfile(source):
        _restore_database(engine, source)  # a bare database file
        return 0
    with tarfile.open(source) as archive, tempfile.TemporaryDirectory() as scratch:
        try:
            database = archive.extractfile(DATABASE_MEMBER)
        except KeyError:
            database = None
        if database is None:
            raise OpsError(f"{source} holds no database.")
        copy = Path(scratch) / DATABASE_MEMBER
        with database, open(copy, "wb") as out:
            shutil.copyfileobj(database, out)
        _restore_database(engine, copy)
        return _restore_uploads(archive, instance_path)


def _restore_uploads(archive: tarfile.TarFile, instance_path) -> int:
    restored = 0
    for member in archive.getmembers():
        parts = member.name.split("/")
        if (instance_path is None or not member.isfile() or len(parts) != 3 or parts[0] != "uploads"
                or parts[1] not in UPLOAD_DIRS or parts[2] in ("", ".", "..") or "\\" in parts[2]):
            continue  # only plain files of the upload folders, never a path elsewhere
        target = Path(instance_path) / parts[1] / parts[2]
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.extractfile(member) as data, open(target, "wb") as out:
            shutil.copyfileobj(data, out)
        restored += 1
    return restored


def _restore_database(engine: Engine, source: Path) -> None:
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


def missing_uploads(session: Session, instance_path: str | os.PathLike) -> list[str]:
    """Upload rows whose file is not in the instance folder (for ``volunteer-app check``)."""
    problems = []
    photos = tips.photo_dir(instance_path)
    for photo_id, tip_id, name in session.exec(select(TipPhoto.id, TipPhoto.tip_id, TipPhoto.stored_name)):
        if not (photos / name).is_file():
            problems.append(f"tip {tip_id}: photo {photo_id} has no file ({photos / name})")
    pictures = Path(instance_path) / store.PICTURE_DIR
    for item_id, name in session.exec(select(StoreItem.id, StoreItem.picture).where(StoreItem.picture.is_not(None))):
        if not (pictures / name).is_file():
            problems.append(f"store item {item_id}: picture has no file ({pictures / name})")
    return problems


def write_problem(engine: Engine, instance_path: str | os.PathLike) -> str | None:
    """Why writes fail, or None: a small file written to the instance folder (uploads and the
    secret key live there) and a database insert that is rolled back. Cheap enough for /healthz."""
    probe = Path(instance_path) / HEALTH_PROBE
    try:
        with open(probe, "wb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        return f"the instance folder takes no writes: {error.strerror or error}"
    token = db.write_intent.set(True)
    try:
        with Session(engine) as session:
            session.execute(insert(Attempt).values(kind="healthz", key="probe", created_at=utcnow()))
            session.rollback()
    except Exception as error:  # noqa: BLE001 - any failure to write means unhealthy
        return f"the database takes no writes: {type(error).__name__}"
    finally:
        db.write_intent.reset(token)
    return None
