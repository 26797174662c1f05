"""Call-outs over the API: sending, answering (callout_closed after expiry, a close, or when full),
arrivals (points once), the station's fence, and parallel answers on both engines."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import Callout, LedgerEntry, Station, User, WebhookDelivery, Webhook
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once


def _world(app, volunteers=3):
    with arrange(app) as session:
        team = factories.team(session, "湖滨巡逻队")
        other_team = factories.team(session, "孤山巡逻队")
        return {"coordinator": factories.coordinator(session, team), "team": team, "other_team": other_team,
                "admin": factories.admin(session),
                "volunteers": [factories.user(session, team=team) for _ in range(volunteers)],
                "outsider": factories.user(session, team=other_team)}


def _send(api, who, **body):
    response = api.post("/api/v1/callouts", user=who, json={"title": "湖滨路走失老人,帮忙寻找", "needed": 2, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_coordinator_sends_a_call_out_and_volunteers_answer(app, api):
    world = _world(app)
    made = _send(api, world["coordinator"], place="湖滨路", team_ids=[world["team"].id], points=5)
    assert (made["status"], made["coming_count"], made["needed"], made["team_ids"]) == ("open", 0, 2, [world["team"].id])
    first, second, third = world["volunteers"]
    listed = api.get("/api/v1/callouts?status=open", user=first).get_json()["callouts"]
    assert [item["id"] for item in listed] == [made["id"]]
    assert api.get("/api/v1/callouts?status=open", user=world["outsider"]).get_json() == {"callouts": []}
    answer = api.post(f"/api/v1/callouts/{made['id']}/answer", user=first, json={"answer": "coming"})
    assert answer.status_code == 201 and answer.get_json()["answer"] == "coming" and answer.get_json()["answered_at"]
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=second, json={"answer": "coming"})
    full = api.post(f"/api/v1/callouts/{made['id']}/answer", user=third, json={"answer": "coming"})
    assert full.status_code == 409 and full.get_json()["code"] == "callout_closed"
    assert api.post(f"/api/v1/callouts/{made['id']}/answer", user=third,
                    json={"answer": "cannot"}).status_code == 201  # "cannot" is taken while it is open
    # a second answer replaces the first: the place is given back
    assert api.post(f"/api/v1/callouts/{made['id']}/answer", user=second, json={"answer": "cannot"}).status_code == 201
    assert api.post(f"/api/v1/callouts/{made['id']}/answer", user=third, json={"answer": "coming"}).status_code == 201
    shown = api.get(f"/api/v1/callouts/{made['id']}", user=world["coordinator"]).get_json()
    assert shown["coming_count"] == 2
    refused = api.post(f"/api/v1/callouts/{made['id']}/answer", user=world["outsider"], json={"answer": "coming"})
    assert refused.status_code == 403


def test_answers_after_expiry_or_close_are_callout_closed(app, api):
    world = _world(app)
    expiring = _send(api, world["coordinator"], expires_in_minutes=1)
    closing = _send(api, world["coordinator"])
    with db.unit_of_work(app.extensions["db_engine"]) as session:
        session.execute(update(Callout).where(Callout.id == expiring["id"])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    volunteer = world["volunteers"][0]
    for answer in ("coming", "cannot"):
        late = api.post(f"/api/v1/callouts/{expiring['id']}/answer", user=volunteer, json={"answer": answer})
        assert late.status_code == 409 and late.get_json()["code"] == "callout_closed"
    closed = api.post(f"/api/v1/callouts/{closing['id']}/close", user=world["coordinator"])
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    after = api.post(f"/api/v1/callouts/{closing['id']}/answer", user=volunteer, json={"answer": "coming"})
    assert after.get_json()["code"] == "callout_closed"
    assert api.get("/api/v1/callouts?status=open", user=volunteer).get_json() == {"callouts": []}
    assert len(api.get("/api/v1/callouts?status=closed", user=volunteer).get_json()["callouts"]) == 2


def test_an_arrival_earns_the_points_once_as_a_service_entry(app, api):
    world = _world(app)
    made = _send(api, world["coordinator"], points=8)
    volunteer = world["volunteers"][0]
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json={"answer": "coming"})
    for expected in (8, 0):
        response = api.post(f"/api/v1/callouts/{made['id']}/arrived", user=world["coordinator"],
                            json={"user_id": volunteer.id})
        assert response.status_code == 200 and response.get_json()["points_awarded"] == expected
    with arrange(app) as session:
        entries = session.exec(select(LedgerEntry).where(LedgerEntry.user_id == volunteer.id)).all()
        assert [(entry.kind, entry.amount) for entry in entries] == [("service", 8)]
        assert session.get(User, volunteer.id).balance == 8
    assert api.post(f"/api/v1/callouts/{made['id']}/arrived", user=world["coordinator"],
                    json={"user_id": world["coordinator"].id}).status_code == 403  # not for oneself


def test_volunteers_may_not_send_mark_or_close(app, api):
    world = _world(app)
    made = _send(api, world["coordinator"])
    volunteer = world["volunteers"][0]
    assert api.post("/api/v1/callouts", user=volunteer, json={"x": 1}).status_code == 403
    assert api.post(f"/api/v1/callouts/{made['id']}/close", user=volunteer).status_code == 403
    assert api.post(f"/api/v1/callouts/{made['id']}/arrived", user=volunteer,
                    json={"user_id": volunteer.id}).status_code == 403


def test_another_stations_call_out_is_not_found(app, api):
    world = _world(app)
    made = _send(api, world["coordinator"])
    with arrange(app) as session:
        other = Station(name="孤山派出所")
        session.add(other)
        session.flush()
        stranger = factories.admin(session, station_row=other)
        stranger_team = factories.team(session, "外所", station_row=other)
    assert api.get(f"/api/v1/callouts/{made['id']}", user=stranger).status_code == 404
    assert api.post(f"/api/v1/callouts/{made['id']}/close", user=stranger).get_json()["code"] == "not_found"
    assert api.get("/api/v1/callouts", user=stranger).get_json() == {"callouts": []}
    wrong_team = api.post("/api/v1/callouts", user=world["coordinator"],
                          json={"title": "支援", "needed": 1, "team_ids": [stranger_team.id]})
    assert wrong_team.status_code == 404


def test_a_double_tapped_answer_with_one_client_ref_answers_once(app, api):
    world = _world(app)
    made = _send(api, world["coordinator"])
    volunteer = world["volunteers"][0]
    body = {"answer": "coming", "client_ref": "tap-1"}
    first = api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json=body)
    again = api.post(f"/api/v1/callouts/{made['id']}/answer", user=volunteer, json=body)
    assert (first.status_code, again.status_code) == (201, 200) and first.get_json() == again.get_json()


def test_call_outs_reach_the_webhooks(app, api):
    world = _world(app)
    with arrange(app) as session:
        session.add(Webhook(station_id=world["team"].station_id, url="http://127.0.0.1:9/x",
                            events="callout.created,callout.answered", format="json", secret="s" * 20))
    made = _send(api, world["coordinator"])
    api.post(f"/api/v1/callouts/{made['id']}/answer", user=world["volunteers"][0], json={"answer": "coming"})
    with arrange(app) as session:
        rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [row.event for row in rows] == ["callout.created", "callout.answered"]
    assert '"coming_count": 1' in rows[1].payload


def test_parallel_answers_take_exactly_the_places_needed(app):
    world = _world(app, volunteers=10)
    with arrange(app) as session:
        coordinator = session.merge(world["coordinator"])
        from volunteer_app import settings
        with settings.configured(app.config):
            from volunteer_app.services import callouts
            callout_id = callouts.create(session, coordinator, title="夜里需要三人巡逻", needed=3).id
    tokens = [factories.token_for(app, volunteer) for volunteer in world["volunteers"]]
    clients = [app.test_client() for _ in tokens]

    def run(client, token):
        response = client.post(f"/api/v1/callouts/{callout_id}/answer", json={"answer": "coming"},
                               headers={"Authorization": f"Bearer {token}"})
        return response.status_code if response.status_code < 400 else response.get_json()["code"]

    results = at_once([lambda c=c, t=t: run(c, t) for c, t in zip(clients, tokens)])
    assert Counter(results) == {201: 3, "callout_closed": 7}
    with arrange(app) as session:
        assert session.get(Callout, callout_id).coming_count == 3
