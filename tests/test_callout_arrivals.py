"""Arrivals from a check-in: a call-out may name a checkpoint as its place; someone who answered
我来 and checks in there while it is open is marked arrived by the check-in itself, in its
transaction, with the call-out's points once (a manual mark or a second scan gives nothing more,
also when they come at once)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import Callout, CalloutAnswer, LedgerEntry, Station, User
from volunteer_app.services import checkpoints
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once, csrf_token, sign_in


def _world(app, cooldown=30):
    with arrange(app) as session:
        team = factories.team(session, "湖滨巡逻队")
        place = factories.checkpoint(session, team=team, name="断桥", points=5, cooldown_minutes=cooldown)
        elsewhere = factories.checkpoint(session, team=team, name="白堤", points=5, cooldown_minutes=cooldown)
        return {"coordinator": factories.coordinator(session, team), "team": team, "place": place,
                "elsewhere": elsewhere, "poster": checkpoints.token(place), "other_poster": checkpoints.token(elsewhere),
                "volunteers": [factories.user(session, team=team) for _ in range(3)]}


def _send(api, world, **body):
    response = api.post("/api/v1/callouts", user=world["coordinator"],
                        json={"title": "断桥需要支援", "needed": 3, "points": 8, "checkpoint_id": world["place"].id, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _callout_entries(app, user_id):
    with arrange(app, write=False) as session:
        return list(session.exec(select(LedgerEntry).where(LedgerEntry.user_id == user_id,
                                                           LedgerEntry.ref.like("callout:%"))))


def _answer_row(app, callout_id, user_id):
    with arrange(app, write=False) as session:
        return session.exec(select(CalloutAnswer).where(CalloutAnswer.callout_id == callout_id,
                                                        CalloutAnswer.user_id == user_id)).first()


def test_a_check_in_at_the_place_marks_someone_coming_arrived_with_the_points_once(app, api):
    world = _world(app)
    made = _send(api, world)
    assert made["checkpoint_id"] == world["place"].id and made["place"] == "断桥"  # the checkpoint names the place
    volunteer = world["volunteers"][0]
    assert api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json={"answer": "coming"}).status_code == 201
    scan = api.post("/api/v1/checkins", user=volunteer, json={"code": world["poster"]})
    assert scan.status_code == 201
    assert scan.get_json()["balance"] == 5 + 8  # the scan's points and the call-out's, in one answer
    row = _answer_row(app, made["id"], volunteer.id)
    assert row.arrived_at is not None and row.arrived_marked_by is None
    assert [entry.amount for entry in _callout_entries(app, volunteer.id)] == [8]
    manual = api.post(f"/api/v1/callouts/{made['id']}/arrived", user=world["coordinator"], json={"user_id": volunteer.id})
    assert manual.status_code == 200 and manual.get_json()["points_awarded"] == 0
    assert [entry.amount for entry in _callout_entries(app, volunteer.id)] == [8]
    with arrange(app, write=False) as session:
        assert session.get(User, volunteer.id).balance == 13


def test_only_someone_coming_at_that_checkpoint_while_it_is_open_arrives(app, api):
    world = _world(app, cooldown=0)
    made = _send(api, world)
    coming, cannot, silent = world["volunteers"]
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=coming, json={"answer": "coming"})
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=cannot, json={"answer": "cannot"})
    for who in (cannot, silent):
        assert api.post("/api/v1/checkins", user=who, json={"code": world["poster"]}).status_code == 201
        assert _callout_entries(app, who.id) == []
    assert api.post("/api/v1/checkins", user=coming, json={"code": world["other_poster"]}).status_code == 201
    assert _answer_row(app, made["id"], coming.id).arrived_at is None  # another checkpoint
    api.post(f"/api/v1/callouts/{made['id']}/close", user=world["coordinator"])
    assert api.post("/api/v1/checkins", user=coming, json={"code": world["poster"]}).status_code == 201
    assert _answer_row(app, made["id"], coming.id).arrived_at is None  # closed
    assert _callout_entries(app, coming.id) == []


def test_an_expired_call_out_or_one_without_a_checkpoint_marks_nobody(app, api):
    world = _world(app, cooldown=0)
    expired = _send(api, world)
    plain = _send(api, world, checkpoint_id=None)
    volunteer = world["volunteers"][0]
    for made in (expired, plain):
        api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json={"answer": "coming"})
    with db.unit_of_work(app.extensions["db_engine"]) as session:
        session.execute(update(Callout).where(Callout.id == expired["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert api.post("/api/v1/checkins", user=volunteer, json={"code": world["poster"]}).status_code == 201
    assert _callout_entries(app, volunteer.id) == []


def test_a_second_scan_gives_nothing_more(app, api):
    world = _world(app, cooldown=0)
    made = _send(api, world)
    volunteer = world["volunteers"][0]
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json={"answer": "coming"})
    balances = [api.post("/api/v1/checkins", user=volunteer, json={"code": world["poster"]}).get_json()["balance"]
                for _ in range(2)]
    assert balances == [13, 18]  # the second scan: its own 5 points, no call-out points
    assert len(_callout_entries(app, volunteer.id)) == 1


def test_parallel_scans_and_a_manual_mark_pay_once(app):
    world = _world(app, cooldown=0)
    api = factories.ApiClient(app)
    made = _send(api, world)
    volunteer = world["volunteers"][0]
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json={"answer": "coming"})
    volunteer_token = factories.token_for(app, volunteer)
    boss_token = factories.token_for(app, world["coordinator"])
    clients = [app.test_client() for _ in range(5)]

    def scan(client):
        return client.post("/api/v1/checkins", json={"code": world["poster"]},
                           headers={"Authorization": f"Bearer {volunteer_token}"}).status_code

    def mark(client):
        return client.post(f"/api/v1/callouts/{made['id']}/arrived", json={"user_id": volunteer.id},
                           headers={"Authorization": f"Bearer {boss_token}"}).status_code

    results = at_once([lambda c=c: scan(c) for c in clients[:4]] + [lambda: mark(clients[4])])
    assert results == [201, 201, 201, 201, 200]
    assert [entry.amount for entry in _callout_entries(app, volunteer.id)] == [8]
    with arrange(app, write=False) as session:
        assert session.get(User, volunteer.id).balance == 4 * 5 + 8


def test_a_checkpoint_of_another_station_or_none_at_all_is_refused(app, api):
    world = _world(app)
    with arrange(app) as session:
        other = Station(name="孤山派出所")
        session.add(other)
        session.flush()
        foreign = factories.checkpoint(session, station_row=other, name="孤山")
    refused = api.post("/api/v1/callouts", user=world["coordinator"],
                       json={"title": "x", "needed": 1, "checkpoint_id": foreign.id})
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    missing = api.post("/api/v1/callouts", user=world["coordinator"], json={"title": "x", "needed": 1,
                                                                             "checkpoint_id": 999999})
    assert missing.status_code == 404
    for bad in ("1", 1.5, -1, 0, True, "断桥"):
        response = api.post("/api/v1/callouts", user=world["coordinator"], json={"title": "x", "needed": 1,
                                                                                  "checkpoint_id": bad})
        assert response.status_code == 422, (bad, response.get_json())


def test_the_three_tap_form_offers_the_checkpoint(app, client, english_pages):
    world = _world(app)
    sign_in(client, world["coordinator"])
    page = client.get("/callouts/new").get_data(as_text=True)
    assert 'name="checkpoint_id"' in page and "断桥" in page
    token = csrf_token(client, "/callouts/new")
    sent = client.post("/callouts", data={"csrf_token": token, "title": "Help needed on patrol now", "needed": "2",
                                          "checkpoint_id": str(world["place"].id)})
    assert sent.status_code == 302
    with arrange(app, write=False) as session:
        [callout] = session.exec(select(Callout)).all()
        assert callout.checkpoint_id == world["place"].id and callout.place == "断桥"
    bad = client.post("/callouts", data={"csrf_token": token, "title": "x", "checkpoint_id": "²"})
    assert bad.status_code in (302, 400, 422)
    with arrange(app, write=False) as session:
        assert len(session.exec(select(Callout)).all()) == 1


def test_the_check_in_page_says_the_arrival(app, client, english_pages):
    world = _world(app)
    api = factories.ApiClient(app)
    made = _send(api, world)
    volunteer = world["volunteers"][0]
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json={"answer": "coming"})
    sign_in(client, volunteer)
    token = csrf_token(client, f"/c/{world['poster']}")
    done = client.post(f"/c/{world['poster']}", data={"csrf_token": token}, follow_redirects=True)
    assert "Arrival recorded for the call-out: 断桥需要支援" in done.get_data(as_text=True)
    assert _answer_row(app, made["id"], volunteer.id).arrived_at is not None
