"""Staff pages: the Manage hub, approvals, teams and members, people, as plain forms and via htmx."""
from __future__ import annotations

import pytest
from flask import url_for
from sqlmodel import Session, select

from volunteer_app import db
from volunteer_app.models import AuditEntry, Team, TeamMembership, User

from . import factories
from .conftest import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("english_pages")  # the assertions read English


HX = {"HX-Request": "true"}


@pytest.fixture
def session(app):
    """Arrange and inspect without keeping an app context pushed (each request gets its own ``g``)."""
    token = db.write_intent.set(False)
    try:
        with Session(app.extensions["db_engine"], expire_on_commit=False) as arranged:
            yield arranged
    finally:
        db.write_intent.reset(token)


def now_view(session, model, row_id):
    session.commit()
    session.expire_all()
    return session.get(model, row_id)


def membership(session, team_id, user_id):
    session.commit()
    return session.exec(select(TeamMembership).where(TeamMembership.team_id == team_id,
                                                     TeamMembership.user_id == user_id)).first()


@pytest.fixture
def world(session):
    """Two teams; a coordinator of the first; a volunteer in each; an admin; two registrations."""
    east = factories.team(session, "东区巡逻队")
    west = factories.team(session, "西区巡逻队")
    people = {
        "east": east, "west": west,
        "coord": factories.coordinator(session, east, username="coord", display_name="陈队长"),
        "west_coord": factories.coordinator(session, west, username="west.coord", display_name="西队长"),
        "vol": factories.user(session, username="vol", display_name="王大爷", team=east, phone="13800000001"),
        "west_vol": factories.user(session, username="west.vol", display_name="李阿姨", team=west),
        "loner": factories.user(session, username="loner", display_name="张师傅"),
        "admin": factories.admin(session, username="boss", display_name="周警官"),
        "new1": factories.user(session, username="new1", display_name="赵大妈", status="pending",
                               phone="139 1234 5678"),
        "new2": factories.user(session, username="new2", display_name="钱师傅", status="pending"),
    }
    session.commit()
    return people


def token_on(client, path):
    return csrf_token(client, path)


# -- who may open what --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/manage", "/manage/approvals", "/manage/teams", "/manage/users",
                                  "/manage/users/new"])
def test_volunteer_gets_403_on_staff_pages(app, world, path):
    client = sign_in(app.test_client(), "vol")
    response = client.get(path)
    assert response.status_code == 403
    assert "permission" in response.get_data(as_text=True)


def test_volunteer_cannot_approve_even_by_crafted_post(app, session, world):
    client = sign_in(app.test_client(), "vol")
    response = client.post(f"/manage/approvals/{world['new1'].id}/approve",
                           data={"csrf_token": token_on(client, "/profile")})
    assert response.status_code == 403
    assert now_view(session, User, world["new1"].id).status == "pending"


def test_staff_pages_need_login(client):
    response = client.get("/manage/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_manage_hub_lists_staff_pages_and_the_waiting_count(app, world):
    client = sign_in(app.test_client(), "coord")
    page = client.get("/manage").get_data(as_text=True)
    for path in ("/manage/approvals", "/manage/teams", "/manage/users"):
        assert f'href="{path}"' in page
    assert "2 waiting" in page
    assert 'href="/manage"' in client.get("/").get_data(as_text=True)  # bottom navigation


def test_manage_hub_links_are_filtered_by_endpoint_and_role(app, world, monkeypatch):
    from volunteer_app.web import nav
    monkeypatch.setattr(nav, "MANAGE_LINKS", nav.MANAGE_LINKS + [
        ("pages.no_such_page", "Nowhere", None, ("coordinator",)),
        ("pages.home", "Admins only", None, ("admin",))])
    coord = sign_in(app.test_client(), "coord").get("/manage").get_data(as_text=True)
    boss = sign_in(app.test_client(), "boss").get("/manage").get_data(as_text=True)
    assert "Nowhere" not in coord and "Nowhere" not in boss
    assert "Admins only" not in coord and "Admins only" in boss


def test_every_manage_hub_link_is_a_page_an_admin_sees_in_the_table_order(app, world):
    from volunteer_app.web import nav
    assert all(endpoint in app.view_functions for endpoint, *_rest in nav.MANAGE_LINKS)
    page = sign_in(app.test_client(), "boss").get("/manage").get_data(as_text=True)
    with app.test_request_context():
        urls = [url_for(endpoint) for endpoint, *_rest in nav.MANAGE_LINKS]
    places = [page.index(f'href="{url}"') for url in urls]
    assert places == sorted(places)


# -- approvals --------------------------------------------------------------------------------------

def test_approvals_list_the_pending_registrations(app, world):
    client = sign_in(app.test_client(), "coord")
    page = client.get("/manage/approvals").get_data(as_text=True)
    assert "赵大妈" in page and "钱师傅" in page
    assert "王大爷" not in page
    assert 'href="tel:13912345678"' in page and "*********5678" in page  # masked but for the last four
    assert "1234 5678" not in page


def test_approve_in_place_with_htmx_returns_only_the_row(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/approvals")
    response = client.post(f"/manage/approvals/{world['new1'].id}/approve",
                           data={"csrf_token": token, "team_id": world["east"].id}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<nav" not in html
    assert html.lstrip().startswith(f'<li class="row-card" id="approval-{world["new1"].id}"')
    assert "✓" in html and "赵大妈" in html and "东区巡逻队" in html
    assert 'action="/manage/approvals' not in html  # the buttons are gone
    assert now_view(session, User, world["new1"].id).status == "active"
    assert membership(session, world["east"].id, world["new1"].id).role == "member"
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "user.approve")).first() is not None


def test_reject_in_place_with_htmx(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/approvals")
    response = client.post(f"/manage/approvals/{world['new2'].id}/reject", data={"csrf_token": token},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "✗" in html
    assert now_view(session, User, world["new2"].id).status == "disabled"


def test_approve_as_a_plain_form_redirects_back_with_a_message(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/approvals")
    response = client.post(f"/manage/approvals/{world['new1'].id}/approve", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/approvals")
    page = client.get("/manage/approvals").get_data(as_text=True)
    assert "赵大妈 is approved." in page
    user = now_view(session, User, world["new1"].id)
    assert user.status == "active"
    assert membership(session, world["east"].id, user.id) is None  # no team was chosen


def test_approving_into_a_team_one_does_not_coordinate_changes_nothing(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/approvals")
    response = client.post(f"/manage/approvals/{world['new1'].id}/approve",
                           data={"csrf_token": token, "team_id": world["west"].id}, headers=HX)
    assert response.status_code == 200
    assert "✗" in response.get_data(as_text=True)
    assert now_view(session, User, world["new1"].id).status == "pending"  # one unit of work
    assert membership(session, world["west"].id, world["new1"].id) is None


def test_rejecting_an_active_account_is_refused_in_place(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/approvals")
    response = client.post(f"/manage/approvals/{world['vol'].id}/reject", data={"csrf_token": token}, headers=HX)
    assert "Only pending registrations" in response.get_data(as_text=True)
    assert now_view(session, User, world["vol"].id).status == "active"


def test_approval_without_csrf_is_refused_and_writes_nothing(app, session, world):
    client = sign_in(app.test_client(), "coord")
    response = client.post(f"/manage/approvals/{world['new1'].id}/approve", headers=HX)
    assert response.status_code == 400
    assert now_view(session, User, world["new1"].id).status == "pending"


def test_approvals_of_an_unknown_user_is_404(app, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/approvals")
    assert client.post("/manage/approvals/999999/approve", data={"csrf_token": token}).status_code == 404
    assert client.post("/manage/approvals/0/approve", data={"csrf_token": token}).status_code == 404


# -- teams ------------------------------------------------------------------------------------------

def test_coordinator_sees_only_their_teams(app, world):
    client = sign_in(app.test_client(), "coord")
    page = client.get("/manage/teams").get_data(as_text=True)
    assert "东区巡逻队" in page and "西区巡逻队" not in page
    assert 'name="name"' not in page  # creating teams is for admins


def test_coordinator_cannot_manage_a_team_they_do_not_coordinate(app, session, world):
    client = sign_in(app.test_client(), "coord")
    west = world["west"].id
    assert client.get(f"/manage/teams/{west}").status_code == 403
    token = token_on(client, "/manage/teams")
    response = client.post(f"/manage/teams/{west}/members", data={"csrf_token": token, "user_id": world["loner"].id})
    assert response.status_code == 403
    assert membership(session, west, world["loner"].id) is None
    response = client.post(f"/manage/teams/{west}/members/{world['west_vol'].id}/remove",
                           data={"csrf_token": token}, headers=HX)
    assert response.status_code == 403
    assert membership(session, west, world["west_vol"].id) is not None
    response = client.post(f"/manage/teams/{west}/members/{world['west_vol'].id}/coordinator",
                           data={"csrf_token": token})
    assert response.status_code == 403
    assert membership(session, west, world["west_vol"].id).role == "member"


def test_a_member_who_is_not_coordinator_gets_403_on_the_team_page(app, world):
    client = sign_in(app.test_client(), "vol")
    assert client.get(f"/manage/teams/{world['east'].id}").status_code == 403


def test_team_page_lists_members_with_roles_in_words(app, world):
    client = sign_in(app.test_client(), "coord")
    page = client.get(f"/manage/teams/{world['east'].id}").get_data(as_text=True)
    assert "陈队长" in page and "王大爷" in page and "李阿姨" not in page
    assert "Coordinator" in page and "Member" in page
    assert "13800000001" in page


def test_admin_creates_a_team_and_a_coordinator_cannot(app, session, world):
    boss = sign_in(app.test_client(), "boss")
    token = token_on(boss, "/manage/teams")
    response = boss.post("/manage/teams", data={"csrf_token": token, "name": "反诈宣传队", "description": "进社区"})
    assert response.status_code == 302
    session.commit()
    team = session.exec(select(Team).where(Team.name == "反诈宣传队")).one()
    assert response.headers["Location"].endswith(f"/manage/teams/{team.id}")
    again = boss.post("/manage/teams", data={"csrf_token": token, "name": "反诈宣传队"})
    assert again.status_code == 422
    assert "already exists" in again.get_data(as_text=True)
    empty = boss.post("/manage/teams", data={"csrf_token": token, "name": "  "})
    assert empty.status_code == 422
    coord = sign_in(app.test_client(), "coord")
    response = coord.post("/manage/teams", data={"csrf_token": token_on(coord, "/manage/teams"), "name": "私人队"})
    assert response.status_code == 403
    session.commit()
    assert session.exec(select(Team).where(Team.name == "私人队")).first() is None


def test_add_member_by_username_in_place(app, session, world):
    client = sign_in(app.test_client(), "coord")
    east = world["east"].id
    token = token_on(client, f"/manage/teams/{east}")
    response = client.post(f"/manage/teams/{east}/members", data={"csrf_token": token, "username": " Loner "},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="members">')
    assert "张师傅" in html and "is now in the team" in html
    assert membership(session, east, world["loner"].id).role == "member"


def test_the_added_message_is_said_once_not_on_every_member_row(app, session, world):
    client = sign_in(app.test_client(), "coord")
    east = world["east"].id
    token = token_on(client, f"/manage/teams/{east}")
    response = client.post(f"/manage/teams/{east}/members", data={"csrf_token": token, "username": "loner"},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert html.count('id="member-') == 3  # 陈队长, 王大爷 and the new 张师傅
    assert html.count("is now in the team") == 1


def test_add_member_by_unknown_username_says_so(app, session, world):
    client = sign_in(app.test_client(), "coord")
    east = world["east"].id
    token = token_on(client, f"/manage/teams/{east}")
    response = client.post(f"/manage/teams/{east}/members", data={"csrf_token": token, "username": "nobody"},
                           headers=HX)
    assert response.status_code == 200  # swapped in place, with the message beside the field
    assert "There is no account with this username" in response.get_data(as_text=True)
    plain = client.post(f"/manage/teams/{east}/members", data={"csrf_token": token, "username": "new1"})
    assert plain.status_code == 422
    assert "Only active accounts can join a team" in plain.get_data(as_text=True)
    assert membership(session, east, world["new1"].id) is None


def test_search_offers_people_not_in_the_team_and_adds_them(app, session, world):
    client = sign_in(app.test_client(), "coord")
    east = world["east"].id
    partial = client.get(f"/manage/teams/{east}?q=张", headers={**HX, "HX-Target": "candidates"})
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200 and html.lstrip().startswith('<div id="candidates"')
    assert "张师傅" in html
    assert "王大爷" not in client.get(f"/manage/teams/{east}?q=王", headers={**HX, "HX-Target": "candidates"}
                                   ).get_data(as_text=True)  # already in the team
    assert "赵大妈" not in client.get(f"/manage/teams/{east}?q=赵").get_data(as_text=True)  # pending
    full = client.get(f"/manage/teams/{east}?q=loner").get_data(as_text=True)  # without JS: the whole page
    assert "<html" in full and "张师傅" in full
    token = token_on(client, f"/manage/teams/{east}")
    response = client.post(f"/manage/teams/{east}/members",
                           data={"csrf_token": token, "user_id": world["loner"].id, "q": "张"})
    assert response.status_code == 302
    assert membership(session, east, world["loner"].id) is not None


def test_coordinator_page_cannot_take_in_people_of_other_teams_or_staff(app, session, world):
    """The page goes through the same rule as the API: neither the search nor the form offers
    another team's member or a staff member to a coordinator."""
    client = sign_in(app.test_client(), "coord")
    east = world["east"].id
    assert "李阿姨" not in client.get(f"/manage/teams/{east}?q=李").get_data(as_text=True)
    assert "周警官" not in client.get(f"/manage/teams/{east}?q=boss").get_data(as_text=True)
    token = token_on(client, f"/manage/teams/{east}")
    for data in ({"username": "west.vol"}, {"user_id": world["west_vol"].id}, {"username": "boss"},
                 {"user_id": world["west_coord"].id, "role": "coordinator"}):
        response = client.post(f"/manage/teams/{east}/members", data={"csrf_token": token, **data}, headers=HX)
        assert response.status_code == 403, data
    response = client.post(f"/manage/teams/{east}/members/{world['west_vol'].id}/member",
                           data={"csrf_token": token}, headers=HX)
    assert response.status_code == 403
    for person in ("west_vol", "west_coord", "admin"):
        assert membership(session, east, world[person].id) is None


def test_make_coordinator_member_and_remove_in_place(app, session, world):
    client = sign_in(app.test_client(), "boss")
    east, vol = world["east"].id, world["vol"].id
    token = token_on(client, f"/manage/teams/{east}")
    base = f"/manage/teams/{east}/members/{vol}"
    response = client.post(f"{base}/coordinator", data={"csrf_token": token}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<li class="row-card" id="member-{vol}"')
    assert "Make member" in html
    assert membership(session, east, vol).role == "coordinator"
    assert "coordinator" in now_view(session, User, vol).role_set()  # an admin grants the role too
    response = client.post(f"{base}/member", data={"csrf_token": token}, headers=HX)
    assert "Make coordinator" in response.get_data(as_text=True)
    assert membership(session, east, vol).role == "member"
    response = client.post(f"{base}/remove", data={"csrf_token": token}, headers=HX)
    html = response.get_data(as_text=True)
    assert "Not in the team" in html and "Add back" in html
    assert membership(session, east, vol) is None
    response = client.post(f"{base}/member", data={"csrf_token": token}, headers=HX)
    assert membership(session, east, vol) is not None


def test_member_actions_work_as_plain_forms(app, session, world):
    client = sign_in(app.test_client(), "coord")
    east, vol = world["east"].id, world["vol"].id
    token = token_on(client, f"/manage/teams/{east}")
    response = client.post(f"/manage/teams/{east}/members/{vol}/remove", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/manage/teams/{east}")
    assert "王大爷 was removed from the team." in client.get(f"/manage/teams/{east}").get_data(as_text=True)
    assert membership(session, east, vol) is None


def test_removing_someone_not_in_the_team_says_so(app, world):
    client = sign_in(app.test_client(), "coord")
    east = world["east"].id
    token = token_on(client, f"/manage/teams/{east}")
    response = client.post(f"/manage/teams/{east}/members/{world['loner'].id}/remove",
                           data={"csrf_token": token}, headers=HX)
    assert "This person is not in the team" in response.get_data(as_text=True)


# -- people -----------------------------------------------------------------------------------------

def test_people_search_by_name_username_phone_and_status(app, world):
    client = sign_in(app.test_client(), "boss")
    assert "王大爷" in client.get("/manage/users?q=王大").get_data(as_text=True)
    assert "王大爷" in client.get("/manage/users?q=13800000001").get_data(as_text=True)
    by_username = client.get("/manage/users?q=WEST.").get_data(as_text=True)
    assert "李阿姨" in by_username and "王大爷" not in by_username
    pending = client.get("/manage/users?status=pending").get_data(as_text=True)
    assert "赵大妈" in pending and "王大爷" not in pending
    bogus = client.get("/manage/users?status=nonsense&page=abc")
    assert bogus.status_code == 200


def test_people_search_htmx_returns_the_results_partial(app, world):
    client = sign_in(app.test_client(), "boss")
    response = client.get("/manage/users?q=赵", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="user-results"') and "<html" not in html
    assert "赵大妈" in html


def test_coordinator_sees_their_teams_and_pending_only(app, world):
    client = sign_in(app.test_client(), "coord")
    page = client.get("/manage/users").get_data(as_text=True)
    assert "王大爷" in page and "赵大妈" in page
    assert "李阿姨" not in page and "张师傅" not in page
    assert client.get(f"/manage/users/{world['west_vol'].id}").status_code == 403
    assert client.get(f"/manage/users/{world['vol'].id}").status_code == 200
    assert client.get(f"/manage/users/{world['new1'].id}").status_code == 200


def test_people_are_paged(app, session, world):
    for number in range(25):
        factories.user(session, username=f"pager{number:02d}", display_name=f"翻页{number:02d}")
    session.commit()
    client = sign_in(app.test_client(), "boss")
    first = client.get("/manage/users?q=pager").get_data(as_text=True)
    assert first.count('class="row-card row-link"') == 20
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/manage/users?q=pager&page=2").get_data(as_text=True)
    assert second.count('class="row-card row-link"') == 5
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_coordinator_creates_a_volunteer_in_their_team(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/users/new")
    response = client.post("/manage/users/new", data={
        "csrf_token": token, "username": "sun.shifu", "display_name": "孙师傅", "phone": "",
        "password": "first password 1", "team_id": world["east"].id})
    assert response.status_code == 302
    session.commit()
    user = session.exec(select(User).where(User.username == "sun.shifu")).one()
    assert user.status == "active" and user.role_set() == {"volunteer"}
    assert membership(session, world["east"].id, user.id) is not None
    assert 'name="roles"' not in client.get("/manage/users/new").get_data(as_text=True)


def test_coordinator_cannot_give_roles_by_a_crafted_form(app, session, world):
    client = sign_in(app.test_client(), "coord")
    response = client.post("/manage/users/new", data={
        "csrf_token": token_on(client, "/manage/users/new"), "username": "sneaky.admin", "display_name": "某人",
        "password": "first password 1", "team_id": world["east"].id, "roles": ["volunteer", "admin"]})
    assert response.status_code == 422
    assert "Coordinators may only create volunteers" in response.get_data(as_text=True)
    session.commit()
    assert session.exec(select(User).where(User.username == "sneaky.admin")).first() is None


def test_coordinator_cannot_create_in_another_team_or_without_a_team(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/users/new")
    for team_id in (world["west"].id, ""):
        response = client.post("/manage/users/new", data={
            "csrf_token": token, "username": "sneaky", "display_name": "某人", "password": "first password 1",
            "team_id": team_id})
        assert response.status_code == 422
        assert "team they coordinate" in response.get_data(as_text=True)
    session.commit()
    assert session.exec(select(User).where(User.username == "sneaky")).first() is None


def test_create_user_shows_field_errors(app, world):
    client = sign_in(app.test_client(), "boss")
    token = token_on(client, "/manage/users/new")
    response = client.post("/manage/users/new", data={
        "csrf_token": token, "username": "vol", "display_name": "重名", "password": "first password 1"})
    assert response.status_code == 422 and "This username is taken" in response.get_data(as_text=True)
    response = client.post("/manage/users/new", data={
        "csrf_token": token, "username": "x", "display_name": "短", "password": "short"})
    assert response.status_code == 422 and 'id="e-username"' in response.get_data(as_text=True)


def test_admin_creates_a_clerk_and_changes_roles(app, session, world):
    client = sign_in(app.test_client(), "boss")
    token = token_on(client, "/manage/users/new")
    response = client.post("/manage/users/new", data={
        "csrf_token": token, "username": "lin.clerk", "display_name": "林小梅", "password": "first password 1",
        "team_id": "", "roles": ["clerk"]})
    assert response.status_code == 302
    session.commit()
    clerk = session.exec(select(User).where(User.username == "lin.clerk")).one()
    assert clerk.role_set() == {"clerk"}
    response = client.post(f"/manage/users/{clerk.id}/roles", data={"csrf_token": token,
                                                                   "roles": ["clerk", "volunteer"]})
    assert response.status_code == 302
    assert now_view(session, User, clerk.id).role_set() == {"clerk", "volunteer"}
    response = client.post(f"/manage/users/{clerk.id}/roles", data={"csrf_token": token})
    assert response.status_code == 422
    assert now_view(session, User, clerk.id).role_set() == {"clerk", "volunteer"}


def test_only_admins_change_roles_or_disable(app, session, world):
    client = sign_in(app.test_client(), "coord")
    token = token_on(client, "/manage/users")
    vol = world["vol"].id
    page = client.get(f"/manage/users/{vol}").get_data(as_text=True)
    assert f'/manage/users/{vol}/roles' not in page and f'/manage/users/{vol}/disable' not in page
    assert client.post(f"/manage/users/{vol}/roles", data={"csrf_token": token, "roles": "admin"}).status_code == 403
    assert client.post(f"/manage/users/{vol}/disable", data={"csrf_token": token}).status_code == 403
    user = now_view(session, User, vol)
    assert user.role_set() == {"volunteer"} and user.status == "active"


def test_admin_disables_and_enables_an_account(app, session, world):
    victim = sign_in(app.test_client(), "vol")
    client = sign_in(app.test_client(), "boss")
    vol = world["vol"].id
    token = token_on(client, f"/manage/users/{vol}")
    assert client.post(f"/manage/users/{vol}/disable", data={"csrf_token": token}).status_code == 302
    assert now_view(session, User, vol).status == "disabled"
    assert victim.get("/").status_code == 302  # signed out at once
    assert "Let them sign in again" in client.get(f"/manage/users/{vol}").get_data(as_text=True)
    assert client.post(f"/manage/users/{vol}/enable", data={"csrf_token": token}).status_code == 302
    assert now_view(session, User, vol).status == "active"
    assert victim.get("/").status_code == 302  # the old session stays ended
    assert sign_in(app.test_client(), "vol").get("/").status_code == 200


def test_admin_cannot_disable_themselves(app, session, world):
    client = sign_in(app.test_client(), "boss")
    token = token_on(client, "/manage/users")
    response = client.post(f"/manage/users/{world['admin'].id}/disable", data={"csrf_token": token})
    assert response.status_code == 403
    assert now_view(session, User, world["admin"].id).status == "active"


def test_back_button_history_restore_gets_the_whole_page(app, world):
    client = sign_in(app.test_client(), "boss")
    response = client.get("/manage/users?q=赵", headers={**HX, "HX-History-Restore-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" in html and 'id="user-results"' in html
