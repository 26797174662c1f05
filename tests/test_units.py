"""Sub-units (分队) of a team: made, renamed, filled and deleted by the team's coordinators and
admins over the API; a member in at most one sub-unit; leaders who see their roster and the
attendance of their sub-unit's shifts; shifts, boards and exports filtered by sub-unit."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from volunteer_app.models import AuditEntry, Shift, TeamMembership, Unit
from volunteer_app.services import ledger, units
from volunteer_app.timeutil import utcnow
from sqlmodel import select

from . import factories
from .conftest import arrange, at_once

CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def crew(app):
    with arrange(app) as session:
        team = factories.team(session, "城东巡逻队")
        other = factories.team(session, "城西巡逻队")
        boss = factories.coordinator(session, team)
        admin = factories.admin(session)
        members = [factories.user(session, team=team, display_name=f"队员{n}") for n in range(5)]
        stranger = factories.user(session, team=other)
        outsider_boss = factories.coordinator(session, other)
    return {"team": team, "other": other, "boss": boss, "admin": admin, "members": members,
            "stranger": stranger, "outsider_boss": outsider_boss}


def _make(api, who, team, name="一分队", **extra):
    return api.post(f"/api/v1/teams/{team.id}/units", json={"name": name, **extra}, user=who)


def test_create_list_rename_and_delete(app, api, crew):
    team, boss, members = crew["team"], crew["boss"], crew["members"]
    made = _make(api, boss, team, leader_ids=[members[0].id])
    assert made.status_code == 201, made.get_json()
    unit = made.get_json()
    assert unit["name"] == "一分队" and unit["team_id"] == team.id
    assert unit["leader_ids"] == [members[0].id] and unit["member_count"] == 1
    assert _make(api, boss, team, name=" 一分队 ").get_json()["code"] == "name_taken"
    listed = api.get(f"/api/v1/teams/{team.id}/units", user=members[3]).get_json()["units"]
    assert [row["id"] for row in listed] == [unit["id"]]
    renamed = api.patch(f"/api/v1/units/{unit['id']}", json={"name": "突击分队"}, user=boss)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "突击分队"
    put = api.put(f"/api/v1/units/{unit['id']}/members", json={"user_ids": [members[0].id, members[1].id]}, user=boss)
    assert put.status_code == 200 and put.get_json()["member_count"] == 2
    assert put.get_json()["leader_ids"] == [members[0].id]  # the leader who stays keeps leading
    assert api.delete(f"/api/v1/units/{unit['id']}", user=boss).status_code == 204
    with arrange(app, write=False) as session:
        assert session.get(Unit, unit["id"]) is None
        rows = session.exec(select(TeamMembership).where(TeamMembership.team_id == team.id)).all()
        assert len(rows) == 6 and all(row.unit_id is None and not row.unit_leader for row in rows)
        actions = set(session.exec(select(AuditEntry.action).where(AuditEntry.target_type == "unit")))
        assert actions == {"unit.create", "unit.update", "unit.members", "unit.delete"}
    assert api.get(f"/api/v1/units/{unit['id']}", user=boss).status_code == 404


def test_a_member_belongs_to_at_most_one_unit_of_the_team(api, crew):
    team, boss, members = crew["team"], crew["boss"], crew["members"]
    first = _make(api, boss, team, "一分队").get_json()["id"]
    second = _make(api, boss, team, "二分队").get_json()["id"]
    api.put(f"/api/v1/units/{first}/members", json={"user_ids": [m.id for m in members[:3]]}, user=boss)
    moved = api.put(f"/api/v1/units/{second}/members", json={"user_ids": [members[2].id]}, user=boss)
    assert moved.get_json()["member_count"] == 1
    counts = {row["id"]: row["member_count"]
              for row in api.get(f"/api/v1/teams/{team.id}/units", user=boss).get_json()["units"]}
    assert counts == {first: 2, second: 1}


def test_who_may_manage_units(api, crew):
    team, members = crew["team"], crew["members"]
    assert _make(api, members[0], team).status_code == 403
    assert _make(api, crew["outsider_boss"], team).status_code == 403
    assert _make(api, crew["admin"], team).status_code == 201
    unit = _make(api, crew["boss"], team, "二分队", leader_ids=[members[0].id]).get_json()["id"]
    # a leader sees the roster but does not reshape the unit
    assert api.get(f"/api/v1/units/{unit}", user=members[0]).status_code == 200
    assert api.get(f"/api/v1/units/{unit}", user=members[1]).status_code == 403
    assert api.put(f"/api/v1/units/{unit}/members", json={"user_ids": []}, user=members[0]).status_code == 403
    assert api.delete(f"/api/v1/units/{unit}", user=crew["outsider_boss"]).status_code == 403


def test_bad_input_is_refused_clearly(api, crew):
    team, boss, members, stranger = crew["team"], crew["boss"], crew["members"], crew["stranger"]
    for name in ("", "   ", "x" * 101, 7, None):
        response = _make(api, boss, team, name=name)
        assert response.status_code == 422, (name, response.get_json())
    assert _make(api, boss, team, name="\u200b").status_code in (201, 422)  # never a 500
    not_member = _make(api, boss, team, leader_ids=[stranger.id])
    assert not_member.status_code == 422 and not_member.get_json()["errors"][0]["field"] == "leader_ids"
    huge = _make(api, boss, team, leader_ids=[10**20])
    assert huge.status_code == 422
    unit = _make(api, boss, team, "三分队").get_json()["id"]
    assert api.put(f"/api/v1/units/{unit}/members", json={"user_ids": [stranger.id]}, user=boss).status_code == 422
    leader_outside = api.put(f"/api/v1/units/{unit}/members",
                             json={"user_ids": [members[0].id], "leader_ids": [members[1].id]}, user=boss)
    assert leader_outside.status_code == 422 and leader_outside.get_json()["errors"][0]["field"] == "leader_ids"
    assert api.put(f"/api/v1/units/{unit}/members", json={"user_ids": ["1"]}, user=boss).status_code == 422
    assert api.patch(f"/api/v1/units/{unit}", json={"name": ""}, user=boss).status_code == 422
    assert api.get("/api/v1/units/99999999999999999999", user=boss).status_code == 404
    assert api.get(f"/api/v1/teams/{team.id}/units?x=1", user=boss).status_code == 200
    assert _make(api, boss, team, "分队😀").status_code == 201


def _shift_body(team, cps, **extra):
    day = (utcnow().astimezone(CST) + timedelta(days=2)).date()
    start = datetime(day.year, day.month, day.day, 9, tzinfo=CST)
    return {"team_id": team.id, "title": "分队巡逻", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": 5,
            "checkpoint_ids": [cp.id for cp in cps], **extra}


def test_shift_of_a_unit(app, api, crew):
    team, boss, members = crew["team"], crew["boss"], crew["members"]
    with arrange(app) as session:
        cps = [factories.patrol_checkpoint(session, team_row=team)]
    unit = _make(api, boss, team, "一分队", leader_ids=[members[0].id]).get_json()["id"]
    api.put(f"/api/v1/units/{unit}/members", json={"user_ids": [members[0].id, members[1].id]}, user=boss)
    other_unit = _make(api, crew["outsider_boss"], crew["other"], "外队分队").get_json()["id"]
    wrong = api.post("/api/v1/shifts", json=_shift_body(team, cps, unit_id=other_unit), user=boss)
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "unit_id"
    made = api.post("/api/v1/shifts", json=_shift_body(team, cps, unit_id=unit), user=boss)
    assert made.status_code == 201, made.get_json()
    shift = made.get_json()["shifts"][0]
    assert shift["unit_id"] == unit
    assert api.post(f"/api/v1/shifts/{shift['id']}/signup", user=members[1]).status_code == 201
    outside = api.post(f"/api/v1/shifts/{shift['id']}/signup", user=members[2])
    assert outside.status_code == 403 and outside.get_json()["code"] == "not_team_member"
    listed = api.get(f"/api/v1/shifts?unit_id={unit}", user=members[2]).get_json()["shifts"]
    assert [row["id"] for row in listed] == [shift["id"]]
    assert api.get(f"/api/v1/shifts?unit_id={other_unit}", user=members[2]).get_json()["shifts"] == []
    # the unit's leader sees the attendance of its shift, a plain member does not
    assert api.get(f"/api/v1/shifts/{shift['id']}/attendance", user=members[0]).status_code == 200
    assert api.get(f"/api/v1/shifts/{shift['id']}/attendance", user=members[1]).status_code == 403
    team_shift = api.post("/api/v1/shifts", json=_shift_body(team, cps, title="全队"), user=boss).get_json()
    assert api.get(f"/api/v1/shifts/{team_shift['shifts'][0]['id']}/attendance",
                   user=members[0]).status_code == 403
    # deleting the unit hands its shift back to the team
    api.delete(f"/api/v1/units/{unit}", user=boss)
    with arrange(app, write=False) as session:
        assert session.get(Shift, shift["id"]).unit_id is None


def unit_shift(session, crew, ago: timedelta):
    """A sub-unit led by the first member, with the second in it, and its shift that began
    ``ago`` (on the team's checkpoint), the second member confirmed on it: (unit, shift)."""
    from volunteer_app.models import ShiftSignup
    team, boss, members = crew["team"], crew["boss"], crew["members"]
    unit = units.create_unit(session, boss, team.id, name="一分队", leader_ids=[members[0].id])
    units.set_members(session, boss, unit.id, [members[0].id, members[1].id])
    start = utcnow().replace(microsecond=0) - ago
    shift = factories.shift(session, team, starts_at=start, ends_at=start + timedelta(hours=2),
                            route=[factories.patrol_checkpoint(session, team_row=team)])
    shift.unit_id = unit.id
    session.add(shift)
    session.add(ShiftSignup(shift_id=shift.id, user_id=members[1].id, status="confirmed", seq=1))
    session.flush()
    return unit, shift


def test_leader_confirms_attendance_of_their_units_shift(app, crew):
    members = crew["members"]
    with arrange(app) as session:
        _unit, shift = unit_shift(session, crew, timedelta(hours=3))
        leader = session.get(type(members[0]), members[0].id)
        from volunteer_app.services import shifts
        row = shifts.confirm_attendance(session, leader, shift.id, members[1].id)
        assert row.completed_at is not None
        plain = session.get(type(members[2]), members[2].id)
        from .conftest import refused
        refused("forbidden", shifts.confirm_attendance, session, plain, shift.id, members[1].id)


def test_leader_confirms_attendance_on_the_pages(app, crew):
    """From the sub-unit's page to the shift's roster and its confirm button: no API needed."""
    from volunteer_app.models import ShiftSignup
    from .conftest import csrf_token, signed_in
    team, members = crew["team"], crew["members"]
    with arrange(app) as session:
        unit, shift = unit_shift(session, crew, timedelta(days=2))
        whole_team = factories.shift(session, team, starts_at=shift.starts_at, ends_at=shift.ends_at)
        session.add(ShiftSignup(shift_id=whole_team.id, user_id=members[1].id, status="confirmed", seq=1))
    leader = signed_in(app, members[0])
    page = leader.get(f"/units/{unit.id}").get_data(as_text=True)
    assert f"/manage/shifts/{shift.id}" in page  # a shift of two days ago, still to confirm
    roster = leader.get(f"/manage/shifts/{shift.id}")
    assert roster.status_code == 200
    text = roster.get_data(as_text=True)
    assert "队员1" in text and f"/manage/shifts/{shift.id}/edit" not in text
    token = csrf_token(leader, f"/manage/shifts/{shift.id}")
    done = leader.post(f"/manage/shifts/{shift.id}/attendance/{members[1].id}/confirm", data={"csrf_token": token})
    assert done.status_code == 302
    with arrange(app, write=False) as session:
        row = session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id)).one()
        assert row.completed_at is not None and row.confirmed_by_id == members[0].id
    # the team's other shifts and another person's sub-unit stay the coordinators'
    assert leader.get(f"/manage/shifts/{whole_team.id}").status_code == 403
    assert leader.post(f"/manage/shifts/{whole_team.id}/attendance/{members[1].id}/confirm",
                       data={"csrf_token": token}).status_code == 403
    assert signed_in(app, members[1]).get(f"/manage/shifts/{shift.id}").status_code == 403
    assert signed_in(app, crew["outsider_boss"]).get(f"/manage/shifts/{shift.id}").status_code in (403, 404)


def test_boards_and_exports_by_unit(app, api, crew):
    team, boss, members = crew["team"], crew["boss"], crew["members"]
    with arrange(app) as session:
        unit = units.create_unit(session, boss, team.id, name="一分队")
        units.set_members(session, boss, unit.id, [members[0].id, members[1].id])
        for n, person in enumerate(members[:3]):
            ledger.post(session, person.id, 10 * (n + 1), "award", f"t:{person.id}", reason="奖励")
        other_unit = units.create_unit(session, crew["outsider_boss"], crew["other"].id, name="外分队")
    board = api.get(f"/api/v1/leaderboard?period=all&unit_id={unit.id}", user=members[0]).get_json()
    assert [row["user_id"] for row in board["entries"]] == [members[1].id, members[0].id]
    assert board["unit_id"] == unit.id and board["team_id"] == team.id
    outside = api.get(f"/api/v1/leaderboard?period=month&unit_id={unit.id}", user=members[2]).get_json()
    assert outside["me"]["rank"] is None
    assert api.get("/api/v1/leaderboard?unit_id=99999999", user=boss).status_code == 404
    assert api.get(f"/api/v1/leaderboard?unit_id={unit.id}&team_id={crew['other'].id}",
                   user=boss).status_code == 404
    from .conftest import signed_in
    browser = signed_in(app, boss)
    csv = browser.get(f"/reports/ledger.csv?unit_id={unit.id}").get_data(as_text=True)
    assert members[0].username in csv and members[1].username in csv and members[2].username not in csv
    assert browser.get(f"/reports/ledger.csv?unit_id={other_unit.id}").status_code == 403
    page = browser.get(f"/reports?unit_id={unit.id}")
    assert page.status_code == 200
    # the per-team rows count the sub-unit's people, not the whole team
    import csv as csv_module
    import io
    rows = list(csv_module.reader(io.StringIO(
        browser.get(f"/reports/hours-teams.csv?unit_id={unit.id}").get_data(as_text=True).lstrip("\ufeff"))))
    assert [(row[0], row[2]) for row in rows[1:]] == [(str(team.id), "2")]
    whole = list(csv_module.reader(io.StringIO(
        browser.get(f"/reports/hours-teams.csv?team_id={team.id}").get_data(as_text=True).lstrip("\ufeff"))))
    assert [(row[0], row[2]) for row in whole[1:]] == [(str(team.id), "6")]
    assert browser.get("/reports/ledger.csv?unit_id=99999999").status_code == 404


def test_parallel_assignments_leave_one_unit_each(app, crew):
    """Two coordinators put the same people into two sub-units at once: each ends in one."""
    team, boss, members = crew["team"], crew["boss"], crew["members"]
    with arrange(app) as session:
        first = units.create_unit(session, boss, team.id, name="甲").id
        second = units.create_unit(session, boss, team.id, name="乙").id
    people = [m.id for m in members]

    def assign(unit_id):
        def call():
            with arrange(app) as session:
                actor = session.get(type(boss), boss.id)
                units.set_members(session, actor, unit_id, people)
        return call

    results = at_once([assign(first), assign(second)])
    assert all(not isinstance(result, Exception) or "conflict" in repr(result) for result in results), results
    with arrange(app, write=False) as session:
        rows = session.exec(select(TeamMembership.unit_id).where(TeamMembership.user_id.in_(people))).all()
        assert len(rows) == len(people) and len(set(rows)) == 1 and rows[0] in (first, second)


def test_demo_data_splits_its_biggest_team(app):
    from volunteer_app import demo
    with arrange(app) as session:
        demo.seed(session)
        made = session.exec(select(Unit)).all()
        assert [unit.name for unit in made] == ["一分队", "二分队", "三分队"]
        assert len({unit.team_id for unit in made}) == 1
        for unit in made:
            rows = session.exec(select(TeamMembership).where(TeamMembership.unit_id == unit.id)).all()
            assert rows and sum(row.unit_leader for row in rows) == 1
        # yesterday's patrol of the first sub-unit waits for its leader's confirmation
        from volunteer_app.models import ShiftSignup
        shift = session.exec(select(Shift).where(Shift.unit_id == made[0].id)).one()
        assert shift.ends_at < utcnow()
        waiting = session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id)).all()
        assert waiting and all(row.status == "confirmed" and row.completed_at is None for row in waiting)
