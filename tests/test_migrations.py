"""The Alembic revisions build an empty database that matches the models exactly."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from volunteer_app import migrate
from volunteer_app.db import make_engine

from .conftest import PG_URL


@pytest.fixture
def empty_engine(tmp_path):
    if not PG_URL:
        engine = make_engine(f"sqlite:///{tmp_path}/migrations.db")
        yield engine
        engine.dispose()
        return
    from volunteer_app.config import normalise_database_url
    base = normalise_database_url(PG_URL).rsplit("/", 1)[0]
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(f"{base}/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def test_migrations_match_models(empty_engine):
    migrate.upgrade(empty_engine)
    assert migrate.differences(empty_engine) == []


def test_upgrade_twice_is_harmless(empty_engine):
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
