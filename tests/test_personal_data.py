"""Personal data: a person's own download, anonymising someone who has left (sums, hours,
reports and `volunteer-app check` intact), and phone numbers on the pages."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from volunteer_app.cli import run_checks
from volunteer_app.errors import DomainError
from volunteer_app.models import Checkin, Checkpoint, LedgerEntry, Notice, Shift, ShiftSignup, User, UserBadge
from volunteer_app.services import accounts, dashboard, personal_data, reports

from . import factories
from .conftest import csrf_token, sign_in

UTC = timezone.utc
ALICE_PHONE = "13812345678"
BOB_PHONE = "13987654321"


@pytest.fixture
def folks(session):
    team_a, team_b = factories.team(session, name="西湖巡逻队"), factories.team(session, name="调解队")
    alice = factories.user(session, team=team_a, display_name="王秀英", username="alice", phone=ALICE_PHONE)
    bob = factories.user(session, team=team_b, display_name="李建国", username="bob", phone=BOB_PHONE)
    data = {"team_a": team_a, "team_b": team_b, "alice": alice, "bob": bob,
            "admin": factories.admin(session), "coord_a": factories.coordinator(session, team_a),
            "clerk": factories.user(session, roles="clerk")}
    cp = Checkpoint(station_id=team_a.station_id, team_id=team_a.id, name="湖滨")
    session.add(cp)
    session.flush()
    now = datetime.now(UTC)
    from volunteer_app.services import ledger, recognition, store, tips

    for user in (alice, bob):
        for n in range(3):
            at = now - timedelta(days=n, hours=1)
            row = Checkin(user_id=user.id, kind="checkpoint", checkpoint_id=cp.id, points_awarded=5, created_at=at,
                          latitude=30.25, longitude=120.15)
            session.add(row)
            session.flush()
            ledger.post(session, user.id, 5, "checkin", f"checkin:{row.id}", now=at)
        start = now - timedelta(days=2)
        shift = Shift(station_id=team_a.station_id, team_id=team_a.id, title="夜巡", starts_at=start,
                      ends_at=start + timedelta(hours=2), capacity=2)
        session.add(shift)
        session.flush()
        session.add(ShiftSignup(shift_id=shift.id, user_id=user.id, minutes_credited=120, completed_at=shift.ends_at))
        factories.service_record(session, user, start, 120, shift_row=shift)
    recognition.award_badge(session, alice.id, "first_checkin")
    recognition.grant_award(session, data["admin"], user_id=alice.id, title="月度之星", points=20)
    item = store.create_item(session, data["admin"], name="水杯", cost=10, stock=5)
    store.redeem(session, data["clerk"], item_id=item.id, user_id=alice.id)
    tips.submit(session, alice, category="dispute", description="两户人家为停车吵架")
    session.commit()
    return data


def fresh_csrf(client, path):
    """The token of the signed-in session (should an app context outlive requests, Flask-WTF's
    token cached in its ``g`` would predate the login: drop it)."""
    from flask import g, has_app_context
    if has_app_context():
        g.pop("csrf_token", None)
    return csrf_token(client, path)


def test_download_my_data(app, client, session, folks):
    alice = folks["alice"]
    sign_in(client, alice)
    response = client.get("/me/data.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    data = json.loads(text)
    assert data["profile"]["display_name"] == "王秀英" and data["profile"]["phone"] == ALICE_PHONE
    assert [team["name"] for team in data["teams"]] == ["西湖巡逻队"]
    expected_entries = session.exec(select(func.count()).select_from(LedgerEntry)
                                    .where(LedgerEntry.user_id == alice.id)).one()
    assert len(data["ledger_entries"]) == expected_entries >= 5
    assert len(data["checkins"]) == 3 and len(data["shift_signups"]) == 1
    assert len(data["redemptions"]) == 1 and len(data["tips"]) == 1
    assert "first_checkin" in [badge["key"] for badge in data["user_badges"]]
    assert [award["title"] for award in data["awards"]] == ["月度之星"]
    assert "notices" in data
    assert all(row["user_id"] == alice.id for row in data["checkins"] + data["ledger_entries"])
    assert "password_hash" not in text and "token_hash" not in text and "李建国" not in text
    assert BOB_PHONE not in text


def test_nobody_downloads_someone_elses_data(app, session, folks):
    for actor in (folks["bob"], folks["coord_a"], folks["admin"]):
        with pytest.raises(DomainError) as error:
            personal_data.export(session, actor, folks["alice"].id)
        assert error.value.code == "forbidden"


def figures(session, folks):
    alice_id = folks["alice"].id
    station_period = reports.period("2020-01-01", "2029-12-31")
    admin = session.get(User, folks["admin"].id)
    scope = dashboard.scope_for(session, admin)
    return {
        "ledger": session.exec(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.user_id == alice_id)).one(),
        "balance": session.get(User, alice_id).balance,
        "lifetime": session.get(User, alice_id).lifetime_points,
        "minutes": session.get(User, alice_id).minutes_served,
        "checkins": session.exec(select(func.count()).select_from(Checkin).where(Checkin.user_id == alice_id)).one(),
        "hours": [(row.user_id, row.hours, row.checkins, row.points_earned)
                  for row in reports.hours_rows(session, dashboard.scope_people(scope), station_period)],
        "teams": [(row.team.id, row.hours, row.checkins, row.points_earned, row.members)
                  for row in reports.hours_by_team(session, scope, station_period)],
        "week": dashboard.figures(session, scope, datetime(2000, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)),
    }


def test_anonymise_keeps_sums_hours_reports_and_checks(app, session, folks):
    alice = folks["alice"]
    raw, _token = accounts.issue_token(session, alice)
    session.commit()
    before = figures(session, folks)
    assert run_checks(app) == []
    personal_data.anonymise(session, folks["admin"], alice.id)
    session.commit()
    after = figures(session, folks)
    assert after == before
    row = session.get(User, alice.id)
    assert row.display_name != "王秀英" and row.phone is None and row.username == f"anon-{alice.id}"
    assert row.status == "disabled" and row.leaderboard_anonymous
    assert accounts.resolve_token(session, raw) is None
    with pytest.raises(DomainError) as error:
        accounts.authenticate(session, "alice", factories.PASSWORD)
    assert error.value.code == "bad_credentials"
    with pytest.raises(DomainError):
        accounts.authenticate(session, row.username, factories.PASSWORD)
    session.rollback()
    assert not accounts.verify_password(row, factories.PASSWORD)
    assert all(c.latitude is None for c in session.exec(select(Checkin).where(Checkin.user_id == alice.id)))
    notices = session.exec(select(Notice)).all()
    assert notices and not any("王秀英" in notice.title + notice.body for notice in notices)
    assert session.exec(select(func.count()).select_from(UserBadge).where(UserBadge.user_id == alice.id)).one() >= 1
    assert run_checks(app) == []
    with pytest.raises(DomainError) as error:
        personal_data.anonymise(session, folks["admin"], alice.id)
    assert error.value.code == "conflict"


def test_only_admins_anonymise(app, session, folks):
    for actor in (folks["coord_a"], folks["bob"], folks["clerk"]):
        with pytest.raises(DomainError) as error:
            personal_data.anonymise(session, actor, folks["alice"].id)
        assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        personal_data.anonymise(session, folks["admin"], folks["admin"].id)
    assert error.value.code == "forbidden"


def test_anonymise_page(app, client, session, folks):
    sign_in(client, folks["admin"])
    page = client.get("/manage/personal-data?q=王秀英").get_data(as_text=True)
    assert "王秀英" in page
    token = fresh_csrf(client, "/manage/personal-data")
    unconfirmed = client.post("/manage/personal-data", data={"user_id": folks["alice"].id, "csrf_token": token})
    assert unconfirmed.status_code == 302
    assert session.get(User, folks["alice"].id).username == "alice"
    session.commit()
    done = client.post("/manage/personal-data", data={"user_id": folks["alice"].id, "confirm": "yes",
                                                      "csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200 and f"anon-{folks['alice'].id}" in done.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, folks["alice"].id).phone is None


def test_personal_data_page_is_for_admins(app, client, session, folks):
    sign_in(client, folks["coord_a"])
    assert client.get("/manage/personal-data").status_code == 403
    token = fresh_csrf(client, "/manage/dashboard")
    assert client.post("/manage/personal-data", data={"user_id": folks["alice"].id, "confirm": "yes",
                                                      "csrf_token": token}).status_code == 403


def test_phone_numbers_on_pages(app, client, session, folks):
    """A coordinator sees their members' phones, never another team's."""
    sign_in(client, folks["coord_a"])
    team_page = client.get(f"/manage/teams/{folks['team_a'].id}").get_data(as_text=True)
    assert ALICE_PHONE in team_page and BOB_PHONE not in team_page
    assert client.get(f"/manage/teams/{folks['team_b'].id}").status_code in (403, 404)
    assert client.get(f"/manage/users/{folks['bob'].id}").status_code in (403, 404)
    search = client.get("/manage/users?q=李建国").get_data(as_text=True)
    assert BOB_PHONE not in search
    candidates = client.get(f"/manage/teams/{folks['team_a'].id}?q=李建国").get_data(as_text=True)
    assert BOB_PHONE not in candidates
    for path in ("/manage/dashboard", "/reports", f"/reports/certificate/{folks['alice'].id}"):
        html = client.get(path).get_data(as_text=True)
        assert ALICE_PHONE not in html and BOB_PHONE not in html, path


def test_own_phone_on_profile(app, client, session, folks):
    sign_in(client, folks["bob"])
    html = client.get("/profile").get_data(as_text=True)
    assert BOB_PHONE in html and ALICE_PHONE not in html
    assert 'href="/me/data.json"' in html  # "download my data"
