"""Outgoing webhooks: the API, the outbox written with the change, and the delivery worker against
a real HTTP receiver, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from volunteer_app import db, delivery, settings
from volunteer_app.models import Webhook, WebhookDelivery
from volunteer_app.services import outbox, tips, webhooks
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once
from .receiver import start_receiver


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session)
        return {"admin": factories.admin(session), "coordinator": factories.coordinator(session, team),
                "volunteer": factories.user(session, team=team), "team": team}


def _hook(app, url, events=("tip.created", "tip.triaged"), fmt="json", secret="s3cret-key"):
    with arrange(app) as session:
        station = factories.station(session)
        hook = Webhook(station_id=station.id, url=url, events=",".join(events), format=fmt, secret=secret)
        session.add(hook)
        session.flush()
        return hook


def _deliver(app):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        return webhooks.deliver_due(session)


def _deliveries(app):
    with arrange(app) as session:
        return list(session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _tip(app, reporter, **fields):
    with arrange(app) as session:
        return factories.tip(session, reporter, place="湖滨路", **fields)


# --- the API ---------------------------------------------------------------------------------

def test_admin_makes_lists_and_deletes_a_webhook(api, people, receiver):
    admin = people["admin"]
    made = api.post("/api/v1/webhooks", user=admin, json={"url": receiver.url + "/hook", "events": ["tip.created"]})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["format"] == "json" and body["events"] == ["tip.created"] and len(body["secret"]) >= 20
    listed = api.get("/api/v1/webhooks", user=admin).get_json()["webhooks"]
    assert [hook["id"] for hook in listed] == [body["id"]] and "secret" not in listed[0]
    assert api.get(f"/api/v1/webhooks/{body['id']}/deliveries", user=admin).get_json() == {"deliveries": []}
    assert api.delete(f"/api/v1/webhooks/{body['id']}", user=admin).status_code == 204
    assert api.get("/api/v1/webhooks", user=admin).get_json() == {"webhooks": []}
    assert api.get(f"/api/v1/webhooks/{body['id']}/deliveries", user=admin).status_code == 404


def test_only_admins_and_before_the_body(api, people):
    for who in ("coordinator", "volunteer"):
        response = api.post("/api/v1/webhooks", user=people[who], json={"url": 5})
        assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
        assert api.get("/api/v1/webhooks", user=people[who]).status_code == 403


def test_another_stations_webhook_is_not_found(app, api, people, receiver):
    hook = _hook(app, receiver.url)
    with arrange(app) as session:
        from volunteer_app.models import Station
        other = Station(name="孤山派出所")
        session.add(other)
        session.flush()
        stranger = factories.admin(session, station_row=other)
    assert api.get(f"/api/v1/webhooks/{hook.id}/deliveries", user=stranger).status_code == 404
    assert api.delete(f"/api/v1/webhooks/{hook.id}", user=stranger).get_json()["code"] == "not_found"
    assert api.get("/api/v1/webhooks", user=stranger).get_json() == {"webhooks": []}


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://example.cn/x", "events": ["tip.created"]}, "url"),
    ({"url": "javascript:alert(1)", "events": ["tip.created"]}, "url"),
    ({"url": "http://", "events": ["tip.created"]}, "url"),
    ({"url": "http://example.cn:99999/", "events": ["tip.created"]}, "url"),
    ({"url": "http://127.0.0.1/", "events": []}, "events"),
    ({"url": "http://127.0.0.1/", "events": ["tip.deleted"]}, "events.0"),
    ({"url": "http://127.0.0.1/", "events": ["tip.created"], "format": "slack"}, "format"),
    ({"url": "http://127.0.0.1/", "events": ["tip.created"], "secret": "short"}, "secret"),
    ({"url": "http://127.0.0.1/", "events": "tip.created"}, "events"),
])
def test_bad_webhooks_are_422(api, people, body, field):
    response = api.post("/api/v1/webhooks", user=people["admin"], json=body)
    assert response.status_code == 422, response.get_json()
    assert field in [error["field"] for error in response.get_json()["errors"]]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/",
                                 "http://192.168.1.20/", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/", "https://[::ffff:10.0.0.1]/", "http://0.0.0.0/"])
def test_private_addresses_are_refused_unless_allowed(app, api, people, url):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    response = api.post("/api/v1/webhooks", user=people["admin"], json={"url": url, "events": ["tip.created"]})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "url"
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    assert api.post("/api/v1/webhooks", user=people["admin"],
                    json={"url": url, "events": ["tip.created"]}).status_code == 201


def test_a_public_address_is_accepted_and_a_private_one_refused_again_at_send_time(app, people, receiver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    with settings.configured(app.config):
        assert webhooks.public_addresses("1.1.1.1", 443) == ["1.1.1.1"]
    hook = _hook(app, receiver.url)  # made while private addresses were allowed
    _tip(app, people["volunteer"])
    assert _deliver(app) == 1
    assert receiver.requests == []
    [row] = _deliveries(app)
    assert row.status == "pending" and row.last_status_code is None and "private" in row.last_error
    assert hook.id == row.webhook_id


# --- the outbox ------------------------------------------------------------------------------

def test_the_event_is_written_with_the_change_and_not_without_it(app, people, receiver):
    _hook(app, receiver.url)
    with app.app_context(), settings.configured(app.config), \
            db.unit_of_work(app.extensions["db_engine"]) as session:
        factories.tip(session, session.merge(people["volunteer"]))
        session.rollback()
    assert _deliveries(app) == []
    tip = _tip(app, people["volunteer"])
    [row] = _deliveries(app)
    assert (row.event, row.status, row.attempts, row.station_id) == ("tip.created", "pending", 0, tip.station_id)


def test_a_webhook_hears_only_its_events_and_what_happens_after_it_is_made(app, people, receiver):
    _tip(app, people["volunteer"])
    _hook(app, receiver.url, events=("tip.triaged",))
    _tip(app, people["volunteer"])
    assert _deliveries(app) == []


def test_a_deleted_webhook_hears_nothing_more_and_its_pending_deliveries_are_dropped(app, api, people, receiver):
    hook = _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    assert api.delete(f"/api/v1/webhooks/{hook.id}", user=people["admin"]).status_code == 204
    _tip(app, people["volunteer"])
    assert [row.status for row in _deliveries(app)] == ["failed"]
    assert _deliver(app) == 0 and receiver.requests == []


# --- delivering --------------------------------------------------------------------------------

def test_a_json_delivery_is_signed_and_carries_the_tip_as_the_api_shows_it(app, api, people, receiver):
    _hook(app, receiver.url + "/in?x=1", secret="s3cret-key")
    tip = _tip(app, people["volunteer"])
    assert _deliver(app) == 1
    [got] = receiver.requests
    expected = hmac.new(b"s3cret-key", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Webhook-Signature"] == f"sha256={expected}"
    assert got.path == "/in?x=1" and got.headers["X-Webhook-Event"] == "tip.created"
    body = got.json()
    [row] = _deliveries(app)
    assert got.headers["X-Webhook-Delivery"] == str(row.id) == str(body["id"])
    assert body["event"] == "tip.created" and body["station_id"] == tip.station_id and body["occurred_at"]
    shown = api.get(f"/api/v1/tips/{tip.id}", user=people["volunteer"]).get_json()
    assert body["data"] == shown
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert _deliver(app) == 0 and len(receiver.requests) == 1  # a delivered one is never sent again


def test_triage_tells_the_level(app, api, people, receiver):
    _hook(app, receiver.url, events=("tip.triaged",))
    tip = _tip(app, people["volunteer"])
    api.post(f"/api/v1/tips/{tip.id}/triage", user=people["coordinator"], json={"level": "red"})
    _deliver(app)
    [got] = receiver.requests
    assert got.json()["event"] == "tip.triaged" and got.json()["data"]["level"] == "red"


def test_failures_are_retried_with_growing_pauses_then_given_up(app, people, receiver):
    _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    receiver.statuses[:] = [500, 503]
    assert _deliver(app) == 1
    [row] = _deliveries(app)
    first_pause = row.next_attempt_at - utcnow()
    assert row.status == "pending" and row.last_status_code == 500 and first_pause <= timedelta(seconds=60)
    engine = app.extensions["db_engine"]
    with db.unit_of_work(engine) as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    assert _deliver(app) == 1
    [row] = _deliveries(app)
    second_pause = row.next_attempt_at - utcnow()
    assert row.attempts == 2 and row.last_status_code == 503 and second_pause > first_pause
    receiver.statuses[:] = [500]
    with db.unit_of_work(engine) as session:  # the 24 hours are over
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow(), give_up_at=utcnow()))
    _deliver(app)
    [row] = _deliveries(app)
    assert (row.status, row.attempts) == ("failed", 3)
    assert _deliver(app) == 0 and len(receiver.requests) == 3


def test_the_pauses_grow_and_stay_within_a_day():
    pauses = [outbox.pause_after(n) for n in range(1, 12)]
    assert pauses[0] <= timedelta(seconds=60)
    assert pauses == sorted(pauses) and pauses[-1] <= timedelta(hours=24)


def test_a_redirect_is_a_failure_and_is_not_followed(app, people, receiver):
    _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    receiver.statuses[:] = [302]
    _deliver(app)
    assert [got.path for got in receiver.requests] == ["/"]
    [row] = _deliveries(app)
    assert (row.status, row.last_status_code, row.delivered_at) == ("pending", 302, None)


def test_a_receiver_that_hangs_is_given_up_on_after_the_timeout(app, people, receiver):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    receiver.hang = threading.Event()
    _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    _deliver(app)
    [row] = _deliveries(app)
    assert row.status == "pending" and row.last_status_code is None and "timed out" in row.last_error.lower()


def test_a_worker_killed_mid_delivery_leaves_it_to_be_sent_again_once(app, people, receiver):
    _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    engine = app.extensions["db_engine"]
    with app.app_context(), db.unit_of_work(engine) as dead, db.unit_of_work(engine) as live:
        [(claimed, _hook_row)] = outbox.claim(dead)  # and then this worker dies
        assert outbox.claim(live) == []  # held by its lease
        later = utcnow() + outbox.LEASE + timedelta(seconds=1)
        [(again, _)] = outbox.claim(live, now=later)
        assert again.id == claimed.id and again.attempts == 2 and again.claim != claimed.claim
        outbox.finish(dead, claimed, ok=True, status_code=200)  # the dead worker's late word changes nothing
    [row] = _deliveries(app)
    assert row.status == "pending"


def test_two_workers_never_send_one_delivery_twice(app, people, receiver):
    _hook(app, receiver.url)
    with arrange(app) as session:
        volunteer = session.merge(people["volunteer"])
        for index in range(30):
            tips.submit(session, volunteer, category="fraud", description=f"第{index}条")
    made = at_once([lambda: _deliver(app)] * 2)
    ids = [got.headers["X-Webhook-Delivery"] for got in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30 and sum(made) == 30
    assert {row.status for row in _deliveries(app)} == {"delivered"}


def test_the_background_worker_delivers_by_itself(app, people, receiver):
    app.config["DELIVERY_POLL_SECONDS"] = 0.05
    _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    thread, stop = delivery.start(app)
    try:
        for _ in range(400):
            if receiver.requests:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert len(receiver.requests) == 1 and receiver.requests[0].headers["X-Webhook-Event"] == "tip.created"


def test_deliver_once_drains_the_outbox(app, people, receiver):
    _hook(app, receiver.url)
    for _ in range(3):
        _tip(app, people["volunteer"])
    assert delivery.run_once(app) == (0, 3)
    assert len(receiver.requests) == 3


def test_the_deliveries_endpoint_shows_attempts_and_status_codes(app, api, people, receiver):
    hook = _hook(app, receiver.url)
    _tip(app, people["volunteer"])
    receiver.statuses[:] = [500]
    _deliver(app)
    [shown] = api.get(f"/api/v1/webhooks/{hook.id}/deliveries", user=people["admin"]).get_json()["deliveries"]
    assert (shown["event"], shown["status"], shown["attempts"], shown["last_status_code"], shown["delivered_at"]) == \
        ("tip.created", "pending", 1, 500, None)


def test_outbox_rows_count_per_listening_webhook(app, people, receiver):
    _hook(app, receiver.url)
    _hook(app, receiver.url + "/second")
    _tip(app, people["volunteer"])
    with arrange(app) as session:
        assert session.exec(select(func.count()).select_from(WebhookDelivery)).one() == 2


def test_a_receiver_that_hangs_holds_up_one_sender_not_the_rest(app, people, receiver):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 30
    stuck = start_receiver()
    stuck.hang = threading.Event()
    try:
        _hook(app, stuck.url)  # its delivery is claimed first
        _hook(app, receiver.url)
        _tip(app, people["volunteer"])
        worker = threading.Thread(target=delivery.deliver_all, args=(app,))
        worker.start()
        for _ in range(200):
            if receiver.requests:
                break
            threading.Event().wait(0.05)
        assert len(receiver.requests) == 1 and not stuck.hang.is_set()
        stuck.hang.set()
        worker.join(60)
    finally:
        stuck.close()
    assert {row.status for row in _deliveries(app)} == {"delivered"}
