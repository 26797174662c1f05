"""Police assistants (警务助理) and grids (网格): the role and an area given by the station's
admin; the tips and care households of that area are theirs to see (the opening audited), and
nothing else beyond a volunteer's rights; a grid on checkpoints, tips and households; reports
by grid on the reports page and in its CSV."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app.models import AuditEntry, Checkin, User
from volunteer_app.services import care, reports, tips
from volunteer_app.services.dashboard import scope_for
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, refused, signed_in


@pytest.fixture
def area(app):
    with arrange(app) as session:
        team = factories.team(session)
        admin = factories.admin(session)
        boss = factories.coordinator(session, team)
        assistant = factories.user(session, roles=["volunteer", "police_assistant"], team=team, area="三组")
        plain = factories.user(session, team=team, area="三组")  # an area without the role counts for nothing
        reporter = factories.user(session, team=team)
        here, _ = tips.submit(session, reporter, category="hazard", description="电线老化", grid=" 三组 ")
        there, _ = tips.submit(session, reporter, category="dispute", description="邻里争吵", grid="四组")
        home = care.create_household(session, admin, kind="elderly_alone", label="三组 A", grid="三组", name="张阿婆")
        away = care.create_household(session, admin, kind="elderly_alone", label="四组 B", grid="四组", name="李阿公")
    return {"admin": admin, "boss": boss, "assistant": assistant, "plain": plain, "reporter": reporter,
            "here": here, "there": there, "home": home, "away": away}


def test_admin_gives_the_role_and_the_area(api, area):
    admin, person = area["admin"], area["reporter"]
    given = api.patch(f"/api/v1/users/{person.id}", json={"roles": ["volunteer", "police_assistant"],
                                                          "area": "  湖滨村 "}, user=admin)
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["area"] == "湖滨村" and "police_assistant" in given.get_json()["roles"]
    assert api.patch(f"/api/v1/users/{person.id}", json={"area": "x" * 65}, user=admin).status_code == 422
    assert api.patch(f"/api/v1/users/{person.id}", json={"area": "x"}, user=area["boss"]).status_code == 403
    assert api.patch(f"/api/v1/users/{person.id}", json={"roles": ["chief"]}, user=admin).status_code == 422
    assert api.patch("/api/v1/users/99999999999999999999", json={"area": "x"}, user=admin).status_code == 404


def test_assistant_sees_the_tips_of_their_area_only(api, area):
    assistant, here, there = area["assistant"], area["here"], area["there"]
    assert here.grid == "三组"
    listed = [row["id"] for row in api.get("/api/v1/tips", user=assistant).get_json()["tips"]]
    assert listed == [here.id]
    assert api.get(f"/api/v1/tips/{here.id}", user=assistant).get_json()["grid"] == "三组"
    assert api.get(f"/api/v1/tips/{there.id}", user=assistant).status_code == 403
    # nothing beyond a volunteer's rights: no triage, no review
    assert api.post(f"/api/v1/tips/{here.id}/triage", json={"level": "red"}, user=assistant).status_code == 403
    # an area without the role opens nothing
    assert api.get(f"/api/v1/tips/{here.id}", user=area["plain"]).status_code == 403
    assert api.get("/api/v1/tips", user=area["plain"]).get_json()["tips"] == []


def test_assistant_reads_a_tip_of_their_area_without_its_sender(app, api, area):
    """Nobody but the reporter and those who handle a tip learns who sent it."""
    assistant, here, reporter = area["assistant"], area["here"], area["reporter"]
    assert api.get(f"/api/v1/tips/{here.id}", user=assistant).get_json()["reporter_id"] is None
    assert [row["reporter_id"] for row in api.get("/api/v1/tips", user=assistant).get_json()["tips"]] == [None]
    for knows in (reporter, area["boss"], area["admin"]):
        assert api.get(f"/api/v1/tips/{here.id}", user=knows).get_json()["reporter_id"] == reporter.id
    # an assistant who coordinates another team learns no more about this one's people
    with arrange(app) as session:
        other = factories.team(session, name="别的队")
        both = factories.user(session, roles=["volunteer", "coordinator", "police_assistant"], team=other,
                              team_role="coordinator", area="三组")
    assert api.get(f"/api/v1/tips/{here.id}", user=both).get_json()["reporter_id"] is None
    with arrange(app, write=False) as session:
        rows = [session.get(type(here), here.id)]
        assert tips.withheld_reporters(session, session.get(User, reporter.id), rows) == set()
        assert tips.withheld_reporters(session, session.get(User, assistant.id), rows) == {here.id}


def test_assistant_opens_the_households_of_their_area_audited(app, api, area):
    assistant, home, away = area["assistant"], area["home"], area["away"]
    opened = api.get(f"/api/v1/care/households/{home.id}", user=assistant)
    assert opened.status_code == 200 and opened.get_json()["name"] == "张阿婆"
    assert api.get(f"/api/v1/care/households/{away.id}", user=assistant).status_code == 403
    assert api.get(f"/api/v1/care/households/{home.id}", user=area["plain"]).status_code == 403
    listed = [row["id"] for row in api.get("/api/v1/care/households", user=assistant).get_json()["households"]]
    assert listed == [home.id]
    with arrange(app, write=False) as session:
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "care.open",
                                                        AuditEntry.actor_id == assistant.id)).all()
        assert [entry.target_id for entry in audited] == [home.id]
        refused("forbidden", care.update_household, session, session.get(User, assistant.id), home.id, grid="x")


def test_the_area_page(app, area):
    page = signed_in(app, area["assistant"]).get("/area")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "三组 A" in text and "四组 B" not in text
    assert f"#{area['here'].id}" in text and f"#{area['there'].id}" not in text
    assert signed_in(app, area["plain"]).get("/area").status_code == 403
    home = signed_in(app, area["assistant"]).get("/").get_data(as_text=True)
    assert "/area" in home


def test_grid_on_checkpoints_and_tips(app, api, area):
    boss, reporter = area["boss"], area["reporter"]
    made = api.post("/api/v1/checkpoints", json={"name": "村口", "grid": " 三组 "}, user=boss)
    assert made.status_code == 201 and made.get_json()["grid"] == "三组"
    point = made.get_json()["id"]
    assert api.patch(f"/api/v1/checkpoints/{point}", json={"grid": "四组"}, user=boss).get_json()["grid"] == "四组"
    assert api.post("/api/v1/checkpoints", json={"name": "x", "grid": "网" * 65}, user=boss).status_code == 422
    assert api.post("/api/v1/checkpoints", json={"name": "x", "grid": 5}, user=boss).status_code == 422
    tip = api.post("/api/v1/tips", json={"category": "other", "description": "x", "grid": "三组"}, user=reporter)
    assert tip.status_code == 201 and tip.get_json()["grid"] == "三组"
    assert api.post("/api/v1/tips", json={"category": "other", "description": "x", "grid": "g" * 65},
                    user=reporter).status_code == 422
    assert api.post("/api/v1/tips", json={"category": "other", "description": "x", "grid": "a\x00b"},
                    user=reporter).status_code == 422


def test_one_grid_length_everywhere(app, api, area):
    """A grid that names a checkpoint's or a tip's place fits a care household and an area too."""
    admin, longest = area["admin"], "网" * 64
    made = api.post("/api/v1/care/households", json={"kind": "other", "label": "长网格", "grid": longest}, user=admin)
    assert made.status_code == 201, made.get_json()
    with arrange(app, write=False) as session:
        assert care.open_household(session, session.get(User, admin.id), made.get_json()["id"]).household.grid == longest
    assert api.post("/api/v1/care/households", json={"kind": "other", "label": "x", "grid": longest + "网"},
                    user=admin).status_code == 422
    person = area["reporter"]
    assert api.patch(f"/api/v1/users/{person.id}", json={"area": longest}, user=admin).get_json()["area"] == longest


def test_reports_group_by_grid(app, area):
    admin, reporter = area["admin"], area["reporter"]
    with arrange(app) as session:
        point = factories.checkpoint(session, name="村口")
        point.grid = "三组"
        session.add(point)
        session.add(Checkin(user_id=reporter.id, kind="checkpoint", checkpoint_id=point.id, created_at=utcnow(),
                            received_at=utcnow()))
        start = utcnow() - timedelta(hours=2)
        care.log_visit(session, admin, area["away"].id, started_at=start, ended_at=start + timedelta(hours=1),
                       visitor_ids=[reporter.id])
        session.flush()
        rows = reports.by_grid(session, scope_for(session, session.get(User, admin.id)), reports.period(None, None))
        table = {row.grid: (row.checkins, row.tips, row.care_visits) for row in rows}
        assert table == {"三组": (1, 1, 0), "四组": (0, 1, 1)}
    browser = signed_in(app, admin)
    page = browser.get("/reports").get_data(as_text=True)
    assert "三组" in page and "四组" in page
    csv = browser.get("/reports/grids.csv").get_data(as_text=True)
    assert "三组,1,1,0" in csv and "四组,0,1,1" in csv
    assert signed_in(app, area["assistant"]).get("/reports/grids.csv").status_code == 403
