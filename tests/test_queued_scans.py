"""Queued scans (API.md "Queued scans"): a scan kept on a phone without signal is sent later with
its ``scanned_at``; every rule is judged at that moment. The server's clock is injected."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import Checkin, LedgerEntry, ShiftSignup
from volunteer_app.services import checkpoints, codes

from . import factories
from .factories import HANGZHOU, T0, checkpoint, event
from .conftest import arrange, csrf_token

NOW = T0 + timedelta(hours=6)  # the moment the queued scans reach the server


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timeutil, "utcnow", lambda: NOW)


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session)
        return {"team": team, "volunteer": factories.user(session, team=team, username="walker"),
                "coordinator": factories.coordinator(session, team)}


def iso(moment) -> str:
    return moment.isoformat()


def event_code(app, event_id, at):
    """The event's live code at ``at``, signed with the app's key."""
    with app.app_context():
        return codes.event_code(event_id, at)


def scan(api, user, code, at=None, **extra):
    body = {"code": code, **extra}
    if at is not None:
        body["scanned_at"] = iso(at)
    return api.post("/api/v1/checkins", json=body, user=user)


def poster(app, **fields) -> str:
    with arrange(app) as session:
        return checkpoints.token(checkpoint(session, **fields))


def checkins_of(app, user_id):
    with arrange(app) as session:
        return session.exec(select(Checkin).where(Checkin.user_id == user_id).order_by(Checkin.created_at)).all()


def test_a_queued_scan_is_dated_when_it_was_made_and_says_when_it_arrived(api, people):
    token = poster(api.app)
    at = NOW - timedelta(hours=3)
    response = scan(api, people["volunteer"], token, at.astimezone(timeutil.station_tz()))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["created_at"] == timeutil.isoformat(at)
    assert body["received_at"] == timeutil.isoformat(NOW)
    [row] = checkins_of(api.app, people["volunteer"].id)
    assert (row.created_at, row.received_at) == (at, NOW)


def test_a_scan_made_now_was_received_now(api, people):
    body = scan(api, people["volunteer"], poster(api.app)).get_json()
    assert body["created_at"] == body["received_at"] == timeutil.isoformat(NOW)


def test_older_than_offline_max_hours_is_gone(api, people):
    token = poster(api.app)
    old = scan(api, people["volunteer"], token, NOW - timedelta(hours=24, seconds=1))
    assert old.status_code == 410 and old.get_json()["code"] == "scan_too_old"
    assert scan(api, people["volunteer"], token, NOW - timedelta(hours=23, minutes=59)).status_code == 201


def test_offline_max_hours_is_a_setting(app, api, people):
    app.config["OFFLINE_MAX_HOURS"] = 2
    token = poster(api.app)
    assert scan(api, people["volunteer"], token, NOW - timedelta(hours=3)).get_json()["code"] == "scan_too_old"


def test_more_than_two_minutes_ahead_is_refused(api, people):
    token = poster(api.app)
    ahead = scan(api, people["volunteer"], token, NOW + timedelta(minutes=2, seconds=1))
    assert ahead.status_code == 422 and ahead.get_json()["errors"][0]["field"] == "scanned_at"
    assert scan(api, people["volunteer"], token, NOW + timedelta(minutes=2)).status_code == 201


def test_scanned_at_without_an_offset_or_garbage_is_422(api, people):
    token = poster(api.app)
    for bad in ("2026-11-23T08:00:00", "yesterday", "", 5):
        response = api.post("/api/v1/checkins", json={"code": token, "scanned_at": bad}, user=people["volunteer"])
        assert response.status_code == 422, bad


def test_a_queued_scan_sent_twice_with_one_client_ref_counts_once(api, people):
    token = poster(api.app, points=5)
    at = NOW - timedelta(hours=1)
    first = scan(api, people["volunteer"], token, at, client_ref="q-1")
    again = scan(api, people["volunteer"], token, at, client_ref="q-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(checkins_of(api.app, people["volunteer"].id)) == 1
    with arrange(api.app) as session:
        assert len(session.exec(select(LedgerEntry).where(LedgerEntry.user_id == people["volunteer"].id)).all()) == 1


def test_cooldown_is_judged_at_scanned_at_whatever_order_they_arrive_in(api, people):
    token = poster(api.app, cooldown_minutes=30)
    user = people["volunteer"]
    later, earlier = NOW - timedelta(hours=2), NOW - timedelta(hours=3)
    assert scan(api, user, token, later).status_code == 201
    assert scan(api, user, token, earlier).status_code == 201  # an hour before: out of order, both count
    too_close = scan(api, user, token, earlier + timedelta(minutes=20))  # 20 min after one, 40 before the other
    assert too_close.status_code == 409 and too_close.get_json()["code"] == "cooldown"
    just_before_later = scan(api, user, token, later - timedelta(minutes=10))
    assert just_before_later.get_json()["code"] == "cooldown"  # the later one, made first, holds it back
    assert [row.created_at for row in checkins_of(api.app, user.id)] == [earlier, later]
    assert scan(api, user, token).status_code == 201  # now, two hours after the last


def test_event_window_is_judged_at_scanned_at(api, people):
    with arrange(api.app) as session:
        ev = event(session, starts_at=NOW - timedelta(hours=5), hours=2)  # closed three hours ago
        ev_id = ev.id
    during = NOW - timedelta(hours=4)
    code, _ = event_code(api.app, ev_id, during)
    response = scan(api, people["volunteer"], code, during + timedelta(seconds=5))
    assert response.status_code == 201, response.get_json()
    late_code, _ = event_code(api.app, ev_id, NOW)
    closed = scan(api, people["coordinator"], late_code)
    assert closed.status_code == 409 and closed.get_json()["code"] == "event_closed"


def test_event_code_counts_only_for_the_step_of_scanned_at_or_the_one_before(api, people):
    with arrange(api.app) as session:
        ev_id = event(session, starts_at=NOW - timedelta(hours=1), hours=3).id
        others = [factories.user(session, team=people["team"]) for _ in range(3)]
    shown = NOW - timedelta(minutes=30)  # on a 30 s step boundary
    code, _ = event_code(api.app, ev_id, shown)
    assert scan(api, others[0], code, shown + timedelta(seconds=59)).status_code == 201  # the step after
    stale = scan(api, others[1], code, shown + timedelta(seconds=60))  # two steps on
    assert stale.status_code == 410 and stale.get_json()["code"] == "expired_code"
    early = scan(api, others[2], code, shown - timedelta(seconds=1))  # before the code was shown
    assert early.status_code == 400 and early.get_json()["code"] == "invalid_code"
    assert scan(api, people["volunteer"], code).status_code == 410  # sent live, it is long expired


def test_geofence_applies_to_a_queued_scan(api, people):
    token = poster(api.app, latitude=HANGZHOU[0], longitude=HANGZHOU[1], require_location=True)
    at = NOW - timedelta(hours=1)
    far = scan(api, people["volunteer"], token, at, latitude=HANGZHOU[0] + 0.01, longitude=HANGZHOU[1])
    assert far.status_code == 403 and far.get_json()["code"] == "outside_geofence"
    none = scan(api, people["volunteer"], token, at)
    assert none.get_json()["code"] == "outside_geofence"
    near = scan(api, people["volunteer"], token, at, latitude=HANGZHOU[0], longitude=HANGZHOU[1])
    assert near.status_code == 201


def test_a_queued_scan_counts_toward_the_shift_it_was_made_in(api, people):
    with arrange(api.app) as session:
        team = people["team"]
        route = [checkpoint(session, team=team, cooldown_minutes=0) for _ in range(2)]
        shift = factories.shift(session, team, starts_at=NOW - timedelta(hours=4), ends_at=NOW - timedelta(hours=2),
                                route=route)
        session.add(ShiftSignup(shift_id=shift.id, user_id=people["volunteer"].id, status="confirmed"))
        tokens = [checkpoints.token(cp) for cp in route]
        shift_id = shift.id
    first = scan(api, people["volunteer"], tokens[0], NOW - timedelta(hours=3, minutes=30)).get_json()
    assert first["shift_id"] == shift_id and first["next_checkpoint"]["id"] == route[1].id
    last = scan(api, people["volunteer"], tokens[1], NOW - timedelta(hours=3)).get_json()
    assert last["shift_id"] == shift_id and last["shift_completed"] is True
    outside = scan(api, people["volunteer"], tokens[0], NOW - timedelta(minutes=10)).get_json()
    assert outside["shift_id"] is None  # sent now, made now: after the shift


def test_the_limit_on_guessing_codes_runs_on_the_wall_clock(app, api, people):
    app.config["CHECKIN_MAX_REFUSALS"] = 2
    token = poster(api.app)
    for _ in range(2):
        assert scan(api, people["volunteer"], "nonsense", NOW - timedelta(hours=5)).status_code == 400
    # Refusals counted now hold back a scan dated long ago: the limit is on guesses as they come.
    held = scan(api, people["volunteer"], token, NOW - timedelta(hours=5))
    assert held.status_code == 429 and held.get_json()["code"] == "too_many_attempts"


CLIENT_REF = re.compile(r'name="client_ref" value="([0-9a-f]+)"')


def test_the_phone_page_takes_scanned_at(app, client, people):
    token = poster(app)
    path = f"/c/{token}"
    client.post("/login", data={"csrf_token": csrf_token(client), "username": "walker",
                                "password": factories.PASSWORD})
    at = NOW - timedelta(hours=2)
    data = {"csrf_token": csrf_token(client, path), "client_ref": "a" * 32, "scanned_at": iso(at)}
    assert client.post(path, data=data).status_code == 303
    assert client.post(path, data=data).status_code == 302  # the same queued scan again: the same check-in
    [row] = checkins_of(app, people["volunteer"].id)
    assert (row.created_at, row.received_at) == (at, NOW)
    too_old = client.post(path, data={**data, "client_ref": "b" * 32, "scanned_at": iso(NOW - timedelta(days=2))})
    assert too_old.status_code == 410
    bad = client.post(path, data={**data, "client_ref": "c" * 32, "scanned_at": "soon"})
    assert bad.status_code == 422


# -- a checkpoint picked by hand (待补交): held for the coordinators, never a check-in -------------

def login_walker(client):
    client.post("/login", data={"csrf_token": csrf_token(client), "username": "walker",
                                "password": factories.PASSWORD})


def test_a_hand_picked_checkpoint_is_told_to_the_coordinator_and_is_no_check_in(app, client, people):
    with arrange(app) as session:
        cp = checkpoint(session, team=people["team"], name="湖滨亭", points=5)
        elsewhere = checkpoint(session, team=factories.team(session), name="别队的点")
        cp_id, other_id = cp.id, elsewhere.id
    login_walker(client)
    page = client.get("/queued").get_data(as_text=True)
    assert "湖滨亭" in page and "别队的点" not in page
    at = NOW - timedelta(hours=1)
    data = {"csrf_token": csrf_token(client, "/queued"), "checkpoint_id": str(cp_id), "client_ref": "h1",
            "scanned_at": iso(at)}
    answer = client.post("/queued/unscanned", data=data, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "data-queue-said" in answer.get_data(as_text=True)
    assert client.post("/queued/unscanned", data=data, headers={"HX-Request": "true"}).status_code == 200
    assert checkins_of(app, people["volunteer"].id) == []
    with arrange(app) as session:
        from volunteer_app.models import AuditEntry, Notice, User
        told = session.exec(select(Notice).where(Notice.user_id == people["coordinator"].id)).all()
        assert len(told) == 1 and "湖滨亭" in told[0].body  # sent twice, told once
        assert session.get(User, people["volunteer"].id).balance == 0
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "checkin.unscanned")).all()) == 1
    other = client.post("/queued/unscanned", data={**data, "checkpoint_id": str(other_id), "client_ref": "h2"},
                        headers={"HX-Request": "true"})
    assert other.status_code == 422 and "result-why" in other.get_data(as_text=True)
    too_old = client.post("/queued/unscanned", data={**data, "client_ref": "h3",
                                                      "scanned_at": iso(NOW - timedelta(days=2))})
    assert too_old.status_code == 302  # without htmx: a flash on the 待补交 page
    assert "超过 24 小时" in client.get("/queued").get_data(as_text=True)


def test_the_poster_says_what_to_do_without_signal(app, client, people):
    with arrange(app) as session:
        checkpoint(session, team=people["team"])
    client.post("/login", data={"csrf_token": csrf_token(client), "username": people["coordinator"].username,
                                "password": factories.PASSWORD})
    page = client.get("/manage/checkpoints/posters").get_data(as_text=True)
    assert "没有信号？有信号后再扫一次，或打开 义警 首页 → 待补交" in page


def test_pages_carry_the_queue_and_home_leads_to_it(client, people):
    login_walker(client)
    home = client.get("/").get_data(as_text=True)
    assert 'id="queue-box"' in home and "js/queue.js" in home and 'href="/queued"' in home
    assert "信号不好，签到已保存在手机上，有信号时会自动补交" in home
    assert '"timeout": 15000' in home


# -- the six digits of an event's live code, typed ----------------------------------------------

def test_six_typed_digits_find_the_running_event(app, client, people):
    with arrange(app) as session:
        ev_id = event(session, starts_at=NOW - timedelta(hours=1), hours=3).id
        event(session, starts_at=NOW - timedelta(hours=1), hours=3)  # another, whose code differs
    login_walker(client)
    full, _ = event_code(app, ev_id, NOW)
    digits = full.rsplit("-", 1)[1]
    answer = client.post("/scan", data={"csrf_token": csrf_token(client, "/scan"), "code": f" {digits} "})
    assert answer.status_code == 302 and answer.location.endswith(f"/c/{full}")
    old, _ = event_code(app, ev_id, NOW - timedelta(minutes=5))
    stale = client.post("/scan", data={"csrf_token": csrf_token(client, "/scan"), "code": old.rsplit("-", 1)[1]})
    assert stale.status_code == 410
    wrong = "000000" if digits != "000000" else "111111"
    refused = client.post("/scan", data={"csrf_token": csrf_token(client, "/scan"), "code": wrong})
    assert refused.status_code == 400
    with arrange(app) as session:
        from volunteer_app.models import Attempt
        assert len(session.exec(select(Attempt).where(Attempt.kind == "checkin_refused")).all()) == 2


def test_six_digits_of_an_event_of_another_station_find_nothing(app, client, people):
    from volunteer_app.models import Station
    with arrange(app) as session:
        other = Station(name="别的派出所")
        session.add(other)
        session.flush()
        ev = event(session, starts_at=NOW - timedelta(hours=1), hours=3)
        ev.station_id = other.id
        session.add(ev)
        ev_id = ev.id
    login_walker(client)
    full, _ = event_code(app, ev_id, NOW)
    answer = client.post("/scan", data={"csrf_token": csrf_token(client, "/scan"), "code": full.rsplit("-", 1)[1]})
    assert answer.status_code == 400
