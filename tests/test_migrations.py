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


def test_completed_shifts_become_confirmed_route_records(empty_engine):
    """Upgrading a database with completed shifts makes each a confirmed route record of its
    minutes; the cached minutes then equal the records (nothing lost, nothing doubled)."""
    migrate.upgrade(empty_engine, "0003")
    now = "2026-11-01 08:00:00"
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO stations (id, name, created_at) VALUES (1, '西湖派出所', :now)"), {"now": now})
        conn.execute(text("INSERT INTO teams (id, station_id, name, description, created_at) "
                          "VALUES (1, 1, '巡逻队', '', :now)"), {"now": now})
        for user_id, minutes in ((1, 120), (2, 0)):
            conn.execute(text(
                "INSERT INTO users (id, station_id, username, display_name, roles, status, password_hash, "
                "session_version, balance, lifetime_points, minutes_served, language, large_mode, "
                "large_mode_offered, leaderboard_anonymous, created_at) VALUES (:id, 1, :name, :name, 'volunteer', "
                "'active', 'x', 1, 0, 0, :minutes, 'zh_CN', false, false, false, :now)"),
                {"id": user_id, "name": f"user{user_id}", "minutes": minutes, "now": now})
        conn.execute(text("INSERT INTO shifts (id, station_id, team_id, title, starts_at, ends_at, capacity, "
                          "points_per_hour, cancelled, created_at) VALUES (1, 1, 1, '夜巡', :start, :end, 3, 10, "
                          "false, :now)"), {"start": "2026-11-01 12:00:00", "end": "2026-11-01 14:00:00", "now": now})
        for user_id, completed in ((1, "2026-11-01 14:00:00"), (2, None)):
            conn.execute(text("INSERT INTO shift_signups (shift_id, user_id, status, seq, signed_up_at, "
                              "completed_at, minutes_credited, points_awarded, no_show_comment) VALUES (1, :user, "
                              "'confirmed', :user, :now, :completed, :minutes, 0, '')"),
                         {"user": user_id, "now": now, "completed": completed, "minutes": 120 if completed else 0})
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, kind, source, status, minutes, shift_id, source_key "
                                 "FROM service_records")).all()
        assert [tuple(row) for row in rows] == [(1, "patrol", "route", "confirmed", 120, 1, "route:1:1")]
        assert conn.execute(text("SELECT direction FROM checkins")).all() == []
