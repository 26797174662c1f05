"""The chat-group formats (WeCom, DingTalk, Feishu), each checked by a receiver the way the
platform checks it, and the events the services emit."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import WebhookDelivery, Webhook
from volunteer_app.services import service, store, webhooks
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange

SECRET = "SEC0123456789abcdef"


def _hook(app, url, fmt, events=("tip.triaged",)):
    with arrange(app) as session:
        hook = Webhook(station_id=factories.station(session).id, url=url, events=",".join(events), format=fmt,
                       secret=SECRET)
        session.add(hook)
        session.flush()
        return hook


def _deliver(app):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        return webhooks.deliver_due(session)


def _red_fraud_tip(app, api):
    with arrange(app) as session:
        team = factories.team(session)
        boss = factories.coordinator(session, team)
        tip = factories.tip(session, factories.user(session, team=team), category="fraud", place="湖滨路")
    response = api.post(f"/api/v1/tips/{tip.id}/triage", user=boss, json={"level": "red"})
    assert response.status_code == 200
    return tip


def _checked_text(app, text, tip):
    assert text.startswith("【红色线索】湖滨路 · ")
    assert "请在 1 天内处置" in text
    assert text.endswith(f"https://patrol.example.cn/manage/tips#tip-{tip.id}")


def test_wecom_posts_its_text_message(app, api, receiver):
    _hook(app, receiver.url + "/cgi-bin/webhook/send?key=abc", "wecom")
    tip = _red_fraud_tip(app, api)
    _deliver(app)
    [got] = receiver.requests
    assert got.path == "/cgi-bin/webhook/send?key=abc" and "X-Webhook-Signature" not in got.headers
    body = got.json()
    assert body["msgtype"] == "text" and set(body) == {"msgtype", "text"}
    _checked_text(app, body["text"]["content"], tip)


def test_dingtalk_signs_the_url_as_its_robots_require(app, api, receiver):
    _hook(app, receiver.url + "/robot/send?access_token=tok", "dingtalk")
    tip = _red_fraud_tip(app, api)
    _deliver(app)
    [got] = receiver.requests
    query = parse_qs(urlsplit(got.path).query)  # parse_qs undoes the URL encoding, as DingTalk does
    assert query["access_token"] == ["tok"]
    stamp = query["timestamp"][0]
    assert abs(int(stamp) - time.time() * 1000) < 3_600_000  # DingTalk refuses stamps over an hour off
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]
    body = got.json()
    assert body["msgtype"] == "text"
    _checked_text(app, body["text"]["content"], tip)


def test_feishu_signs_the_body_as_its_robots_require(app, api, receiver):
    _hook(app, receiver.url + "/open-apis/bot/v2/hook/xyz", "feishu")
    tip = _red_fraud_tip(app, api)
    _deliver(app)
    [got] = receiver.requests
    body = got.json()
    stamp = body["timestamp"]
    assert abs(int(stamp) - time.time()) < 3600
    expected = base64.b64encode(hmac.new(f"{stamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected and body["msg_type"] == "text"
    _checked_text(app, body["content"]["text"], tip)


def test_a_wrong_secret_does_not_pass_the_check(app):
    """The receivers' checks above can fail: a signature made with another secret differs."""
    hook = Webhook(station_id=1, url="http://127.0.0.1/robot/send?access_token=t", events="tip.triaged",
                   format="dingtalk", secret="SECother")
    delivery = WebhookDelivery(id=1, station_id=1, webhook_id=1, event="webhook.test",
                               payload='{"id": 1, "event": "webhook.test", "data": {}}',
                               next_attempt_at=utcnow(), give_up_at=utcnow())
    with app.app_context():
        url, _body, _headers = webhooks.build_request(hook, delivery, now=1_700_000_000)
    query = parse_qs(urlsplit(url).query)
    right = base64.b64encode(hmac.new(SECRET.encode(), f"1700000000000\n{SECRET}".encode(), hashlib.sha256).digest())
    assert query["timestamp"] == ["1700000000000"] and query["sign"] != [right.decode()]


# --- the events ------------------------------------------------------------------------------

def _events(app):
    with arrange(app) as session:
        return [(row.event, row.payload) for row in session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))]


def test_a_makeup_request_is_service_pending(app, receiver):
    _hook(app, receiver.url, "json", events=("service.pending",))
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        volunteer = factories.user(session)
        record = service.request_makeup(session, volunteer, kind="patrol", started_at=utcnow() - timedelta(hours=3),
                                        ended_at=utcnow() - timedelta(hours=2), place="湖滨路", note="忘了扫码")
    [(event, payload)] = _events(app)
    assert event == "service.pending" and f'"id": {record.id}' in payload and '"status": "pending"' in payload


def test_the_redemption_that_takes_stock_to_its_threshold_is_low_stock_once(app, receiver):
    _hook(app, receiver.url, "json", events=("store.low_stock",))
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteer = factories.user(session, balance=100)
        item = factories.store_item(session, cost=1, stock=5, name="保温杯")
        for _ in range(4):
            store.redeem(session, clerk, user_id=volunteer.id, item_id=item.id)
    [(event, payload)] = _events(app)
    assert event == "store.low_stock" and '"stock": 3' in payload and '"name": "保温杯"' in payload


def test_a_shift_short_of_people_is_told_once(app, receiver):
    _hook(app, receiver.url, "json", events=("shift.understaffed",))
    with arrange(app) as session:
        team = factories.team(session)
        soon = utcnow() + timedelta(hours=5)
        short = factories.shift(session, team, starts_at=soon, ends_at=soon + timedelta(hours=2), capacity=2)
        factories.shift(session, team, starts_at=soon + timedelta(days=2), ends_at=soon + timedelta(days=2, hours=2))
    for _ in range(2):
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
            webhooks.understaffed_pass(session)
    [(event, payload)] = _events(app)
    assert event == "shift.understaffed" and f'"id": {short.id}' in payload and '"confirmed_count": 0' in payload
    _deliver(app)
    [got] = receiver.requests
    assert got.json()["data"]["capacity"] == 2
