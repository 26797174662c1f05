"""One-time sign-in code pages: the coordinator's button and QR page, the member's 登录 tap,
the optional new password, and refusals in words (never a 500)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from volunteer_app import db
from volunteer_app.models import User
from volunteer_app.services import accounts

from . import factories
from .conftest import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("english_pages")  # the assertions read English

NEW_PASSWORD = "a new password 9"
CODE_URL = re.compile(r"https://patrol\.example\.cn(/s/[A-Za-z0-9_-]+)")


@pytest.fixture
def session(app):
    token = db.write_intent.set(False)
    try:
        with Session(app.extensions["db_engine"], expire_on_commit=False) as arranged:
            yield arranged
    finally:
        db.write_intent.reset(token)


@pytest.fixture
def crew(session):
    team = factories.team(session)
    people = {"boss": factories.coordinator(session, team, username="boss"),
              "member": factories.user(session, team=team, username="old.wang", display_name="王大爷"),
              "clerk": factories.user(session, roles=["clerk", "volunteer"], team=team, username="clerk")}
    session.commit()
    return people


def issue(app, coordinator: str, user_id: int):
    """The coordinator's client and the code page's response."""
    client = app.test_client()
    sign_in(client, coordinator)
    token = csrf_token(client, f"/manage/users/{user_id}")
    return client.post(f"/manage/users/{user_id}/signin-code", data={"csrf_token": token})


def code_path(app, crew) -> str:
    page = issue(app, "boss", crew["member"].id)
    assert page.status_code == 200
    return CODE_URL.search(page.get_data(as_text=True)).group(1)


def tap(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def test_the_member_page_offers_the_button_where_it_may(app, crew):
    client = app.test_client()
    sign_in(client, "boss")
    assert "Make a one-time sign-in code" in client.get(f"/manage/users/{crew['member'].id}").get_data(as_text=True)
    assert "Make a one-time sign-in code" not in client.get(f"/manage/users/{crew['clerk'].id}").get_data(as_text=True)
    assert "Make a one-time sign-in code" not in client.get(f"/manage/users/{crew['boss'].id}").get_data(as_text=True)


def test_the_coordinator_gets_a_printable_qr(app, crew):
    page = issue(app, "boss", crew["member"].id)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "王大爷" in text and 'src="data:image/png;base64,' in text and "data-print" in text
    assert CODE_URL.search(text)


def test_a_coordinator_cannot_issue_for_staff_or_themself(app, crew):
    assert issue(app, "boss", crew["clerk"].id).status_code == 403
    assert issue(app, "boss", crew["boss"].id).status_code == 403
    assert issue(app, "boss", 999999).status_code == 404


def test_opening_the_link_does_not_use_it(app, crew):
    path = code_path(app, crew)
    phone = app.test_client()
    for _ in range(2):  # a link preview, then the member
        page = phone.get(path)
        assert page.status_code == 200 and "Sign in as 王大爷" in page.get_data(as_text=True)
    assert phone.get("/").status_code == 302  # not signed in yet


def test_the_tap_signs_in_and_a_password_may_be_set(app, session, crew):
    path = code_path(app, crew)
    phone = app.test_client()
    answer = tap(phone, path)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/signin/password")
    assert "Set a new password" in phone.get("/signin/password").get_data(as_text=True)
    token = csrf_token(phone, "/signin/password")
    differ = phone.post("/signin/password", data={"csrf_token": token, "action": "set",
                                                  "new_password": NEW_PASSWORD, "new_password2": "other"})
    assert differ.status_code == 422 and "The two passwords differ." in differ.get_data(as_text=True)
    saved = phone.post("/signin/password", data={"csrf_token": token, "action": "set",
                                                 "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert saved.status_code == 200 and "Password saved" in saved.get_data(as_text=True)
    assert phone.get("/").status_code == 200  # this phone stays signed in
    session.expire_all()
    assert accounts.verify_password(session.get(User, crew["member"].id), NEW_PASSWORD)
    assert phone.get("/signin/password").status_code == 302  # once only


def test_the_password_may_be_skipped(app, session, crew):
    path = code_path(app, crew)
    phone = app.test_client()
    tap(phone, path)
    skipped = phone.post("/signin/password", data={"csrf_token": csrf_token(phone, "/signin/password"),
                                                   "action": "skip"})
    assert skipped.status_code == 302 and phone.get("/").status_code == 200
    assert phone.get("/signin/password").status_code == 302
    session.expire_all()
    assert accounts.verify_password(session.get(User, crew["member"].id), factories.PASSWORD)


def test_a_replayed_code_is_refused_in_words(app, crew):
    path = code_path(app, crew)
    tap(app.test_client(), path)
    again = app.test_client()
    page = again.get(path)
    assert page.status_code == 410 and "already been used" in page.get_data(as_text=True)
    assert again.get("/").status_code == 302


def test_two_tabs_tapping_the_same_code(app, crew):
    path = code_path(app, crew)
    first, second = app.test_client(), app.test_client()
    tokens = csrf_token(first, path), csrf_token(second, path)
    assert first.post(path, data={"csrf_token": tokens[0]}).status_code == 302
    late = second.post(path, data={"csrf_token": tokens[1]})
    assert late.status_code == 410 and "already been used" in late.get_data(as_text=True)


def test_voided_and_forged_codes_are_refused(app, crew):
    older = code_path(app, crew)
    code_path(app, crew)
    phone = app.test_client()
    assert phone.get(older).status_code == 410
    forged = phone.get("/s/not-a-real-code")
    assert forged.status_code == 400 and "not valid" in forged.get_data(as_text=True)
    assert phone.get("/s/" + "x" * 3000).status_code == 400
    assert phone.get("/s/%00%ff").status_code in (400, 404)


def test_the_password_page_without_a_code_leads_home(app, crew):
    client = app.test_client()
    sign_in(client, "old.wang")
    assert client.get("/signin/password").status_code == 302
    posted = client.post("/signin/password", data={"csrf_token": csrf_token(client, "/profile"), "action": "set",
                                                   "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert posted.status_code == 302
