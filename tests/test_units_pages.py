"""The team page on the phone: its sub-units with their leaders and counts; a coordinator
creates, renames and deletes sub-units and puts people into them; refusals are said in words."""
from __future__ import annotations

import pytest
from sqlmodel import select

from volunteer_app.models import TeamMembership, Unit
from volunteer_app.services import units

from . import factories
from .conftest import arrange, csrf_token, signed_in

pytestmark = pytest.mark.usefixtures("english_pages")


@pytest.fixture
def crew(app):
    with arrange(app) as session:
        team = factories.team(session, "城东巡逻队")
        boss = factories.coordinator(session, team, display_name="王队长")
        members = [factories.user(session, team=team, display_name=f"队员{n}") for n in range(3)]
        other = factories.team(session, "城西巡逻队")
        other_unit = units.create_unit(session, factories.admin(session), other.id, name="外队分队")
    return team, boss, members, other_unit


def test_team_page_shows_units_with_leaders_and_counts(app, crew):
    team, boss, members, _other = crew
    with arrange(app) as session:
        unit = units.create_unit(session, boss, team.id, name="一分队", leader_ids=[members[0].id])
        units.set_members(session, boss, unit.id, [members[0].id, members[1].id])
    page = signed_in(app, boss).get(f"/manage/teams/{team.id}").get_data(as_text=True)
    assert "一分队" in page and "2 people" in page and "Leaders: 队员0" in page


def test_coordinator_creates_assigns_renames_and_deletes(app, crew):
    team, boss, members, _other = crew
    browser = signed_in(app, boss)
    path = f"/manage/teams/{team.id}"
    token = csrf_token(browser, path)
    made = browser.post(f"{path}/units", data={"csrf_token": token, "name": " 二分队 "}, follow_redirects=True)
    assert "Sub-unit 二分队 was created." in made.get_data(as_text=True)
    with arrange(app, write=False) as session:
        unit = session.exec(select(Unit).where(Unit.team_id == team.id)).one()
    empty = browser.post(f"{path}/units", data={"csrf_token": token, "name": "  "}, follow_redirects=True)
    assert "Please enter a name." in empty.get_data(as_text=True)
    assigned = browser.post(f"{path}/members/{members[1].id}/unit",
                            data={"csrf_token": token, "unit_id": str(unit.id), "leader": "1"}, follow_redirects=True)
    assert "sub-unit was saved" in assigned.get_data(as_text=True)
    with arrange(app, write=False) as session:
        row = session.exec(select(TeamMembership).where(TeamMembership.user_id == members[1].id)).one()
        assert row.unit_id == unit.id and row.unit_leader
    renamed = browser.post(f"/manage/units/{unit.id}/rename", data={"csrf_token": token, "name": "突击队"},
                           follow_redirects=True)
    assert "now called 突击队" in renamed.get_data(as_text=True)
    deleted = browser.post(f"/manage/units/{unit.id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "was deleted" in deleted.get_data(as_text=True)
    with arrange(app, write=False) as session:
        row = session.exec(select(TeamMembership).where(TeamMembership.user_id == members[1].id)).one()
        assert row.unit_id is None and not row.unit_leader


def test_bad_and_foreign_input_is_refused(app, crew):
    team, boss, members, other_unit = crew
    browser = signed_in(app, boss)
    path = f"/manage/teams/{team.id}"
    token = csrf_token(browser, path)
    wrong = browser.post(f"{path}/members/{members[0].id}/unit",
                         data={"csrf_token": token, "unit_id": str(other_unit.id)}, follow_redirects=True)
    assert "Choose a sub-unit of this team." in wrong.get_data(as_text=True)
    for bad in ("²", "99999999999999999999", "-1", "x"):
        response = browser.post(f"{path}/members/{members[0].id}/unit", data={"csrf_token": token, "unit_id": bad})
        assert response.status_code in (302, 303, 400, 404, 422), bad
    assert browser.post(f"/manage/units/{other_unit.id}/rename",
                        data={"csrf_token": token, "name": "x"}).status_code == 403
    volunteer = signed_in(app, members[0])
    assert volunteer.post(f"{path}/units", data={"csrf_token": token, "name": "x"}).status_code in (400, 403)


def test_new_shift_form_takes_a_sub_unit(app, crew):
    from datetime import timedelta

    from volunteer_app.models import Shift
    from volunteer_app.timeutil import local, utcnow
    team, boss, members, other_unit = crew
    with arrange(app) as session:
        unit = units.create_unit(session, boss, team.id, name="一分队")
        stop = factories.patrol_checkpoint(session, team_row=team)
    browser = signed_in(app, boss)
    form = browser.get("/manage/shifts/new").get_data(as_text=True)
    assert "一分队" in form
    day = (local(utcnow()) + timedelta(days=2)).date().isoformat()
    data = {"csrf_token": csrf_token(browser, "/manage/shifts/new"), "team_id": str(team.id), "title": "分队夜巡",
            "day": day, "start": "19:00", "end": "21:00", "capacity": "3", "points_per_hour": "10",
            "stop1": str(stop.id)}
    wrong = browser.post("/manage/shifts/new", data={**data, "unit_id": str(other_unit.id)})
    assert wrong.status_code == 422 and "Choose a sub-unit of this team." in wrong.get_data(as_text=True)
    made = browser.post("/manage/shifts/new", data={**data, "unit_id": str(unit.id)})
    assert made.status_code in (302, 303)
    with arrange(app, write=False) as session:
        assert session.exec(select(Shift.unit_id).where(Shift.title == "分队夜巡")).all() == [unit.id]


def test_leader_sees_the_roster_and_shifts_of_their_unit(app, crew):
    from datetime import timedelta

    from volunteer_app.timeutil import utcnow
    team, boss, members, other_unit = crew
    with arrange(app) as session:
        unit = units.create_unit(session, boss, team.id, name="一分队", leader_ids=[members[0].id])
        units.set_members(session, boss, unit.id, [members[0].id, members[1].id])
        start = utcnow().replace(microsecond=0) + timedelta(days=1)
        stop = factories.patrol_checkpoint(session, team_row=team)
        shift = factories.shift(session, team, starts_at=start, ends_at=start + timedelta(hours=2), route=[stop],
                                title="分队巡逻")
        shift.unit_id = unit.id
        session.add(shift)
    leader = signed_in(app, members[0])
    assert f"/units/{unit.id}" in leader.get("/").get_data(as_text=True)
    page = leader.get(f"/units/{unit.id}").get_data(as_text=True)
    assert "队员1" in page and "队员2" not in page and "分队巡逻" in page
    assert signed_in(app, members[1]).get(f"/units/{unit.id}").status_code == 403
    assert leader.get(f"/units/{other_unit.id}").status_code == 403
    assert leader.get("/units/99999999999999999999").status_code == 404
