"""The day totals the hours reports read: per person, per station and per team, equal to the
confirmed records (the teams': to their members' totals) at every commit, moved with a record
whose start moves and with a member who changes team or sub-unit, dropped with a rollback."""
from __future__ import annotations

import time
from datetime import date, timedelta

from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import ServiceDayTotal, ServiceRecord, ServiceStationDay, ServiceTeamDay, User
from volunteer_app.services import hours, service, teams, units
from volunteer_app.services.dashboard import scope_for
from volunteer_app.services.reports import hours_by_kind, period

from . import factories
from .factories import T0
from .conftest import at_once, outcomes

DAY = date(2026, 11, 23)  # T0 is 16:00 in Hangzhou on this day


def person_days(session, user_id):
    return {(row.day, row.kind): (row.minutes, row.records)
            for row in session.exec(select(ServiceDayTotal).where(ServiceDayTotal.user_id == user_id))
            if row.minutes or row.records}


def station_days(session, station_id):
    hours.write_pending(session)
    return {(row.day, row.kind): (row.minutes, row.records)
            for row in session.exec(select(ServiceStationDay).where(ServiceStationDay.station_id == station_id))
            if row.minutes or row.records}


def team_days(session, team_id):
    hours.write_pending(session)
    return {(row.unit_id, row.day): (row.minutes, row.records)
            for row in session.exec(select(ServiceTeamDay).where(ServiceTeamDay.team_id == team_id))
            if row.minutes or row.records}


def test_a_record_counts_on_its_local_day_and_moves_with_its_start(session):
    member = factories.user(session)
    late = factories.service_record(session, member, T0 + timedelta(hours=8, minutes=30), 60)  # 00:30 the next day
    factories.service_record(session, member, T0, 45, kind="tea_room")
    assert person_days(session, member.id) == {(DAY + timedelta(days=1), "patrol"): (60, 1),
                                                (DAY, "tea_room"): (45, 1)}
    # an outing extended back over midnight by a scan held on a phone: its minutes move a day back
    was = (late.started_at, late.minutes)
    late.started_at, late.minutes = late.started_at - timedelta(hours=1), 120
    session.add(late)
    member.minutes_served += 60
    session.add(member)
    hours.count(session, late, was=was)
    assert person_days(session, member.id) == {(DAY, "patrol"): (120, 1), (DAY, "tea_room"): (45, 1)}
    assert station_days(session, member.station_id) == person_days(session, member.id)
    assert service.check_integrity(session) == []


def test_station_totals_are_written_with_the_commit_and_dropped_with_a_rollback(app, session):
    member = factories.user(session)
    session.commit()
    factories.service_record(session, member, T0, 30)
    session.rollback()
    assert session.exec(select(ServiceStationDay)).all() == []
    factories.service_record(session, member, T0, 50)
    session.commit()
    with db.unit_of_work(app.extensions["db_engine"], write=False) as other:
        rows = other.exec(select(ServiceStationDay)).all()
        assert [(row.day, row.kind, row.minutes, row.records) for row in rows] == [(DAY, "patrol", 50, 1)]


def test_check_finds_totals_that_disagree_with_the_records(session):
    member = factories.user(session)
    factories.service_record(session, member, T0, 30)
    assert service.check_integrity(session) == []
    row = session.exec(select(ServiceDayTotal)).one()
    row.minutes += 1
    session.add(row)
    session.flush()
    problems = service.check_integrity(session)
    assert any("(person)" in problem and "31" in problem for problem in problems), problems
    row.minutes -= 1
    station = session.exec(select(ServiceStationDay)).one()
    station.records += 1
    session.add_all([row, station])
    session.flush()
    problems = service.check_integrity(session)
    assert problems and all("(station)" in problem for problem in problems), problems


def test_station_and_team_reports_read_the_totals(session):
    team, other_team = factories.team(session), factories.team(session)
    boss = factories.coordinator(session, team)
    admin = factories.admin(session)
    ours, theirs = factories.user(session, team=team), factories.user(session, team=other_team)
    factories.service_record(session, ours, T0, 90, kind="tea_room")
    factories.service_record(session, theirs, T0, 30, kind="tea_room")
    factories.service_record(session, theirs, T0 - timedelta(days=40), 600)  # another month
    factories.service_record(session, ours, T0 + timedelta(hours=1), 60, status="pending")
    month = period(DAY.replace(day=1), DAY)
    kinds = dict((key, (hours_, count)) for key, hours_, count in hours_by_kind(session, scope_for(session, admin),
                                                                                  month))
    assert list(kinds.values()) == [(2.0, 2)]
    assert [row[1:] for row in hours_by_kind(session, scope_for(session, boss), month)] == [(1.5, 1)]


def test_parallel_confirmations_in_one_station_keep_the_totals(app, session):
    """Coordinator entries for many people at once (one station, one day, one kind), beside a
    settling of open duties: every total holds and no transaction waits on another forever."""
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    members = [factories.user(session, team=team) for _ in range(6)]
    session.commit()
    engine = app.extensions["db_engine"]

    def enter(member_id, offset):
        with app.app_context(), db.unit_of_work(engine) as s:
            service.record_entry(s, s.get(User, boss.id), user_id=member_id, kind="tea_room",
                                 started_at=T0 + timedelta(minutes=offset), place="茶室",
                                 ended_at=T0 + timedelta(minutes=offset + 60), now=T0 + timedelta(days=1))

    def settle():
        with app.app_context(), db.unit_of_work(engine) as s:
            service.settle(s, now=T0 + timedelta(days=1))

    calls = [lambda m=member.id, i=i: enter(m, i) for i, member in enumerate(members)] + [settle]
    assert outcomes(at_once(calls)) == ["ok"] * len(calls)
    session.expire_all()
    assert station_days(session, team.station_id) == {(DAY, "tea_room"): (60 * len(members), len(members))}
    assert service.check_integrity(session) == []
    assert len(session.exec(select(ServiceRecord).where(ServiceRecord.status == "confirmed")).all()) == len(members)


def test_check_reads_days_in_a_zone_with_summer_time(app, session):
    """Where the station's zone changes its offset (no fixed shift of the UTC day), ``check``
    still finds each record's local day (and a total on the wrong day)."""
    zone, app.config["STATION_TZ"] = app.config["STATION_TZ"], "Europe/Berlin"
    try:
        member = factories.user(session)
        factories.service_record(session, member, T0.replace(month=7, hour=22, minute=30), 30)  # 00:30 CEST
        assert person_days(session, member.id) == {(date(2026, 7, 24), "patrol"): (30, 1)}
        assert service.check_integrity(session) == []
        row = session.exec(select(ServiceDayTotal)).one()
        row.day = date(2026, 7, 23)
        session.add(row)
        session.flush()
        problems = service.check_integrity(session)  # a total on a day without a record, none on its day
        assert {problem for problem in problems if "(person)" in problem} == {
            f"service day totals (person): records and totals differ at {row}"
            for row in ((member.id, date(2026, 7, 23), "patrol", 30, 1), (member.id, date(2026, 7, 24), "patrol", 30, 1))}
    finally:
        app.config["STATION_TZ"] = zone


def test_team_totals_follow_the_records_and_the_members(session):
    """A member's service counts for each team they are in, under their sub-unit (0: none);
    joining a team brings their totals to it, leaving takes them away, moving sub-unit (or the
    sub-unit's deletion) moves them, a corrected record moves its minutes in every team."""
    team, other = factories.team(session), factories.team(session)
    boss, admin = factories.coordinator(session, team), factories.admin(session)
    member, outsider = factories.user(session, team=team), factories.user(session)
    record = factories.service_record(session, member, T0, 60)
    factories.service_record(session, outsider, T0, 45)
    assert team_days(session, team.id) == {(0, DAY): (60, 1)}
    unit = units.create_unit(session, boss, team.id, name="一分队", leader_ids=[member.id])
    factories.service_record(session, member, T0 + timedelta(hours=2), 30, kind="tea_room")
    assert team_days(session, team.id) == {(unit.id, DAY): (90, 2)}
    teams.add_member(session, admin, other.id, member.id)
    assert team_days(session, other.id) == {(0, DAY): (90, 2)}
    was = (record.started_at, record.minutes)
    record.started_at, record.minutes = record.started_at - timedelta(days=1), 40
    session.add(record)
    member.minutes_served -= 20
    session.add(member)
    hours.count(session, record, was=was)
    assert team_days(session, other.id) == {(0, DAY): (30, 1), (0, DAY - timedelta(days=1)): (40, 1)}
    units.delete_unit(session, boss, unit.id)
    assert team_days(session, team.id) == team_days(session, other.id)
    assert service.check_integrity(session) == []
    teams.remove_member(session, boss, team.id, member.id)
    session.commit()
    assert team_days(session, team.id) == {}
    assert team_days(session, other.id) == {(0, DAY): (30, 1), (0, DAY - timedelta(days=1)): (40, 1)}
    assert service.check_integrity(session) == []


def test_check_finds_team_totals_that_disagree_with_the_members(session):
    team = factories.team(session)
    member = factories.user(session, team=team)
    factories.service_record(session, member, T0, 30)
    hours.write_pending(session)
    row = session.exec(select(ServiceTeamDay)).one()
    row.minutes += 5
    session.add(row)
    session.flush()
    problems = service.check_integrity(session)
    assert problems and all("(team)" in problem for problem in problems), problems
    assert any("35" in problem for problem in problems)


def test_a_membership_change_rolled_back_leaves_the_team_totals(app, session):
    team, other = factories.team(session), factories.team(session)
    admin = factories.admin(session)
    member = factories.user(session, team=team)
    factories.service_record(session, member, T0, 30)
    session.commit()
    teams.add_member(session, admin, other.id, member.id)
    session.rollback()
    assert team_days(session, other.id) == {}
    assert team_days(session, team.id) == {(0, DAY): (30, 1)}
    assert service.check_integrity(session) == []


def test_a_savepoint_rolled_back_keeps_the_transactions_totals(app, session):
    """A clash caught inside a savepoint (a notice, an award, a code used twice) later in the
    same transaction leaves the station's and the team's totals it owes to be written."""
    team = factories.team(session)
    member = factories.user(session, team=team)
    session.commit()
    factories.service_record(session, member, T0, 25)
    try:
        with session.begin_nested():
            session.add(User(station_id=member.station_id, username=member.username, display_name="同名",
                             password_hash="x", roles="volunteer"))
            session.flush()
    except Exception:
        pass
    session.commit()
    assert station_days(session, member.station_id) == {(DAY, "patrol"): (25, 1)}
    assert team_days(session, team.id) == {(0, DAY): (25, 1)}
    assert service.check_integrity(session) == []


def team_with_a_sub_unit(session):
    """A team, its coordinator, a member in no sub-unit yet and the team's one sub-unit, committed."""
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    member = factories.user(session, team=team)
    unit = units.create_unit(session, boss, team.id, name="一分队")
    session.commit()
    return team, boss, member, unit


def test_confirmations_beside_sub_unit_moves_keep_the_team_totals(app, session):
    """A member's service confirmed while a coordinator moves them between sub-units, at the
    same moment, many times: whichever commits first, the minutes end where the member is."""
    team, boss, member, unit = team_with_a_sub_unit(session)
    engine = app.extensions["db_engine"]

    def enter(number):
        with app.app_context(), db.unit_of_work(engine) as s:
            service.record_entry(s, s.get(User, boss.id), user_id=member.id, kind="tea_room", place="茶室",
                                 started_at=T0 + timedelta(minutes=61 * number),
                                 ended_at=T0 + timedelta(minutes=61 * number + 60), now=T0 + timedelta(days=1))

    def move(number):
        with app.app_context(), db.unit_of_work(engine) as s:
            units.assign_member(s, s.get(User, boss.id), team.id, member.id, unit.id if number % 2 else None)

    calls = [call for number in range(8) for call in (lambda n=number: enter(n), lambda n=number: move(n))]
    assert outcomes(at_once(calls)) == ["ok"] * len(calls)
    session.expire_all()
    assert sum(minutes for minutes, _records in team_days(session, team.id).values()) == 8 * 60
    assert service.check_integrity(session) == []


def test_a_move_waits_for_a_confirmation_in_flight(app, session):
    """A coordinator moves a member to a sub-unit while a record of theirs is being confirmed
    and not yet committed: the move waits for it, so the record's minutes move along too
    (read before it committed, they would stay behind in the team without a sub-unit)."""
    team, boss, member, unit = team_with_a_sub_unit(session)
    engine = app.extensions["db_engine"]

    def enter(meet):
        with app.app_context(), db.unit_of_work(engine) as s:
            service.record_entry(s, s.get(User, boss.id), user_id=member.id, kind="tea_room", place="茶室",
                                 started_at=T0, ended_at=T0 + timedelta(hours=1), now=T0 + timedelta(days=1))
            meet()
            time.sleep(0.4)  # the move has begun meanwhile

    def move(meet):
        meet()
        with app.app_context(), db.unit_of_work(engine) as s:
            units.assign_member(s, s.get(User, boss.id), team.id, member.id, unit.id)

    assert outcomes(at_once([enter, move], meet_inside=True)) == ["ok", "ok"]
    session.expire_all()
    assert team_days(session, team.id) == {(unit.id, DAY): (60, 1)}
    assert service.check_integrity(session) == []


def test_a_membership_change_flushed_by_the_commit_moves_the_totals(app, session):
    """Leaving a team written by the commit's own flush (nothing flushed it before): the
    member's totals leave the team in that same commit, as another session then reads."""
    team = factories.team(session)
    member = factories.user(session, team=team)
    factories.service_record(session, member, T0, 30)
    session.commit()
    session.delete(teams.membership_of(session, team.id, member.id))
    session.commit()
    with db.unit_of_work(app.extensions["db_engine"], write=False) as other:
        rows = other.exec(select(ServiceTeamDay).where(ServiceTeamDay.team_id == team.id)).all()
        assert [(row.minutes, row.records) for row in rows] == [(0, 0)]
        assert service.check_integrity(other) == []
