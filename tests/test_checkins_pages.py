"""The phone pages of the check-in: poster URL, login round trip, PRG, refusals, My points, staff pages."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import db, timeutil
from volunteer_app.models import AuditEntry, Checkin, Checkpoint, LedgerEntry
from volunteer_app.services import checkpoints, codes

from . import factories
from .factories import HANGZHOU, checkpoint, event
from .conftest import arrange, csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("english_pages")  # the assertions read English


CLIENT_REF = re.compile(r'name="client_ref" value="([0-9a-f]+)"')


def count(app, model, **where):
    with arrange(app) as session:
        stmt = select(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return len(session.exec(stmt).all())


@pytest.fixture
def world(app):
    with arrange(app) as session:
        team = factories.team(session)
        world = {
            "team": team,
            "coordinator": factories.coordinator(session, team, username="leader"),
            "volunteer": factories.user(session, team=team, username="walker"),
            "cp": checkpoint(session, team=team, name="湖滨凉亭", points=5),
            "geo": checkpoint(session, team=team, name="警务亭", latitude=HANGZHOU[0], longitude=HANGZHOU[1],
                              require_location=True),
        }
        world["path"] = "/c/" + checkpoints.token(world["cp"])
        world["geo_path"] = "/c/" + checkpoints.token(world["geo"])
    return world


def test_poster_url_logged_out_goes_through_login_and_straight_back(client, world):
    first = client.get(world["path"])
    assert first.status_code == 302 and "/login" in first.location
    back = client.post("/login", data={"csrf_token": csrf_token(client, first.location), "username": "walker",
                                       "password": factories.PASSWORD,
                                       "next": first.location.split("next=")[1].replace("%2F", "/")})
    assert back.status_code == 302 and back.location.endswith(world["path"])
    page = client.get(world["path"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "湖滨凉亭" in html and 'name="client_ref"' in html and "data-need-location" not in html


def test_check_in_is_post_redirect_get_and_a_double_tap_counts_once(app, client, world):
    sign_in(client, "walker")
    html = client.get(world["path"]).get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, world["path"]), "client_ref": CLIENT_REF.search(html).group(1)}
    first = client.post(world["path"], data=data)
    assert first.status_code == 303 and "/checkins/" in first.location
    second = client.post(world["path"], data=data)  # a double tap or a reload re-sends the form
    assert second.status_code == 302 and second.location == first.location
    result = client.get(first.location).get_data(as_text=True)
    assert "+5" in result and "湖滨凉亭" in result
    assert count(app, Checkin, user_id=world["volunteer"].id) == 1
    assert count(app, LedgerEntry, user_id=world["volunteer"].id) == 1
    # A new visit (new client_ref) inside the cooldown: a refusal that says when to come back.
    html = client.get(world["path"]).get_data(as_text=True)
    refusal = client.post(world["path"], data=dict(data, client_ref=CLIENT_REF.search(html).group(1)))
    assert refusal.status_code == 409
    text = refusal.get_data(as_text=True)
    assert "again at" in text or "再次" in text


def test_the_boosted_form_gets_the_result_in_one_round_trip(app, client, world):
    """With htmx (checkins.js boosts the form) the POST answers with the result itself and
    moves the address to the result's own URL, so a reload shows it again and posts nothing;
    a refusal still comes with its status and its reason, for the script to show."""
    sign_in(client, "walker")
    html = client.get(world["path"]).get_data(as_text=True)
    assert 'class="checkin-form" hx-boost="true"' in html and "send-failed" in html
    boosted = {"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://localhost" + world["path"]}
    data = {"csrf_token": csrf_token(client, world["path"]), "client_ref": CLIENT_REF.search(html).group(1)}
    first = client.post(world["path"], data=data, headers=boosted)
    assert first.status_code == 200
    answer = first.get_data(as_text=True)
    assert "result-ok" in answer and "+5" in answer and "湖滨凉亭" in answer
    checkin_id = first.headers["HX-Push-Url"].rsplit("/", 1)[1]
    assert first.headers["HX-Push-Url"] == f"/checkins/{checkin_id}"
    again = client.get(f"/checkins/{checkin_id}").get_data(as_text=True)  # the reload
    assert "result-ok" in again and "+5" in again
    assert client.post(world["path"], data=data, headers=boosted).status_code in (200, 302)  # a double tap
    assert count(app, Checkin, user_id=world["volunteer"].id) == 1
    html = client.get(world["path"]).get_data(as_text=True)
    refusal = client.post(world["path"], data=dict(data, client_ref=CLIENT_REF.search(html).group(1)),
                          headers=boosted)
    assert refusal.status_code == 409 and "HX-Push-Url" not in refusal.headers
    assert "again at" in refusal.get_data(as_text=True)


def test_position_is_asked_only_where_required_and_refusal_says_why(client, world):
    sign_in(client, "walker")
    page = client.get(world["geo_path"]).get_data(as_text=True)
    assert 'data-need-location="1"' in page and "checkins.js" in page
    token = csrf_token(client, world["geo_path"])
    missing = client.post(world["geo_path"], data={"csrf_token": token, "client_ref": "a1"})
    assert missing.status_code == 403 and "position" in missing.get_data(as_text=True)
    far = client.post(world["geo_path"], data={"csrf_token": token, "client_ref": "a2",
                                               "latitude": str(HANGZHOU[0] + 0.00378), "longitude": str(HANGZHOU[1])})
    assert far.status_code == 403 and "420 m" in far.get_data(as_text=True)
    near = client.post(world["geo_path"], data={"csrf_token": token, "client_ref": "a3",
                                                "latitude": str(HANGZHOU[0]), "longitude": str(HANGZHOU[1])})
    assert near.status_code == 303


def test_rotated_poster_and_garbage_are_refused_on_the_page(app, client, world):
    sign_in(client, "walker")
    with arrange(app) as session:
        row = session.get(Checkpoint, world["cp"].id)
        row.code_version += 1
        session.add(row)
    page = client.get(world["path"])
    assert page.status_code == 400 and "new poster" in page.get_data(as_text=True)
    assert client.get("/c/garbage").status_code == 400


def test_event_code_page_and_expiry(app, client, world, monkeypatch):
    with arrange(app) as session:
        ev = event(session, starts_at=timeutil.utcnow(), title="反诈茶话会")
        code, _ = codes.event_code(ev.id)
    sign_in(client, "walker")
    page = client.get("/c/" + code)
    assert page.status_code == 200 and "反诈茶话会" in page.get_data(as_text=True)
    later = timeutil.utcnow() + timedelta(minutes=3)
    monkeypatch.setattr(timeutil, "utcnow", lambda: later)
    stale = client.get("/c/" + code)
    assert stale.status_code == 410 and "scan the screen again" in stale.get_data(as_text=True)


def test_scan_page_takes_a_pasted_link(client, world):
    sign_in(client, "walker")
    assert "camera" in client.get("/scan").get_data(as_text=True)
    pasted = client.post("/scan", data={"csrf_token": csrf_token(client, "/scan"),
                                        "code": "https://patrol.example.cn" + world["path"]})
    assert pasted.status_code == 302 and pasted.location.endswith(world["path"])


def test_my_points_pages_further_back_with_htmx(app, client, world):
    with arrange(app) as session:
        from volunteer_app.services import ledger
        for number in range(45):
            ledger.post(session, world["volunteer"].id, 1, "award", f"test:{number}", reason=f"奖励{number}")
    sign_in(client, "walker")
    page = client.get("/points").get_data(as_text=True)
    assert page.count('class="entry"') == 20 and 'hx-trigger="revealed, click"' in page
    before = re.search(r'/points\?before=(\d+)', page).group(1)
    more = client.get(f"/points?before={before}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count('class="entry"') == 20 and "<html" not in more
    assert "奖励24" in more and "奖励25" not in more


def test_staff_pages_and_volunteer_is_kept_out(app, client, world):
    sign_in(client, "walker")
    for path in ("/manage/checkpoints", "/manage/checkpoints/new", "/manage/events",
                 f"/manage/checkpoints/{world['cp'].id}/poster", "/manage/leader-checkin", "/manage/points"):
        assert client.get(path).status_code == 403, path
    client.post("/logout", data={"csrf_token": csrf_token(client, "/scan")})
    sign_in(client, "leader")
    listing = client.get("/manage/checkpoints").get_data(as_text=True)
    assert "湖滨凉亭" in listing and "Last scan" in listing or "最后" in listing
    poster = client.get(f"/manage/checkpoints/{world['cp'].id}/poster").get_data(as_text=True)
    assert "湖滨凉亭" in poster and "data:image/svg+xml;base64," in poster
    assert "PUBLIC_BASE_URL" not in poster  # set, to a public address: nothing to warn about
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:8000"
    poster = client.get(f"/manage/checkpoints/{world['cp'].id}/poster").get_data(as_text=True)
    assert 'class="notice notice-error" role="alert"' in poster and "http://127.0.0.1:8000" in poster
    app.config["PUBLIC_BASE_URL"] = None  # the request's own host: a warning to check it
    poster = client.get(f"/manage/checkpoints/{world['cp'].id}/poster").get_data(as_text=True)
    assert 'class="notice notice-error" role="alert"' in poster  # the test client's host is localhost
    app.config["PUBLIC_BASE_URL"] = "https://patrol.example.cn"
    assert client.get(f"/manage/checkpoints/posters?team_id={world['team'].id}").get_data(as_text=True).count(
        'class="poster"') == 2
    png = client.get(f"/manage/checkpoints/{world['cp'].id}/qr.png")
    assert png.status_code == 200 and png.data[:4] == b"\x89PNG"
    token = csrf_token(client, "/manage/checkpoints/new")
    created = client.post("/manage/checkpoints/new", data={"csrf_token": token, "name": "南门", "points": "3",
                                                           "cooldown_minutes": "20", "radius_m": "150",
                                                           "team_id": str(world["team"].id)})
    assert created.status_code == 302
    from_map_app = client.post("/manage/checkpoints/new", data={
        "csrf_token": token, "name": "北门", "points": "3", "cooldown_minutes": "20", "radius_m": "150",
        "team_id": str(world["team"].id), "latitude": "30.256743", "longitude": "120.154623", "gcj02": "1"})
    assert from_map_app.status_code == 302
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
        row = s.exec(select(Checkpoint).where(Checkpoint.name == "北门")).one()
        expected = checkpoints.gcj02_to_wgs84(30.256743, 120.154623)
        assert abs(row.latitude - expected[0]) < 1e-6 and abs(row.longitude - expected[1]) < 1e-6
        assert abs(row.latitude - 30.256743) > 0.001  # moved: stored as the phones' GPS sees it
    bad = client.post("/manage/checkpoints/new", data={"csrf_token": token, "name": "", "points": "x"})
    assert bad.status_code == 422
    rotated = client.post(f"/manage/checkpoints/{world['cp'].id}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 302
    assert count(app, AuditEntry, action="checkpoint.rotate_code") == 1


def test_events_live_code_refreshes_by_htmx(client, world):
    sign_in(client, "leader")
    token = csrf_token(client, "/manage/events")
    # An event running now: from an hour ago to an hour ahead, on the day it started (station time).
    start = timeutil.local(timeutil.utcnow() - timedelta(hours=1))
    end = min(start + timedelta(hours=2), start.replace(hour=23, minute=59))
    if end <= timeutil.local(timeutil.utcnow()):  # just before midnight: tomorrow's early event instead
        start, end = start.replace(hour=0, minute=0) + timedelta(days=1), start.replace(hour=1, minute=0) + timedelta(days=1)
    day = start.date().isoformat()
    created = client.post("/manage/events", data={"csrf_token": token, "title": "防诈讲座", "location": "活动室",
                                                  "day": day, "start": start.strftime("%H:%M"),
                                                  "end": end.strftime("%H:%M"), "points": "10",
                                                  "credit": "full"})  # no sign-out phase near its end
    assert created.status_code == 302
    listing = client.get("/manage/events").get_data(as_text=True)
    live_path = re.search(r'href="(/manage/events/\d+/live)"', listing).group(1)
    full = client.get(live_path).get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in full and "data:image/svg+xml;base64," in full
    partial = client.get(live_path, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section class="live"') and re.search(r"E\d+-\d{6}", partial)
    bad = client.post("/manage/events", data={"csrf_token": token, "title": "x", "day": day, "start": "10:00",
                                              "end": "09:00"})
    assert bad.status_code == 422


def test_live_screen_switches_to_the_sign_out_code(app, client, world):
    """In an event's last half hour (or when the coordinator switches) the screen shows the
    sign-out code; the switch goes back too."""
    with arrange(app) as session:
        now = timeutil.utcnow()
        event_id = event(session, starts_at=now - timedelta(hours=1), hours=4).id
        ending_id = event(session, starts_at=now - timedelta(hours=1), hours=1.25).id
    sign_in(client, "leader")
    assert re.search(r"O\d+-\d{6}", client.get(f"/manage/events/{ending_id}/live").get_data(as_text=True))
    path = f"/manage/events/{event_id}/live"
    assert re.search(r"E\d+-\d{6}", client.get(path).get_data(as_text=True))
    token = csrf_token(client, path)
    assert client.post(f"/manage/events/{event_id}/signout", data={"csrf_token": token, "on": "1"}).status_code == 302
    shown = client.get(path).get_data(as_text=True)
    assert re.search(r"O\d+-\d{6}", shown) and "Sign-out" in shown
    client.post(f"/manage/events/{event_id}/signout", data={"csrf_token": token, "on": "0"})
    assert re.search(r"E\d+-\d{6}", client.get(path).get_data(as_text=True))


def test_leader_checks_in_a_member_and_adjusts_points(app, client, world):
    with arrange(app) as session:
        ev = event(session, team=world["team"], starts_at=timeutil.utcnow())
    sign_in(client, "leader")
    page = client.get("/manage/leader-checkin").get_data(as_text=True)
    assert f'value="event:{ev.id}"' in page
    token = csrf_token(client, "/manage/leader-checkin")
    done = client.post("/manage/leader-checkin", data={"csrf_token": token, "place": f"event:{ev.id}",
                                                       "user_id": str(world["volunteer"].id)})
    assert done.status_code == 302
    with arrange(app) as session:
        row = session.exec(select(Checkin).where(Checkin.user_id == world["volunteer"].id)).one()
        assert row.recorded_by_id == world["coordinator"].id
    vid = world["volunteer"].id
    adjust = f"/manage/users/{vid}/points"
    assert client.post(adjust, data={"csrf_token": token, "amount": "-999", "reason": "更正"}).status_code == 422
    assert client.post(adjust, data={"csrf_token": token, "amount": "5", "reason": ""}).status_code == 422
    ok = client.post(adjust, data={"csrf_token": token, "amount": "-3", "reason": "重复登记更正"})
    assert ok.status_code == 302
    assert "重复登记更正" in client.get(adjust).get_data(as_text=True)
    assert count(app, AuditEntry, action="points.adjust") == 1


def test_manage_hub_offers_the_checkin_pages(client, world):
    sign_in(client, "leader")
    hub = client.get("/manage").get_data(as_text=True)
    for path in ("/manage/checkpoints", "/manage/events", "/manage/leader-checkin", "/manage/points"):
        assert f'href="{path}"' in hub, path


def test_guessed_codes_on_the_phone_page_count_toward_the_limit(app, client, world):
    """Opening /c/<code> tells a right code from a wrong one, so it counts like the check-in;
    after 20 refusals the page refuses every code, the right one too, with a 429 in words."""
    sign_in(client, "walker")
    for n in range(20):
        assert client.get(f"/c/{300000 + n}").status_code in (400, 410)
    page = client.get(world["path"])
    assert page.status_code == 429
    post = client.post(world["path"], data={"csrf_token": csrf_token(client, "/scan"), "client_ref": "x1"})
    assert post.status_code == 429 and "10" in post.get_data(as_text=True)
    assert count(app, Checkin) == 0
