"""Text messages (SMS): queued with call-outs and shift reminders for those who want them, at most
three a person a day (also under parallel call-outs, on both engines), sent by the delivery
worker through the logging sender or the HTTP gateway adapter (a local receiver), retried on
failure without touching the in-app notice."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import db, settings, sms
from volunteer_app.models import Notice, SmsMessage
from volunteer_app.services import callouts, notices, shifts, sms_queue
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once

PHONE = "13800138000"


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session, "湖滨巡逻队")
        other = factories.team(session, "孤山巡逻队")
        return {"team": team, "coordinator": factories.coordinator(session, team),
                "texted": factories.user(session, team=team, phone=PHONE),
                "no_phone": factories.user(session, team=team),
                "sms_off": factories.user(session, team=team, phone="13900139000"),
                "elsewhere": factories.user(session, team=other, phone="13700137000")}


def _messages(app, **where):
    with arrange(app, write=False) as session:
        query = select(SmsMessage).order_by(SmsMessage.id)
        for name, value in where.items():
            query = query.where(getattr(SmsMessage, name) == value)
        return list(session.exec(query))


def _call_out(app, people, title="湖滨路走失老人", **kwargs):
    with app.test_request_context("/"), db.unit_of_work(app.extensions["db_engine"]) as session:
        coordinator = session.merge(people["coordinator"])
        return callouts.create(session, coordinator, title=title, needed=2, place="湖滨路",
                               team_ids=[people["team"].id], **kwargs)


def _deliver(app, sender=None):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        return sms.deliver_due(session, sender=sender)


def test_a_call_out_texts_the_addressed_who_want_it_and_tells_everyone_addressed_in_the_app(app, people):
    with arrange(app) as session:
        notices.set_preferences(session, session.merge(people["sms_off"]), sms={"callouts": False})
    made = _call_out(app, people)
    [message] = _messages(app)
    assert message.user_id == people["texted"].id and message.kind == "callout" and message.status == "pending"
    assert message.text.startswith("【紧急召集】湖滨路走失老人") and "湖滨路" in message.text
    assert "https://patrol.example.cn/" in message.text and len(message.text) <= 300
    assert not hasattr(message, "phone")  # the number is read when sent, never kept with the message
    with arrange(app, write=False) as session:
        told = {row.user_id for row in session.exec(select(Notice).where(Notice.kind == "callout"))}
    assert told == {people["texted"].id, people["no_phone"].id, people["sms_off"].id}  # not the sender, not others
    assert made.id


def test_a_call_out_muted_in_the_app_still_texts_and_vice_versa(app, people):
    with arrange(app) as session:
        notices.set_preferences(session, session.merge(people["texted"]), kinds={"callouts": False})
    _call_out(app, people)
    assert [row.user_id for row in _messages(app)] == [people["texted"].id, people["sms_off"].id]
    with arrange(app, write=False) as session:
        assert session.exec(select(Notice).where(Notice.user_id == people["texted"].id)).all() == []


def test_at_most_three_a_day_then_again_the_next_day(app, people):
    for index in range(5):
        _call_out(app, people, title=f"第{index}次召集")
    texted = _messages(app, user_id=people["texted"].id)
    assert sorted(row.slot for row in texted) == [1, 2, 3]
    with app.test_request_context("/"), db.unit_of_work(app.extensions["db_engine"]) as session:
        coordinator = session.merge(people["coordinator"])
        callouts.create(session, coordinator, title="明天的召集", needed=1, team_ids=[people["team"].id],
                        now=utcnow() + timedelta(days=1))
    assert len(_messages(app, user_id=people["texted"].id)) == 4  # a new day, a new three


def test_parallel_call_outs_to_one_person_never_make_a_fourth_text(app, people):
    token = factories.token_for(app, people["coordinator"])
    clients = [app.test_client() for _ in range(6)]

    def send(client, index):
        response = client.post("/api/v1/callouts", headers={"Authorization": f"Bearer {token}"},
                               json={"title": f"并发召集{index}", "needed": 1, "team_ids": [people["team"].id]})
        return response.status_code

    assert at_once([lambda c=c, i=i: send(c, i) for i, c in enumerate(clients)]) == [201] * 6
    for person in ("texted", "sms_off"):
        assert sorted(row.slot for row in _messages(app, user_id=people[person].id)) == [1, 2, 3]
    with arrange(app, write=False) as session:
        assert len(session.exec(select(Notice).where(Notice.user_id == people["texted"].id)).all()) == 6


def test_a_shift_reminder_texts_once(app, people):
    with arrange(app) as session:
        start = utcnow().replace(microsecond=0) + timedelta(hours=3)
        checkpoint = factories.checkpoint(session, team=people["team"])
        shift = factories.shift(session, people["team"], starts_at=start, ends_at=start + timedelta(hours=2),
                                route=[checkpoint])
        for who in ("texted", "no_phone"):
            shifts.signup(session, session.merge(people[who]), shift.id)
    for _ in range(2):
        with app.test_request_context("/"), db.unit_of_work(app.extensions["db_engine"]) as session:
            shifts.remind(session)
    [message] = _messages(app)
    assert message.user_id == people["texted"].id and message.kind == "shift_reminder"
    assert message.text.startswith("【班次提醒】") and f"/shifts/{shift.id}" in message.text


def test_the_logging_sender_keeps_only_a_masked_number(app, people, caplog):
    _call_out(app, people)
    with caplog.at_level(logging.INFO, logger="volunteer_app.sms"):
        assert _deliver(app) == 2
    assert "138****8000" in caplog.text and PHONE not in caplog.text
    assert {row.status for row in _messages(app)} == {"sent"}
    assert _deliver(app) == 0  # a sent message is never sent again
    assert sms.mask("+86 139-0013-9000") == "861******9000" and sms.mask("12345") == "*****"


def test_the_http_gateway_gets_json_with_the_bearer_token(app, people, receiver):
    app.config.update(SMS_SENDER="http", SMS_GATEWAY_URL=receiver.url + "/sms/send", SMS_GATEWAY_TOKEN="t0ken")
    _call_out(app, people)
    assert _deliver(app) == 2
    assert {got.path for got in receiver.requests} == {"/sms/send"}
    assert {got.headers["Authorization"] for got in receiver.requests} == {"Bearer t0ken"}
    bodies = sorted((got.json()["phone"], got.json()["text"][:7]) for got in receiver.requests)
    assert bodies == [(PHONE, "【紧急召集】湖"), ("13900139000", "【紧急召集】湖")]
    assert {row.status for row in _messages(app)} == {"sent"}


def test_a_failing_gateway_is_retried_and_the_notice_stays(app, people, receiver):
    app.config.update(SMS_SENDER="http", SMS_GATEWAY_URL=receiver.url, SMS_GATEWAY_TOKEN="t")
    receiver.statuses = [500, 503]
    _call_out(app, people)
    assert _deliver(app) == 2
    rows = _messages(app)
    assert {row.status for row in rows} == {"pending"} and {row.attempts for row in rows} == {1}
    assert {row.last_error for row in rows} == {"HTTP 500", "HTTP 503"}
    assert all(row.next_attempt_at > utcnow() for row in rows)
    with arrange(app, write=False) as session:
        assert len(session.exec(select(Notice).where(Notice.kind == "callout")).all()) == 3
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        later = utcnow() + timedelta(minutes=1)
        claimed = sms_queue.claim(session, limit=5, now=later)
        assert len(claimed) == 2
        for message, _phone in claimed:
            sms_queue.finish(session, message, ok=True, now=later)
    assert {row.status for row in _messages(app)} == {"sent"}


def test_the_gateway_is_guarded_like_a_webhook(app, people, receiver):
    app.config.update(SMS_SENDER="http", SMS_GATEWAY_URL=receiver.url, WEBHOOK_ALLOW_PRIVATE=False)
    _call_out(app, people)
    with settings.configured(app.config):
        _deliver(app)
    assert receiver.requests == []
    assert {row.last_error for row in _messages(app)} == {"address refused: unresolvable or in a private network"}
    for url in ("ftp://example.cn/sms", "", "http://"):
        app.config.update(SMS_GATEWAY_URL=url)
        with pytest.raises(sms.SmsFailed, match="must be an http"), app.app_context():
            sms.sender_from_settings().send(PHONE, "x")
    app.config.update(SMS_SENDER="carrier-pigeon")
    with pytest.raises(sms.SmsFailed), app.app_context():
        sms.sender_from_settings().send(PHONE, "x")


def test_a_gateway_that_hangs_is_given_up_on_after_the_timeout(app, people, receiver):
    app.config.update(SMS_SENDER="http", SMS_GATEWAY_URL=receiver.url, SMS_TIMEOUT_SECONDS=0.3)
    receiver.hang = threading.Event()
    _call_out(app, people)
    _deliver(app)
    assert all("timed out" in row.last_error.lower() and row.status == "pending" for row in _messages(app))


def test_a_person_who_lost_their_number_is_not_texted(app, people):
    _call_out(app, people)
    with arrange(app) as session:
        session.merge(people["texted"]).phone = None
    _deliver(app, sender=sms.LogSender())
    statuses = {row.user_id: (row.status, row.last_error) for row in _messages(app)}
    assert statuses[people["texted"].id] == ("failed", "no phone number")
    assert statuses[people["sms_off"].id] == ("sent", "")


def test_the_delivery_worker_sends_texts_too(app, people):
    from volunteer_app import delivery
    _call_out(app, people)
    delivery.run_once(app)
    assert {row.status for row in _messages(app)} == {"sent"}
