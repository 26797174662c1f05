"""Checkpoints, posters, events, check-ins and the ledger over the JSON API (API.md)."""
from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import db, timeutil
from volunteer_app.models import Checkin, LedgerEntry, User
from volunteer_app.services import checkpoints, codes

from . import factories
from .factories import HANGZHOU, checkpoint, event
from .conftest import arrange, at_once


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session)
        people = {
            "team": team,
            "coordinator": factories.coordinator(session, team),
            "volunteer": factories.user(session, team=team),
            "other": factories.user(session, team=team),
            "admin": factories.admin(session),
        }
    return people


def create_checkpoint(api, user, **fields):
    body = {"name": "湖滨凉亭", **fields}
    return api.post("/api/v1/checkpoints", json=body, user=user)


def test_coordinator_places_a_checkpoint_with_defaults(api, people):
    response = create_checkpoint(api, people["coordinator"], team_id=people["team"].id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["radius_m"], body["points"], body["cooldown_minutes"], body["require_location"]) == (150, 5, 30, False)
    assert body["checkin_url"].startswith("https://patrol.example.cn/c/")
    assert body["last_scan_at"] is None


def test_volunteer_cannot_place_or_rotate_or_print(api, people):
    assert create_checkpoint(api, people["volunteer"]).status_code == 403
    with arrange(api.app) as session:
        cp = checkpoint(session)
    for path in (f"/api/v1/checkpoints/{cp.id}/qr.png", f"/api/v1/checkpoints/{cp.id}/qr.svg"):
        response = api.get(path, user=people["volunteer"])
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert api.post(f"/api/v1/checkpoints/{cp.id}/rotate-code", user=people["volunteer"]).status_code == 403


def test_coordinator_of_another_team_cannot_place_in_mine(api, people):
    with arrange(api.app) as session:
        stranger = factories.coordinator(session, factories.team(session))
    response = create_checkpoint(api, stranger, team_id=people["team"].id)
    assert response.status_code == 403


def test_list_shows_checkin_url_only_to_staff(api, people):
    create_checkpoint(api, people["coordinator"])
    staff = api.get("/api/v1/checkpoints", user=people["coordinator"]).get_json()["checkpoints"]
    volunteer = api.get("/api/v1/checkpoints", user=people["volunteer"]).get_json()["checkpoints"]
    assert staff[0]["checkin_url"] and "checkin_url" not in volunteer[0]
    assert api.get("/api/v1/checkpoints").status_code == 401


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) is not installed")
def test_png_poster_decodes_to_exactly_the_checkin_url(api, people, tmp_path):
    body = create_checkpoint(api, people["coordinator"]).get_json()
    response = api.get(f"/api/v1/checkpoints/{body['id']}/qr.png", user=people["coordinator"])
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = tmp_path / "poster.png"
    image.write_bytes(response.data)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True)
    assert decoded.stdout.rstrip("\n") == body["checkin_url"]


def test_svg_poster_is_an_svg_of_the_url(api, people):
    body = create_checkpoint(api, people["coordinator"]).get_json()
    response = api.get(f"/api/v1/checkpoints/{body['id']}/qr.svg", user=people["coordinator"])
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg") and "<path" in response.get_data(as_text=True)


def test_checkin_rotate_and_old_poster(api, people):
    body = create_checkpoint(api, people["coordinator"], points=7).get_json()
    response = api.post("/api/v1/checkins", json={"code": body["checkin_url"]}, user=people["volunteer"])
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert (out["kind"], out["checkpoint_id"], out["event_id"], out["points_awarded"], out["balance"],
            out["shift_id"]) == ("checkpoint", body["id"], None, 7, 7, None)
    assert out["created_at"].endswith("+08:00")
    rotated = api.post(f"/api/v1/checkpoints/{body['id']}/rotate-code", user=people["coordinator"]).get_json()
    assert rotated["checkin_url"] != body["checkin_url"]
    old = api.post("/api/v1/checkins", json={"code": body["checkin_url"]}, user=people["other"])
    assert old.status_code == 400 and old.get_json()["code"] == "invalid_code"
    assert old.mimetype == "application/problem+json"
    new = api.post("/api/v1/checkins", json={"code": rotated["checkin_url"]}, user=people["other"])
    assert new.status_code == 201
    listed = api.get("/api/v1/checkpoints", user=people["coordinator"]).get_json()["checkpoints"]
    assert listed[0]["last_scan_at"] is not None


def test_cooldown_and_client_ref(api, people):
    url = create_checkpoint(api, people["coordinator"]).get_json()["checkin_url"]
    first = api.post("/api/v1/checkins", json={"code": url, "client_ref": "tap-1"}, user=people["volunteer"])
    replay = api.post("/api/v1/checkins", json={"code": url, "client_ref": "tap-1"}, user=people["volunteer"])
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json() == first.get_json()
    again = api.post("/api/v1/checkins", json={"code": url, "client_ref": "tap-2"}, user=people["volunteer"])
    assert again.status_code == 409 and again.get_json()["code"] == "cooldown"
    assert "retry_at" in again.get_json()


def test_geofence_over_the_api(api, people):
    url = create_checkpoint(api, people["coordinator"], latitude=HANGZHOU[0], longitude=HANGZHOU[1],
                            require_location=True).get_json()["checkin_url"]
    missing = api.post("/api/v1/checkins", json={"code": url}, user=people["volunteer"])
    assert missing.status_code == 403 and missing.get_json()["code"] == "outside_geofence"
    far = api.post("/api/v1/checkins", json={"code": url, "latitude": HANGZHOU[0] + 0.01, "longitude": HANGZHOU[1]},
                   user=people["volunteer"])
    assert far.status_code == 403 and "1112" in far.get_json()["detail"] and far.get_json()["distance_m"] == 1112
    near = api.post("/api/v1/checkins", json={"code": url, "latitude": HANGZHOU[0], "longitude": HANGZHOU[1]},
                    user=people["volunteer"])
    assert near.status_code == 201


@pytest.mark.parametrize("body", [
    {}, {"code": ""}, {"code": 5}, {"code": "x", "extra": 1}, {"code": "x", "latitude": 91, "longitude": 0},
    {"code": "x", "latitude": "30", "longitude": 120}, {"code": "x", "client_ref": ""}, [], "x",
])
def test_bad_bodies_are_422(api, people, body):
    response = api.post("/api/v1/checkins", json=body, user=people["volunteer"])
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"


def test_garbage_codes_are_invalid(api, people):
    for code in ("hello", "https://patrol.example.cn/c/", "E1-123456x", "../../etc/passwd", "☃" * 300):
        response = api.post("/api/v1/checkins", json={"code": code}, user=people["volunteer"])
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_code", code


def test_event_flow(api, people, monkeypatch):
    now = timeutil.utcnow()
    body = {"title": "反诈茶话会", "starts_at": (now + timedelta(minutes=20)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(), "location": "社区活动室"}
    assert api.post("/api/v1/events", json=body, user=people["volunteer"]).status_code == 403
    naive = dict(body, starts_at="2026-11-23T08:00:00")
    assert api.post("/api/v1/events", json=naive, user=people["coordinator"]).status_code == 422
    created = api.post("/api/v1/events", json=body, user=people["coordinator"])
    assert created.status_code == 201, created.get_json()
    event_id = created.get_json()["id"]
    assert created.get_json()["points"] == 10
    assert api.get(f"/api/v1/events/{event_id}/code", user=people["volunteer"]).status_code == 403
    code = api.get(f"/api/v1/events/{event_id}/code", user=people["coordinator"]).get_json()
    assert code["checkin_url"] == "https://patrol.example.cn/c/" + code["code"]
    first = api.post("/api/v1/checkins", json={"code": code["checkin_url"]}, user=people["volunteer"])
    assert first.status_code == 201 and first.get_json()["kind"] == "event"
    assert first.get_json()["points_awarded"] == 10
    twice = api.post("/api/v1/checkins", json={"code": code["code"]}, user=people["volunteer"])
    assert twice.status_code == 409 and twice.get_json()["code"] == "already_checked_in"
    # Two minutes on, the code shown then is expired (the clock is injected, not slept on).
    monkeypatch.setattr(timeutil, "utcnow", lambda: now + timedelta(minutes=2))
    stale = api.post("/api/v1/checkins", json={"code": code["code"]}, user=people["other"])
    assert stale.status_code == 410 and stale.get_json()["code"] == "expired_code"
    monkeypatch.setattr(timeutil, "utcnow", lambda: now + timedelta(hours=3))
    late_code = api.get(f"/api/v1/events/{event_id}/code", user=people["coordinator"]).get_json()["code"]
    closed = api.post("/api/v1/checkins", json={"code": late_code}, user=people["other"])
    assert closed.status_code == 409 and closed.get_json()["code"] == "event_closed"


def test_checkin_list_and_authorization(api, people):
    with arrange(api.app) as session:
        cp = checkpoint(session)
        url = "https://patrol.example.cn/c/" + checkpoints.token(cp)
    api.post("/api/v1/checkins", json={"code": url}, user=people["volunteer"])
    own = api.get("/api/v1/checkins", user=people["volunteer"]).get_json()["checkins"]
    assert [row["checkpoint_id"] for row in own] == [cp.id] and own[0]["place_name"] == cp.name
    vid = people["volunteer"].id
    assert api.get(f"/api/v1/checkins?user_id={vid}", user=people["other"]).status_code == 403
    assert len(api.get(f"/api/v1/checkins?user_id={vid}", user=people["coordinator"]).get_json()["checkins"]) == 1
    future = (timeutil.utcnow() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert api.get(f"/api/v1/checkins?since={future}", user=people["volunteer"]).get_json()["checkins"] == []
    assert api.get("/api/v1/checkins?since=2026-01-01T00:00:00", user=people["volunteer"]).status_code == 422


def test_ledger_and_adjustments(api, people):
    vid = people["volunteer"].id
    assert api.get(f"/api/v1/users/{vid}/ledger", user=people["other"]).status_code == 403
    assert api.post(f"/api/v1/users/{vid}/adjustments", json={"amount": 5, "reason": "x"},
                    user=people["other"]).status_code == 403
    credit = api.post(f"/api/v1/users/{vid}/adjustments", json={"amount": 20, "reason": "补录纸质签到"},
                      user=people["coordinator"])
    assert credit.status_code == 201 and credit.get_json()["balance_after"] == 20
    debit = api.post(f"/api/v1/users/{vid}/adjustments", json={"amount": -21, "reason": "更正"},
                     user=people["coordinator"])
    assert debit.status_code == 409 and debit.get_json()["code"] == "insufficient_points"
    for bad in ({"amount": 0, "reason": "x"}, {"amount": 5, "reason": "  "}, {"amount": 1.5, "reason": "x"},
                {"amount": 5}):
        response = api.post(f"/api/v1/users/{vid}/adjustments", json=bad, user=people["coordinator"])
        assert response.status_code == 422, bad
    mine = api.get(f"/api/v1/users/{vid}/ledger", user=people["volunteer"]).get_json()
    assert (mine["balance"], mine["lifetime_points"]) == (20, 20)
    assert [(e["amount"], e["kind"], e["reason"]) for e in mine["entries"]] == [(20, "adjustment", "补录纸质签到")]
    assert api.get(f"/api/v1/users/{vid}/ledger", user=people["admin"]).status_code == 200


def test_leader_check_in_over_the_api(api, people):
    with arrange(api.app) as session:
        ev = event(session, team=people["team"], starts_at=timeutil.utcnow())
    body = {"user_id": people["volunteer"].id, "event_id": ev.id}
    assert api.post("/api/v1/checkins/on-behalf", json=body, user=people["other"]).status_code == 403
    response = api.post("/api/v1/checkins/on-behalf", json=body, user=people["coordinator"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["recorded_by_id"] == people["coordinator"].id
    with api.app.app_context():
        card, _ = codes.member_code(people["other"].id)
    by_card = api.post("/api/v1/checkins/on-behalf", json={"member_code": card, "event_id": ev.id},
                       user=people["coordinator"])
    assert by_card.status_code == 201 and by_card.get_json()["balance"] == 10


def _parallel(app, users_and_bodies):
    """POST each body at once from its own thread and test client; the status codes."""
    tokens = [factories.token_for(app, user) for user, _ in users_and_bodies]
    clients = [app.test_client() for _ in users_and_bodies]

    def run(index):
        response = clients[index].post("/api/v1/checkins", json=users_and_bodies[index][1],
                                       headers={"Authorization": f"Bearer {tokens[index]}"})
        return response.status_code, response.get_json()

    return at_once([lambda index=index: run(index) for index in range(len(users_and_bodies))])


def _count(app, model, **where):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        stmt = select(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return len(session.exec(stmt).all())


def test_twenty_parallel_identical_checkins_give_one(app, people):
    with arrange(app) as session:
        cp = checkpoint(session, points=5)
        url = "https://patrol.example.cn/c/" + checkpoints.token(cp)
    results = _parallel(app, [(people["volunteer"], {"code": url})] * 20)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, results
    assert {body["code"] for status, body in results if status == 409} == {"cooldown"}
    assert _count(app, Checkin, user_id=people["volunteer"].id) == 1
    assert _count(app, LedgerEntry, user_id=people["volunteer"].id) == 1
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as fresh:
        assert fresh.get(User, people["volunteer"].id).balance == 5


def test_twenty_parallel_double_taps_with_one_client_ref_all_answer_the_same(app, people):
    with arrange(app) as session:
        ev = event(session, starts_at=timeutil.utcnow())
        code, _ = codes.event_code(ev.id)
    results = _parallel(app, [(people["volunteer"], {"code": code, "client_ref": "same-tap"})] * 20)
    assert sorted({status for status, _ in results}) <= [200, 201], results
    assert [status for status, _ in results].count(201) == 1
    assert len({body["id"] for _, body in results}) == 1
    assert _count(app, Checkin, user_id=people["volunteer"].id) == 1


def test_openapi_lists_the_checkin_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/checkpoints", "/api/v1/checkpoints/{checkpoint_id}/qr.png", "/api/v1/checkins",
                 "/api/v1/events/{event_id}/code", "/api/v1/users/{user_id}/ledger",
                 "/api/v1/users/{user_id}/adjustments"):
        assert path in paths, path


# -- the limit on guessing codes ---------------------------------------------------------------------

def _age_refusals(app, minutes: int) -> None:
    """Move every recorded refusal ``minutes`` into the past (the window, without waiting)."""
    from volunteer_app.models import Attempt
    with arrange(app) as session:
        for row in session.exec(select(Attempt)).all():
            row.created_at -= timedelta(minutes=minutes)
            session.add(row)


def test_twenty_refused_codes_stop_every_check_in_of_that_user_for_the_window(app, api, people):
    with arrange(app) as session:
        cp = checkpoint(session)
        good = checkpoints.token(cp)
        ev = event(session, starts_at=timeutil.utcnow())
        stale, _ = codes.event_code(ev.id, timeutil.utcnow() - timedelta(minutes=5))
    guesses = [f"{100000 + n}" for n in range(18)] + ["not-a-token", stale]
    for guess in guesses:
        response = api.post("/api/v1/checkins", json={"code": guess}, user=people["volunteer"])
        assert response.get_json()["code"] in ("invalid_code", "expired_code"), response.get_json()
    for code in (good, "999999"):  # a right code too: every check-in of theirs
        blocked = api.post("/api/v1/checkins", json={"code": code}, user=people["volunteer"])
        assert blocked.status_code == 429 and blocked.get_json()["code"] == "too_many_attempts"
    assert api.post("/api/v1/checkins", json={"code": good}, user=people["other"]).status_code == 201
    _age_refusals(app, 11)
    assert api.post("/api/v1/checkins", json={"code": good}, user=people["volunteer"]).status_code == 201


def test_nineteen_refused_codes_leave_check_in_open(app, api, people):
    with arrange(app) as session:
        good = checkpoints.token(checkpoint(session))
    for n in range(19):
        assert api.post("/api/v1/checkins", json={"code": f"{200000 + n}"}, user=people["volunteer"]).status_code == 400
    assert api.post("/api/v1/checkins", json={"code": good}, user=people["volunteer"]).status_code == 201
