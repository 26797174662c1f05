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


NOW = "2026-11-01 08:00:00"


def add_station_and_people(conn, minutes_by_user: dict[int, int]) -> None:
    """Station 1 and a volunteer per ``{user id: minutes served}``, in the columns every
    revision since the first has."""
    conn.execute(text("INSERT INTO stations (id, name, created_at) VALUES (1, '西湖派出所', :now)"), {"now": NOW})
    for user_id, minutes in minutes_by_user.items():
        conn.execute(text(
            "INSERT INTO users (id, station_id, username, display_name, roles, status, password_hash, "
            "session_version, balance, lifetime_points, minutes_served, language, large_mode, "
            "large_mode_offered, leaderboard_anonymous, created_at) VALUES (:id, 1, :name, :name, 'volunteer', "
            "'active', 'x', 1, 0, 0, :minutes, 'zh_CN', false, false, false, :now)"),
            {"id": user_id, "name": f"user{user_id}", "minutes": minutes, "now": NOW})


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
    now = NOW
    with empty_engine.begin() as conn:
        add_station_and_people(conn, {1: 120, 2: 0})
        conn.execute(text("INSERT INTO teams (id, station_id, name, description, created_at) "
                          "VALUES (1, 1, '巡逻队', '', :now)"), {"now": now})
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


def test_confirmed_records_fill_the_day_totals(empty_engine):
    """Upgrading a database with service records sums the confirmed ones by person, station,
    kind and station-local day (16:30 UTC is the next day in Hangzhou); others are left out."""
    migrate.upgrade(empty_engine, "0005")
    now = NOW
    with empty_engine.begin() as conn:
        add_station_and_people(conn, {1: 150})
        for started, minutes, status in (("2026-11-01 02:00:00", 60, "confirmed"),
                                         ("2026-11-01 16:30:00", 90, "confirmed"),
                                         ("2026-11-01 05:00:00", 45, "pending")):
            conn.execute(text(
                "INSERT INTO service_records (station_id, user_id, kind, place, started_at, ended_at, minutes, "
                "weighted_minutes, points, source, status, note, review_note, created_at) VALUES "
                "(1, 1, 'patrol', '湖滨', :start, :start, :minutes, :minutes, 0, 'entry', :status, '', '', :now)"),
                {"start": started, "minutes": minutes, "status": status, "now": now})
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        people = conn.execute(text("SELECT user_id, CAST(day AS VARCHAR(10)), kind, station_id, minutes, records "
                                   "FROM service_day_totals ORDER BY day")).all()
        assert [tuple(row) for row in people] == [(1, "2026-11-01", "patrol", 1, 60, 1),
                                                 (1, "2026-11-02", "patrol", 1, 90, 1)]
        stations = conn.execute(text("SELECT station_id, CAST(day AS VARCHAR(10)), minutes, records "
                                     "FROM service_station_days ORDER BY day")).all()
        assert [tuple(row) for row in stations] == [(1, "2026-11-01", 60, 1), (1, "2026-11-02", 90, 1)]


def test_lapsed_points_so_far_reach_the_station_days(empty_engine):
    """Upgrading a database with lapsed points puts them on their station-local days (16:30 UTC
    is the next day in Hangzhou), beside a day's check-ins or on a day of their own."""
    migrate.upgrade(empty_engine, "0012")
    with empty_engine.begin() as conn:
        add_station_and_people(conn, {1: 0})
        conn.execute(text("INSERT INTO station_days (station_id, day, checkins, minutes_served, points_issued, "
                          "points_redeemed) VALUES (1, '2026-11-01', 3, 120, 15, 0)"))
        for number, (at, amount, kind) in enumerate((("2026-11-01 02:00:00", -40, "expiry"),
                                                     ("2026-11-01 16:30:00", -25, "expiry"),
                                                     ("2026-11-01 05:00:00", -10, "redemption")), start=1):
            conn.execute(text(
                "INSERT INTO ledger_entries (id, user_id, amount, kind, reason, ref, balance_after, earned, "
                "created_at) VALUES (:id, 1, :amount, :kind, '', :ref, 0, false, :at)"),
                {"id": number, "amount": amount, "kind": kind, "ref": f"{kind}:{number}", "at": at})
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        days = conn.execute(text("SELECT CAST(day AS VARCHAR(10)), checkins, points_issued, points_lapsed "
                                 "FROM station_days ORDER BY day")).all()
    assert [tuple(row) for row in days] == [("2026-11-01", 3, 15, 40), ("2026-11-02", 0, 0, 25)]


def test_members_day_totals_fill_the_team_days(empty_engine):
    """Upgrading sums each team's members' day totals by sub-unit (0: in none); a person in two
    teams counts in both, a person in none in neither."""
    migrate.upgrade(empty_engine, "0017")
    with empty_engine.begin() as conn:
        add_station_and_people(conn, {1: 90, 2: 30, 3: 15})
        for team_id, name in ((1, '巡逻队'), (2, '调解队')):
            conn.execute(text("INSERT INTO teams (id, station_id, name, description, created_at) "
                              "VALUES (:id, 1, :name, '', :now)"), {"id": team_id, "name": name, "now": NOW})
        conn.execute(text("INSERT INTO units (id, station_id, team_id, name, created_at) "
                          "VALUES (7, 1, 1, '一分队', :now)"), {"now": NOW})
        for user_id, team_id, unit_id in ((1, 1, 7), (2, 1, None), (1, 2, None)):
            conn.execute(text("INSERT INTO team_memberships (team_id, user_id, role, unit_id, unit_leader, created_at) "
                              "VALUES (:team, :user, 'member', :unit, false, :now)"),
                         {"team": team_id, "user": user_id, "unit": unit_id, "now": NOW})
        for user_id, day, kind, minutes in ((1, "2026-11-01", "patrol", 60), (1, "2026-11-01", "tea_room", 30),
                                            (2, "2026-11-01", "patrol", 30), (3, "2026-11-02", "patrol", 15)):
            conn.execute(text("INSERT INTO service_day_totals (user_id, day, kind, station_id, minutes, records) "
                              "VALUES (:user, :day, :kind, 1, :minutes, 1)"),
                         {"user": user_id, "day": day, "kind": kind, "minutes": minutes})
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        rows = conn.execute(text("SELECT team_id, unit_id, CAST(day AS VARCHAR(10)), minutes, records "
                                 "FROM service_team_days ORDER BY team_id, unit_id")).all()
    assert [tuple(row) for row in rows] == [(1, 0, "2026-11-01", 30, 1), (1, 7, "2026-11-01", 90, 2),
                                           (2, 0, "2026-11-01", 90, 2)]
