"""The account pages end to end: login, logout, sessions, CSRF, rate limit, profile, language."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from sqlmodel import Session

from volunteer_app import db
from volunteer_app.models import LoginAttempt, User

from . import factories
from .conftest import csrf_token


pytestmark = pytest.mark.usefixtures("english_pages")  # the assertions read English


@pytest.fixture
def session(app):
    """Arrange and inspect without keeping an app context pushed: otherwise every request of the
    test client would share one ``g`` (Flask-Login's cached user, the CSRF token, the db session)
    and session tests would prove nothing. Reads are deferred, so the app's writes never wait."""
    token = db.write_intent.set(False)
    try:
        with Session(app.extensions["db_engine"], expire_on_commit=False) as arranged:
            yield arranged
    finally:
        db.write_intent.reset(token)


def login(client, username: str, password: str = factories.PASSWORD, next_url: str | None = None):
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


def page_token(client, path: str = "/profile") -> str:
    return csrf_token(client, path)


def fresh(session, user: User) -> User:
    """The user as the database holds them now (ends the test's read transaction first)."""
    session.commit()
    session.expire_all()
    return session.get(User, user.id)


def body_classes(html: str) -> list[str]:
    match = re.search(r'<body class="([^"]*)"', html)
    assert match, "no body tag"
    return match.group(1).split()


def is_signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


@pytest.fixture
def volunteer(session):
    team = factories.team(session)
    user = factories.user(session, username="lao.wang", display_name="王大爷", team=team)
    session.commit()
    return user


# -- login and logout -----------------------------------------------------------------------------

def test_home_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_then_home_shows_my_status(client, volunteer):
    response = login(client, "lao.wang")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "王大爷" in home
    assert 'id="balance"' in home


def test_login_username_is_case_insensitive(client, volunteer):
    assert login(client, "  LAO.Wang ").status_code == 302
    assert is_signed_in(client)


def test_wrong_password_is_refused_with_a_message(client, volunteer):
    response = login(client, "lao.wang", "wrong password")
    assert response.status_code == 200
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_first_login_offers_large_mode_once(client, session):
    newcomer = factories.user(session, username="first.time")
    newcomer.large_mode_offered = False
    session.add(newcomer)
    session.commit()
    response = login(client, "first.time")
    assert "/welcome" in response.headers["Location"]
    token = csrf_token(client, "/welcome")
    response = client.post("/welcome", data={"csrf_token": token, "large": "1", "next": "/"})
    assert response.status_code == 302
    user = session.exec(select(User).where(User.username == "first.time")).one()
    session.refresh(user)
    assert user.large_mode is True and user.large_mode_offered is True
    assert "large" in body_classes(client.get("/").get_data(as_text=True))


def test_login_post_without_csrf_is_refused_and_counts_nothing(client, session, volunteer):
    response = client.post("/login", data={"username": "lao.wang", "password": "wrong"})
    assert response.status_code == 400
    assert not is_signed_in(client)
    assert session.exec(select(LoginAttempt)).all() == []


def test_profile_post_without_csrf_is_refused_and_writes_nothing(client, session, volunteer):
    login(client, "lao.wang")
    response = client.post("/profile", data={"action": "details", "display_name": "Hacked", "phone": ""})
    assert response.status_code == 400
    assert fresh(session, volunteer).display_name == "王大爷"
    response = client.post("/profile", data={"action": "logout_all"})
    assert response.status_code == 400
    assert is_signed_in(client)


def test_logout_ends_the_session_and_the_old_cookie_fails(app, client, volunteer):
    login(client, "lao.wang")
    assert is_signed_in(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    stolen = cookie.value
    response = client.post("/logout", data={"csrf_token": page_token(client)})
    assert response.status_code == 302
    assert not is_signed_in(client)
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_logout_needs_post_and_csrf(client, volunteer):
    login(client, "lao.wang")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert is_signed_in(client)


def test_logout_everywhere_ends_every_session(app, client, volunteer):
    other = app.test_client()
    login(client, "lao.wang")
    login(other, "lao.wang")
    assert is_signed_in(client) and is_signed_in(other)
    response = client.post("/profile", data={"csrf_token": page_token(client), "action": "logout_all"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not is_signed_in(client)
    assert not is_signed_in(other)
    assert login(other, "lao.wang").status_code == 302  # signing in again works


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, session, volunteer):
    other = app.test_client()
    login(client, "lao.wang")
    login(other, "lao.wang")
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "password", "current_password": factories.PASSWORD,
        "new_password": "a new password 2", "new_password2": "a new password 2"})
    assert response.status_code == 302
    assert "signed out everywhere else" in client.get("/profile").get_data(as_text=True)
    assert is_signed_in(client)
    assert not is_signed_in(other)
    third = app.test_client()
    assert login(third, "lao.wang").status_code == 200  # the old password is refused
    assert login(third, "lao.wang", "a new password 2").status_code == 302


def test_password_change_with_wrong_current_password_changes_nothing(app, client, session, volunteer):
    login(client, "lao.wang")
    before = fresh(session, volunteer).password_hash
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "password", "current_password": "not it at all",
        "new_password": "a new password 2", "new_password2": "a new password 2"})
    assert response.status_code == 422
    assert "The current password is wrong" in response.get_data(as_text=True)
    assert fresh(session, volunteer).password_hash == before
    assert is_signed_in(client)


def test_password_change_rejects_short_and_mismatched(client, session, volunteer):
    login(client, "lao.wang")
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "password", "current_password": factories.PASSWORD,
        "new_password": "short", "new_password2": "short"})
    assert response.status_code == 422
    assert 'id="e-new_password"' in response.get_data(as_text=True)
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "password", "current_password": factories.PASSWORD,
        "new_password": "long enough 1", "new_password2": "long enough 2"})
    assert response.status_code == 422
    assert 'id="e-new_password2"' in response.get_data(as_text=True)


def test_disabling_an_account_ends_its_sessions(app, client, session, volunteer):
    admin = factories.admin(session, username="boss")
    session.commit()
    login(client, "lao.wang")
    assert is_signed_in(client)
    staff = app.test_client()
    login(staff, "boss")
    response = staff.post(f"/manage/users/{volunteer.id}/disable",
                          data={"csrf_token": csrf_token(staff, f"/manage/users/{volunteer.id}")})
    assert response.status_code == 302
    assert fresh(session, volunteer).status == "disabled"
    assert not is_signed_in(client)
    response = login(client, "lao.wang")
    assert response.status_code == 200
    assert "This account has been disabled" in response.get_data(as_text=True)
    assert admin.id


def test_login_rate_limit_refuses_with_a_clear_message(client, session, volunteer):
    for _attempt in range(10):
        assert login(client, "lao.wang", "wrong password").status_code == 200
    response = login(client, "lao.wang")  # the right password, too late
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_pending_user_sees_the_awaiting_approval_page(client, session):
    factories.user(session, username="new.person", status="pending")
    session.commit()
    response = login(client, "new.person")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/pending")
    page = client.get("/pending").get_data(as_text=True)
    assert "Awaiting approval" in page
    assert not is_signed_in(client)


def test_register_makes_a_pending_account(client, session):
    token = csrf_token(client, "/register")
    response = client.post("/register", data={
        "csrf_token": token, "username": "zhao.dama", "display_name": "赵大妈", "phone": "13800000000",
        "password": "long enough 1", "password2": "long enough 1"})
    assert response.status_code == 302 and "/pending" in response.headers["Location"]
    user = session.exec(select(User).where(User.username == "zhao.dama")).one()
    assert user.status == "pending"


def _register(client, username: str, password: str = "long enough 1", ip: str = "10.2.3.4"):
    return client.post("/register", data={
        "csrf_token": csrf_token(client, "/register"), "username": username, "display_name": "赵大妈",
        "password": password, "password2": password}, environ_base={"REMOTE_ADDR": ip})


def test_register_page_refuses_a_common_password_and_a_look_alike_username(client, session, volunteer):
    response = _register(client, "zhao.dama", password="iloveyou1")
    assert response.status_code == 422 and "most common" in response.get_data(as_text=True)
    response = _register(client, "ＬＡＯ.ＷＡＮＧ")
    assert response.status_code == 422 and "taken" in response.get_data(as_text=True)
    response = _register(client, "lao.wаng")  # a Cyrillic а
    assert response.status_code == 422 and "looks like" in response.get_data(as_text=True)
    assert session.exec(select(User).where(User.username != "lao.wang")).all() == []


def test_register_page_is_limited_per_address(app, client, session):
    factories.station(session)
    session.commit()
    for number in range(30):
        assert _register(client, f"page{number}", password="short").status_code == 422
    response = _register(client, "page-more")
    assert response.status_code == 429 and "10 minutes" in response.get_data(as_text=True)
    assert _register(client, "page-other", ip="10.7.7.7").status_code == 302


def test_password_change_refuses_a_common_password(app, client, session, volunteer):
    login(client, "lao.wang")
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "password", "current_password": factories.PASSWORD,
        "new_password": "qwertyuiop", "new_password2": "qwertyuiop"})
    assert response.status_code == 422 and "most common" in response.get_data(as_text=True)
    assert fresh(session, volunteer).password_hash == volunteer.password_hash


# -- redirects after login --------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil.example",
    "http:/evil.example",
])
def test_login_never_redirects_off_site(client, volunteer, target):
    response = login(client, "lao.wang", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, volunteer):
    response = login(client, "lao.wang", next_url="/profile?tab=1")
    assert response.headers["Location"] == "/profile?tab=1"


def test_login_page_redirect_carries_next(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert "next=%2Fprofile" in response.headers["Location"]


def test_language_switch_never_redirects_off_site(client):
    token = csrf_token(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


# -- profile, large mode, language ---------------------------------------------------------------

def test_profile_shows_my_details_and_saves_them(client, session, volunteer):
    login(client, "lao.wang")
    page = client.get("/profile").get_data(as_text=True)
    for name in ('name="display_name"', 'name="phone"', 'name="large_mode"', 'name="leaderboard_anonymous"',
                 'name="language"', 'name="current_password"', 'value="logout_all"', 'action="/logout"'):
        assert name in page, name
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "details", "display_name": "王建国", "phone": "13912345678",
        "language": "zh_CN", "leaderboard_anonymous": "1"})
    assert response.status_code == 302
    user = fresh(session, volunteer)
    assert (user.display_name, user.phone, user.leaderboard_anonymous, user.large_mode) == (
        "王建国", "13912345678", True, False)
    assert "Saved." in client.get("/profile").get_data(as_text=True)


def test_profile_refuses_an_empty_name_and_keeps_the_old_one(client, session, volunteer):
    login(client, "lao.wang")
    response = client.post("/profile", data={
        "csrf_token": page_token(client), "action": "details", "display_name": "   ", "phone": "",
        "large_mode": "1"})
    assert response.status_code == 422
    assert 'id="e-display_name"' in response.get_data(as_text=True)
    user = fresh(session, volunteer)
    assert user.display_name == "王大爷" and user.large_mode is False


def test_large_mode_adds_the_large_class(client, session, volunteer):
    login(client, "lao.wang")
    assert "large" not in body_classes(client.get("/").get_data(as_text=True))
    client.post("/profile", data={"csrf_token": page_token(client), "action": "details",
                                  "display_name": "王大爷", "phone": "", "large_mode": "1"})
    assert fresh(session, volunteer).large_mode is True
    assert "large" in body_classes(client.get("/").get_data(as_text=True))
    assert "large" in body_classes(client.get("/profile").get_data(as_text=True))


@pytest.fixture
def real_locale(app, english_pages):
    """The app's own language choice (the module reads English pages otherwise)."""
    from volunteer_app.web import select_locale
    app.extensions["babel"].locale_selector = select_locale


@pytest.mark.usefixtures("real_locale")
def test_chinese_is_the_default_language(client, volunteer):
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)
    login(client, "lao.wang")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


@pytest.mark.usefixtures("real_locale")
def test_language_switch_is_kept_per_user(app, client, session, volunteer):
    login(client, "lao.wang")
    response = client.post("/language", data={"csrf_token": page_token(client, "/"), "lang": "en", "next": "/profile"})
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    assert fresh(session, volunteer).language == "en"
    other = app.test_client()  # another phone: the choice follows the person
    assert '<html lang="zh-CN">' in other.get("/login").get_data(as_text=True)
    login(other, "lao.wang")
    assert '<html lang="en">' in other.get("/").get_data(as_text=True)


def test_language_switch_before_login(client):
    token = csrf_token(client)
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"csrf_token": token, "lang": "xx", "next": "/login"})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_language_on_the_profile_form(client, session, volunteer):
    login(client, "lao.wang")
    client.post("/profile", data={"csrf_token": page_token(client), "action": "details",
                                  "display_name": "王大爷", "phone": "", "language": "en"})
    assert fresh(session, volunteer).language == "en"
    assert '<html lang="en">' in client.get("/profile").get_data(as_text=True)
    response = client.post("/profile", data={"csrf_token": page_token(client), "action": "details",
                                             "display_name": "王大爷", "phone": "", "language": "fr"})
    assert response.status_code == 422
    assert fresh(session, volunteer).language == "en"
