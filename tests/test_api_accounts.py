"""The accounts and teams API, call by call, as API.md fixes it (runs on SQLite and PostgreSQL)."""
from __future__ import annotations


from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from volunteer_app import db
from volunteer_app.errors import DomainError
from volunteer_app.models import ApiToken, LoginAttempt, Team, TeamMembership, User
from volunteer_app.services import accounts

from . import factories
from .conftest import arrange

PW = factories.PASSWORD
USER_FIELDS = {"id", "username", "display_name", "roles", "status", "team_ids", "balance", "lifetime_points",
               "hours_served", "level"}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body


def _count(app, model) -> int:
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _add_failures(app, username: str, count: int, age: timedelta, ip: str = "10.0.0.9") -> None:
    stamp = datetime.now(timezone.utc) - age
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
        for _ in range(count):
            s.add(LoginAttempt(username=username, ip=ip, created_at=stamp))


def _token(api, username: str, password: str = PW):
    return api.post("/api/v1/auth/token", json={"username": username, "password": password})


# -- auth/token ----------------------------------------------------------------------------------

def test_token_shape(app, api):
    with arrange(app) as session:
        team = factories.team(session)
        user = factories.user(session, username="lao.wang", team=team)
    response = _token(api, "Lao.Wang ")  # case and spaces around the name do not matter
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "bearer"
    assert len(body["access_token"]) >= 32
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires.tzinfo is not None and expires > datetime.now(timezone.utc)
    assert USER_FIELDS <= set(body["user"])
    assert body["user"]["id"] == user.id and body["user"]["team_ids"] == [team.id]
    assert "password" not in str(body) and "password_hash" not in body["user"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == "lao.wang"


def test_token_stored_hashed(app, api):
    with arrange(app) as session:
        factories.user(session, username="hashme")
    raw = _token(api, "hashme").get_json()["access_token"]
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as s:
        hashes = list(s.exec(select(ApiToken.token_hash)))
    assert hashes and raw not in hashes


def test_token_bad_credentials(app, api):
    with arrange(app) as session:
        factories.user(session, username="zhang")
    _problem(_token(api, "zhang", "wrong password"), 401, "bad_credentials")
    _problem(_token(api, "nobody-here", PW), 401, "bad_credentials")


def test_token_pending_and_disabled(app, api):
    with arrange(app) as session:
        factories.user(session, username="waiting", status="pending")
        factories.user(session, username="gone", status="disabled")
    _problem(_token(api, "waiting"), 403, "pending_approval")
    _problem(_token(api, "gone"), 403, "account_disabled")


def test_rate_limit_ten_failures_then_even_right_password_is_429(app, api):
    with arrange(app) as session:
        factories.user(session, username="target")
    for _ in range(10):
        _problem(_token(api, "target", "not the password"), 401, "bad_credentials")
    body = _problem(_token(api, "target", PW), 429, "too_many_attempts")
    assert "15" in body["detail"]
    _problem(_token(api, "TARGET", "not the password"), 429, "too_many_attempts")
    # refused attempts are not counted
    assert _count(app, LoginAttempt) == 10


def test_rate_limit_ages_out(app, api):
    with arrange(app) as session:
        factories.user(session, username="patient")
    _add_failures(app, "patient", 10, timedelta(minutes=14))
    _problem(_token(api, "patient"), 429, "too_many_attempts")
    # the failures are now 16 minutes old: outside the window
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
        s.execute(update(LoginAttempt).values(created_at=datetime.now(timezone.utc) - timedelta(minutes=16)))
    assert _token(api, "patient").status_code == 200


def test_rate_limit_nine_recent_failures_still_let_in(app, api):
    with arrange(app) as session:
        factories.user(session, username="nine")
    _add_failures(app, "nine", 9, timedelta(minutes=5))
    _add_failures(app, "nine", 5, timedelta(minutes=20))  # too old to count
    assert _token(api, "nine").status_code == 200


def test_rate_limit_with_injected_clock(app):
    with arrange(app) as session:
        user = factories.user(session, username="clock")
    start = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
        for minute in range(10):
            with pytest.raises(DomainError) as caught:
                accounts.authenticate(s, "clock", "wrong wrong", now=start + timedelta(minutes=minute))
            assert caught.value.code == "bad_credentials"
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
        with pytest.raises(DomainError) as caught:
            accounts.authenticate(s, "clock", PW, now=start + timedelta(minutes=14))
        assert caught.value.code == "too_many_attempts"
        # at 15:00:01 the first failure has aged out: 9 remain in the window
        assert accounts.authenticate(s, "clock", PW, now=start + timedelta(minutes=15, seconds=1)).id == user.id


def test_rate_limit_is_per_username(app, api):
    with arrange(app) as session:
        factories.user(session, username="victim")
        factories.user(session, username="bystander")
    _add_failures(app, "victim", 10, timedelta(minutes=1))
    _problem(_token(api, "victim"), 429, "too_many_attempts")
    assert _token(api, "bystander").status_code == 200


def test_rate_limit_per_address(app, api):
    with arrange(app) as session:
        app.config["LOGIN_MAX_FAILURES_PER_IP"] = 20
        factories.user(session, username="shared")
    _add_failures(app, "someone-else", 20, timedelta(minutes=1), ip="127.0.0.1")
    _problem(_token(api, "shared"), 429, "too_many_attempts")


def test_token_holder_revokes_their_token(app, api):
    with arrange(app) as session:
        factories.user(session, username="leaver")
    first, second = (_token(api, "leaver").get_json()["access_token"] for _ in range(2))
    bearer = {"Authorization": f"Bearer {first}"}
    response = api.delete("/api/v1/auth/token", headers=bearer)
    assert response.status_code == 204 and response.get_data() == b""
    _problem(api.get("/api/v1/me", headers=bearer), 401, "unauthorized")
    _problem(api.delete("/api/v1/auth/token", headers=bearer), 401, "unauthorized")
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_revoking_a_token_needs_that_token(app, api):
    _problem(api.delete("/api/v1/auth/token"), 401, "unauthorized")
    _problem(api.delete("/api/v1/auth/token", headers={"Authorization": "Bearer not-a-token"}), 401, "unauthorized")


# -- register --------------------------------------------------------------------------------------

def test_register_pending(app, api):
    with arrange(app) as session:
        factories.station(session)
    response = api.post("/api/v1/register", json={"username": "xiao.li", "password": "long enough",
                                                  "display_name": "小李", "phone": "13800000000"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["roles"] == ["volunteer"] and body["team_ids"] == []
    assert USER_FIELDS <= set(body)
    _problem(_token(api, "xiao.li", "long enough"), 403, "pending_approval")


def test_register_username_taken(app, api):
    with arrange(app) as session:
        factories.user(session, username="taken")
    _problem(api.post("/api/v1/register", json={"username": "Taken", "password": "long enough",
                                                "display_name": "x"}), 409, "username_taken")


def test_register_short_password(app, api):
    with arrange(app) as session:
        factories.station(session)
    before = _count(app, User)
    body = _problem(api.post("/api/v1/register", json={"username": "shorty", "password": "1234567",
                                                       "display_name": "x"}), 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["password"]
    assert _count(app, User) == before


def _register(api, username="newcomer", password=PW, display_name="小王", ip="10.1.2.3"):
    return api.post("/api/v1/register", json={"username": username, "password": password,
                                              "display_name": display_name},
                    environ_base={"REMOTE_ADDR": ip})


def test_thirty_registrations_from_one_address_then_429(app, api):
    """Every attempt counts (each costs a slow hash), refused ones too; another address is free."""
    with arrange(app) as session:
        factories.station(session)
    for number in range(30):
        response = _register(api, username=f"many{number}", password="password" if number % 2 else PW)
        assert response.status_code in (201, 422), response.get_json()
    _problem(_register(api, username="many-more"), 429, "too_many_attempts")
    assert _register(api, username="elsewhere", ip="10.9.9.9").status_code == 201
    with arrange(app) as session:
        assert session.exec(select(User).where(User.username == "many-more")).first() is None


def test_registration_stops_when_the_approval_queue_is_full(app, api):
    with arrange(app) as session:
        factories.station(session)
    app.config["MAX_PENDING_REGISTRATIONS"] = 2
    assert _register(api, username="first", ip="10.0.0.1").status_code == 201
    assert _register(api, username="second", ip="10.0.0.2").status_code == 201
    body = _problem(_register(api, username="third", ip="10.0.0.3"), 429, "registrations_full")
    assert "approval" in body["detail"] or "审核" in body["detail"] or "批准" in body["detail"]
    assert _count(app, User) == 2


@pytest.mark.parametrize("password", ["        ", "\t\t\t\t\t\t\t\t", "password", "qwertyuiop", "Password123",
                                      "  iloveyou1 ", "woaini1314", "88888888"])
def test_weak_passwords_are_422_on_register_and_create_user(app, api, password):
    with arrange(app) as session:
        admin = factories.admin(session)
    body = _problem(_register(api, password=password), 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["password"]
    created = api.post("/api/v1/users", user=admin, json={"username": "made", "password": password,
                                                          "display_name": "小张"})
    assert [error["field"] for error in _problem(created, 422, "validation_error")["errors"]] == ["password"]
    assert _count(app, User) == 1


def test_common_password_list_is_the_ten_thousand_most_common():
    common = accounts.common_passwords()
    assert len(common) == 10_000 and "123456" in common and "password" in common
    assert PW.lower() not in common


@pytest.mark.parametrize("username", ["ＡＤＭＩＮ1", "Admin1", "ADMIN1", "admın1", "аdmin1", "admin１", "adminl"])
def test_usernames_are_compared_normalised_and_look_alikes_are_taken(app, api, username):
    """NFKC and case folding (fullwidth, capitals), and a look-alike skeleton (a dotless ı, a
    Cyrillic а, a fullwidth digit, l for 1) are 409 username_taken."""
    with arrange(app) as session:
        admin = factories.admin(session, username="admin1")
    _problem(_register(api, username=username), 409, "username_taken")
    created = api.post("/api/v1/users", user=admin, json={"username": username, "password": PW,
                                                          "display_name": "冒名"})
    _problem(created, 409, "username_taken")
    assert _count(app, User) == 1


def test_a_fullwidth_username_is_stored_as_its_plain_form(app, api):
    with arrange(app) as session:
        factories.station(session)
    response = _register(api, username="ＸＩＡＯ.ＷＡＮＧ")
    assert response.status_code == 201 and response.get_json()["username"] == "xiao.wang"


@pytest.mark.parametrize("field, value", [
    ("username", "\u3164\u3164\u3164"),  # Hangul fillers: letters that show nothing
    ("username", "a\u200bb"),
    ("display_name", "\u200b\u200b"),  # zero-width spaces
    ("display_name", "\u3164"),
    ("display_name", "\u2800\u00a0"),
    ("display_name", "\u0301\u0301"),  # combining marks alone
])
def test_a_name_without_a_visible_character_is_422(app, api, field, value):
    with arrange(app) as session:
        factories.station(session)
    fields = {"username": "visible", "display_name": "小王", field: value}
    body = _problem(_register(api, **fields), 422, "validation_error")
    assert field in [error["field"] for error in body["errors"]]
    assert _count(app, User) == 0


# -- users -----------------------------------------------------------------------------------------

@pytest.fixture
def org(app):
    """A station with two teams, each with a coordinator and a volunteer, and an admin."""
    with arrange(app) as session:
        red, blue = factories.team(session, "红队"), factories.team(session, "蓝队")
        people = {
            "red": red, "blue": blue,
            "admin": factories.admin(session),
            "red_coord": factories.coordinator(session, red),
            "blue_coord": factories.coordinator(session, blue),
            "red_vol": factories.user(session, team=red),
            "red_vol2": factories.user(session, team=red),
            "blue_vol": factories.user(session, team=blue),
            "clerk": factories.user(session, roles="clerk"),
        }
    return people


def _new_user(**extra):
    return {"username": extra.pop("username", "new.person"), "password": "long enough", "display_name": "新人",
            **extra}


def test_admin_creates_any_role(api, org):
    response = api.post("/api/v1/users", user=org["admin"],
                        json=_new_user(roles=["clerk", "coordinator"], team_id=org["blue"].id))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "active" and set(body["roles"]) == {"clerk", "coordinator"}
    assert body["team_ids"] == [org["blue"].id]


def test_coordinator_creates_volunteer_in_own_team(api, org):
    response = api.post("/api/v1/users", user=org["red_coord"], json=_new_user(team_id=org["red"].id))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["roles"] == ["volunteer"] and body["status"] == "active" and body["team_ids"] == [org["red"].id]


@pytest.mark.parametrize("case", ["other_team", "no_team", "clerk_role", "coordinator_role"])
def test_coordinator_limits(app, api, org, case):
    payload = {
        "other_team": _new_user(team_id=org["blue"].id),
        "no_team": _new_user(),
        "clerk_role": _new_user(team_id=org["red"].id, roles=["clerk"]),
        "coordinator_role": _new_user(team_id=org["red"].id, roles=["volunteer", "coordinator"]),
    }[case]
    before = _count(app, User)
    _problem(api.post("/api/v1/users", user=org["red_coord"], json=payload), 403, "forbidden")
    assert _count(app, User) == before


@pytest.mark.parametrize("who", ["red_vol", "clerk"])
def test_volunteers_and_clerks_cannot_create_users(api, org, who):
    _problem(api.post("/api/v1/users", user=org[who], json=_new_user(team_id=org["red"].id)), 403, "forbidden")


def test_create_user_requires_a_token(api, org):
    _problem(api.post("/api/v1/users", json=_new_user()), 401, "unauthorized")
    _problem(api.post("/api/v1/users", json=_new_user(), headers={"Authorization": "Bearer not-a-token"}),
             401, "unauthorized")


def test_create_user_username_taken(api, org):
    _problem(api.post("/api/v1/users", user=org["admin"], json=_new_user(username=org["red_vol"].username)),
             409, "username_taken")


# -- approve / disable -----------------------------------------------------------------------------

def test_any_coordinator_approves_pending(app, api, org):
    with arrange(app) as session:
        pending = factories.user(session, status="pending")
    response = api.post(f"/api/v1/users/{pending.id}/approve", user=org["blue_coord"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "active"
    assert _token(api, pending.username).status_code == 200


@pytest.mark.parametrize("who", ["red_vol", "clerk"])
def test_volunteer_cannot_approve(app, api, org, who):
    with arrange(app) as session:
        pending = factories.user(session, status="pending")
    _problem(api.post(f"/api/v1/users/{pending.id}/approve", user=org[who]), 403, "forbidden")
    _problem(_token(api, pending.username), 403, "pending_approval")


def test_approve_unknown_user(api, org):
    _problem(api.post("/api/v1/users/999999/approve", user=org["admin"]), 404, "not_found")


def test_disable_ends_tokens(api, org):
    victim = org["red_vol"]
    assert api.get("/api/v1/me", user=victim).status_code == 200
    response = api.post(f"/api/v1/users/{victim.id}/disable", user=org["admin"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "disabled"
    _problem(api.get("/api/v1/me", user=victim), 401, "unauthorized")
    _problem(_token(api, victim.username), 403, "account_disabled")


@pytest.mark.parametrize("who", ["red_coord", "red_vol", "clerk"])
def test_only_admin_disables(api, org, who):
    _problem(api.post(f"/api/v1/users/{org['red_vol2'].id}/disable", user=org[who]), 403, "forbidden")
    assert api.get("/api/v1/me", user=org["red_vol2"]).status_code == 200


# -- reading users ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who,target,status", [
    ("red_vol", "red_vol", 200),
    ("red_coord", "red_vol", 200),
    ("admin", "blue_vol", 200),
    ("red_vol2", "red_vol", 403),
    ("blue_coord", "red_vol", 403),
    ("clerk", "red_vol", 403),
    ("red_vol", "red_coord", 403),
])
def test_get_user_visibility(api, org, who, target, status):
    response = api.get(f"/api/v1/users/{org[target].id}", user=org[who])
    if status == 200:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["id"] == org[target].id
        assert USER_FIELDS <= set(response.get_json())
    else:
        _problem(response, 403, "forbidden")


def test_me(api, org):
    body = api.get("/api/v1/me", user=org["red_coord"]).get_json()
    assert body["id"] == org["red_coord"].id
    assert set(body["roles"]) == {"coordinator", "volunteer"} and body["team_ids"] == [org["red"].id]
    _problem(api.get("/api/v1/me"), 401, "unauthorized")


def test_get_unknown_user(api, org):
    _problem(api.get("/api/v1/users/987654321", user=org["admin"]), 404, "not_found")


# -- teams -----------------------------------------------------------------------------------------

def test_create_team_and_name_taken(app, api, org):
    response = api.post("/api/v1/teams", user=org["admin"], json={"name": "夜巡队", "description": "晚上巡逻"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == "夜巡队" and body["description"] == "晚上巡逻" and body["member_count"] == 0
    before = _count(app, Team)
    _problem(api.post("/api/v1/teams", user=org["admin"], json={"name": "夜巡队"}), 409, "name_taken")
    assert _count(app, Team) == before


@pytest.mark.parametrize("who", ["red_coord", "red_vol", "clerk"])
def test_only_admin_creates_teams(api, org, who):
    _problem(api.post("/api/v1/teams", user=org[who], json={"name": "新队"}), 403, "forbidden")


def test_list_teams(api, org):
    response = api.get("/api/v1/teams", user=org["red_vol"])
    assert response.status_code == 200
    teams = {team["name"]: team for team in response.get_json()["teams"]}
    assert set(teams) == {"红队", "蓝队"}
    assert teams["红队"]["member_count"] == 3  # coordinator and two volunteers


def test_members_add_and_remove(app, api, org):
    with arrange(app) as session:
        newcomer = factories.user(session)
    red = org["red"].id
    response = api.post(f"/api/v1/teams/{red}/members", user=org["red_coord"],
                        json={"user_id": newcomer.id, "role": "member"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"team_id": red, "user_id": newcomer.id, "role": "member"}
    assert red in api.get("/api/v1/me", user=newcomer).get_json()["team_ids"]
    # now their coordinator may see them
    assert api.get(f"/api/v1/users/{newcomer.id}", user=org["red_coord"]).status_code == 200
    response = api.delete(f"/api/v1/teams/{red}/members/{newcomer.id}", user=org["red_coord"])
    assert response.status_code == 204 and response.get_data() == b""
    assert api.get("/api/v1/me", user=newcomer).get_json()["team_ids"] == []
    _problem(api.delete(f"/api/v1/teams/{red}/members/{newcomer.id}", user=org["red_coord"]), 404, "not_found")


def test_admin_makes_team_coordinator(app, api, org):
    with arrange(app) as session:
        newcomer = factories.user(session)
    response = api.post(f"/api/v1/teams/{org['blue'].id}/members", user=org["admin"],
                        json={"user_id": newcomer.id, "role": "coordinator"})
    assert response.status_code == 201
    assert "coordinator" in api.get("/api/v1/me", user=newcomer).get_json()["roles"]


@pytest.mark.parametrize("who", ["blue_coord", "red_vol", "clerk"])
def test_non_coordinators_cannot_change_members(app, api, org, who):
    with arrange(app) as session:
        newcomer = factories.user(session)
    red = org["red"].id
    before = _count(app, TeamMembership)
    _problem(api.post(f"/api/v1/teams/{red}/members", user=org[who], json={"user_id": newcomer.id}),
             403, "forbidden")
    _problem(api.delete(f"/api/v1/teams/{red}/members/{org['red_vol'].id}", user=org[who]), 403, "forbidden")
    assert _count(app, TeamMembership) == before


def test_members_unknown_team_or_user(api, org):
    _problem(api.post("/api/v1/teams/424242/members", user=org["admin"], json={"user_id": org["red_vol"].id}),
             404, "not_found")
    _problem(api.post(f"/api/v1/teams/{org['red'].id}/members", user=org["admin"], json={"user_id": 424242}),
             404, "not_found")


@pytest.mark.parametrize("target", ["blue_vol", "blue_coord", "admin", "clerk", "red_coord"])
def test_coordinator_cannot_take_in_people_of_other_teams_or_staff(app, api, org, target):
    """Moving someone between teams, or placing staff, is an admin's act: the coordinator gets no
    hold on the person's phone, ledger, tips or points through a membership of their making."""
    with app.app_context(), arrange(app) as session:
        old_tip = factories.tip(session, session.get(User, org[target].id))
    red, person = org["red"].id, org[target].id
    before = _count(app, TeamMembership)
    for role in ("member", "coordinator"):
        _problem(api.post(f"/api/v1/teams/{red}/members", user=org["red_coord"],
                          json={"user_id": person, "role": role}), 403, "forbidden")
    assert _count(app, TeamMembership) == before
    if target == "red_coord":
        return  # themself: already a coordinator of the team, nothing else to reach
    coord = org["red_coord"]
    _problem(api.get(f"/api/v1/users/{person}", user=coord), 403, "forbidden")
    _problem(api.get(f"/api/v1/users/{person}/ledger", user=coord), 403, "forbidden")
    _problem(api.get(f"/api/v1/tips/{old_tip.id}", user=coord), 403, "forbidden")
    _problem(api.post(f"/api/v1/users/{person}/adjustments", user=coord, json={"amount": 50, "reason": "拉人"}),
             403, "forbidden")


def test_coordinator_adds_people_of_no_team_or_of_a_team_they_coordinate(app, api, org):
    with arrange(app) as session:
        second = factories.team(session, "红二队")
        factories.membership(session, second, session.get(User, org["red_coord"].id), "coordinator")
    response = api.post(f"/api/v1/teams/{second.id}/members", user=org["red_coord"],
                        json={"user_id": org["red_vol"].id})
    assert response.status_code == 201, response.get_json()
    assert set(api.get("/api/v1/me", user=org["red_vol"]).get_json()["team_ids"]) == {org["red"].id, second.id}


def test_admin_moves_people_between_teams(app, api, org):
    response = api.post(f"/api/v1/teams/{org['red'].id}/members", user=org["admin"],
                        json={"user_id": org["blue_vol"].id})
    assert response.status_code == 201, response.get_json()
    response = api.post(f"/api/v1/teams/{org['red'].id}/members", user=org["admin"],
                        json={"user_id": org["clerk"].id})
    assert response.status_code == 201, response.get_json()


# -- healthz and the OpenAPI document --------------------------------------------------------------

def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_healthz_503_when_database_is_gone(tmp_path):
    from tests.conftest import make_test_app
    app = make_test_app(tmp_path, None)
    app.extensions["db_engine"].dispose()
    from volunteer_app.db import make_engine
    app.extensions["db_engine"] = make_engine(f"sqlite:///{tmp_path}/missing-dir/none.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"


def test_openapi_document_is_valid_and_complete(app, client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)
    listed = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    registered = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi_document":
            continue
        path = rule.rule
        for converter in ("<id:", "<int:", "<"):
            path = path.replace(converter, "{")
        path = path.replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            registered.add((method, path))
    assert registered, "no API endpoints registered"
    assert registered <= listed, f"endpoints missing from the document: {sorted(registered - listed)}"
    assert {("GET", "/healthz"), ("GET", "/api/v1/openapi.json")} <= listed
    for needed in [("POST", "/api/v1/auth/token"), ("POST", "/api/v1/register"), ("POST", "/api/v1/users"),
                   ("GET", "/api/v1/users/{user_id}"), ("GET", "/api/v1/me"),
                   ("POST", "/api/v1/users/{user_id}/approve"), ("POST", "/api/v1/users/{user_id}/disable"),
                   ("POST", "/api/v1/teams"), ("GET", "/api/v1/teams"), ("POST", "/api/v1/teams/{team_id}/members"),
                   ("DELETE", "/api/v1/teams/{team_id}/members/{user_id}"), ("DELETE", "/api/v1/auth/token")]:
        assert needed in listed, needed
    token_op = document["paths"]["/api/v1/auth/token"]["post"]
    assert "security" not in token_op
    assert document["paths"]["/api/v1/auth/token"]["delete"]["security"]
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
