"""The admin's webhooks page: add, test, see deliveries with status codes, send a failed one again."""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import Webhook, WebhookDelivery
from volunteer_app.services import webhooks

from . import factories
from .conftest import arrange, csrf_token, signed_in
from .receiver import start_receiver


def _deliver(app):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        return webhooks.deliver_due(session)


def test_an_admin_adds_a_webhook_tests_it_and_sends_a_failed_delivery_again(app):
    receiver = start_receiver()
    try:
        with arrange(app) as session:
            admin = factories.admin(session)
        client = signed_in(app, admin)
        hub = client.get("/manage").get_data(as_text=True)
        assert "/manage/webhooks" in hub
        token = csrf_token(client, "/manage/webhooks")
        made = client.post("/manage/webhooks", data={"csrf_token": token, "url": receiver.url + "/in",
                                                     "format": "json", "events": ["tip.created"]})
        assert made.status_code == 302
        with arrange(app) as session:
            [hook] = session.exec(select(Webhook)).all()
        assert hook.secret in client.get("/manage/webhooks").get_data(as_text=True)  # shown once, flashed
        assert hook.secret not in client.get("/manage/webhooks").get_data(as_text=True)
        receiver.statuses[:] = [500]
        client.post(f"/manage/webhooks/{hook.id}/test", data={"csrf_token": token})
        _deliver(app)
        with db.unit_of_work(app.extensions["db_engine"]) as session:
            session.execute(update(WebhookDelivery).values(status="failed"))
        page = client.get("/manage/webhooks").get_data(as_text=True)
        assert "HTTP 500" in page and "redeliver" in page
        [delivery_id] = [row.id for row in _rows(app)]
        again = client.post(f"/manage/webhooks/{hook.id}/deliveries/{delivery_id}/redeliver",
                            data={"csrf_token": token})
        assert again.status_code == 302
        _deliver(app)
        assert [row.status for row in _rows(app)] == ["delivered"]
        assert len(receiver.requests) == 2
        assert "HTTP 200" in client.get("/manage/webhooks").get_data(as_text=True)
        refused = client.post(f"/manage/webhooks/{hook.id}/deliveries/{delivery_id}/redeliver",
                              data={"csrf_token": token}, follow_redirects=True)
        assert refused.status_code == 200 and _rows(app)[0].status == "delivered"
    finally:
        receiver.close()


def _rows(app):
    with arrange(app) as session:
        return list(session.exec(select(WebhookDelivery)))


def test_a_bad_address_is_refused_with_a_message_and_nothing_saved(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    with arrange(app) as session:
        admin = factories.admin(session)
    client = signed_in(app, admin)
    token = csrf_token(client, "/manage/webhooks")
    for url in ("ftp://x.cn/", "http://192.168.1.1/", ""):
        page = client.post("/manage/webhooks", data={"csrf_token": token, "url": url, "events": ["tip.created"]},
                           follow_redirects=True)
        assert page.status_code == 200
    with arrange(app) as session:
        assert session.exec(select(Webhook)).all() == []


def test_coordinators_do_not_reach_the_page(app):
    with arrange(app) as session:
        coordinator = factories.coordinator(session, factories.team(session))
    client = signed_in(app, coordinator)
    assert client.get("/manage/webhooks").status_code == 403
    assert "/manage/webhooks" not in client.get("/manage").get_data(as_text=True)
