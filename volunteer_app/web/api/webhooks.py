"""Outgoing webhooks over JSON (a station's admins)."""
from __future__ import annotations

from ... import db
from ...schemas.common import Attrs, ListQuery
from ...schemas.webhooks import DeliveryList, WebhookCreate, WebhookList, WebhookOut
from ...services import webhooks
from .base import current_api_user, route


def _hook(hook, *, with_secret: bool = False) -> Attrs:
    return Attrs(hook, events=hook.event_list(), hidden=() if with_secret else ("secret",))


@route("/webhooks", "POST", summary="Subscribe a URL to events (its secret is shown only here)", tag="webhooks",
       body=WebhookCreate, response=WebhookOut, status=201, roles=("admin",))
def create_webhook(body: WebhookCreate):
    return _hook(webhooks.create_webhook(db.get_session(), current_api_user(), **body.model_dump()), with_secret=True)


@route("/webhooks", summary="The station's webhooks", tag="webhooks", response=WebhookList, roles=("admin",))
def list_webhooks():
    return {"webhooks": [_hook(hook) for hook in webhooks.list_webhooks(db.get_session(), current_api_user())]}


@route("/webhooks/<id:webhook_id>", "DELETE", summary="Delete a webhook (its pending deliveries are dropped)",
       tag="webhooks", roles=("admin",))
def delete_webhook(webhook_id: int):
    webhooks.delete_webhook(db.get_session(), current_api_user(), webhook_id)


@route("/webhooks/<id:webhook_id>/deliveries", summary="A webhook's deliveries, newest first", tag="webhooks",
       query=ListQuery, response=DeliveryList, roles=("admin",))
def list_deliveries(webhook_id: int, query: ListQuery):
    return {"deliveries": webhooks.deliveries(db.get_session(), current_api_user(), webhook_id, limit=query.limit)}
