"""The admin's webhooks page: subscriptions, their recent deliveries with status codes, a test
event, and sending a failed delivery again."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ... import db
from ...services import webhooks
from . import bp
from .common import flash_and_redirect, role_required, unit_of_work

EVENT_LABELS = {
    "tip.created": _l("A tip is reported"),
    "tip.triaged": _l("A tip is triaged (red, yellow, blue)"),
    "shift.understaffed": _l("A shift within 24 hours is short of people"),
    "callout.created": _l("A call-out is sent"),
    "callout.answered": _l("A call-out is answered"),
    "service.pending": _l("Service hours wait for review"),
    "store.low_stock": _l("An item runs low"),
    "care.concern": _l("A care visit raises a concern"),
}
FORMAT_LABELS = {"json": _l("JSON (signed), for a command platform"), "wecom": _l("WeCom group robot"),
                 "dingtalk": _l("DingTalk group robot"), "feishu": _l("Feishu group robot")}
STATUS_LABELS = {"pending": _l("Waiting"), "delivered": _l("Delivered"), "failed": _l("Failed")}


def _to_list(*_args, **_kwargs) -> str:
    return url_for("pages.webhooks_page")


@bp.get("/manage/webhooks")
@role_required("admin")
def webhooks_page():
    session = db.get_session()
    hooks = webhooks.list_webhooks(session, current_user)
    recent = {hook.id: webhooks.deliveries(session, current_user, hook.id, limit=10) for hook in hooks}
    return render_template("pages/webhooks/index.html", hooks=hooks, recent=recent, event_labels=EVENT_LABELS,
                           format_labels=FORMAT_LABELS, status_labels=STATUS_LABELS)


@bp.post("/manage/webhooks")
@role_required("admin")
@unit_of_work(on_error=flash_and_redirect(_to_list))
def webhook_create():
    fmt = request.form.get("format") or "json"
    hook = webhooks.create_webhook(db.get_session(), current_user._get_current_object(),
                                   url=(request.form.get("url") or "").strip()[:2000],
                                   events=request.form.getlist("events"),
                                   format=fmt if fmt in FORMAT_LABELS else "json",
                                   secret=(request.form.get("secret") or "").strip()[:200] or None)
    flash(_("Saved. Its secret, shown only now: %(secret)s", secret=hook.secret), "success")
    return redirect(_to_list())


@bp.post("/manage/webhooks/<id:webhook_id>/test")
@role_required("admin")
@unit_of_work(on_error=flash_and_redirect(_to_list))
def webhook_test(webhook_id: int):
    webhooks.send_test(db.get_session(), current_user._get_current_object(), webhook_id)
    flash(_("A test message is on its way; its result appears below in a few seconds."), "success")
    return redirect(_to_list())


@bp.post("/manage/webhooks/<id:webhook_id>/delete")
@role_required("admin")
@unit_of_work(on_error=flash_and_redirect(_to_list))
def webhook_delete(webhook_id: int):
    webhooks.delete_webhook(db.get_session(), current_user._get_current_object(), webhook_id)
    flash(_("Deleted. Nothing more is sent to it."), "success")
    return redirect(_to_list())


@bp.post("/manage/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver")
@role_required("admin")
@unit_of_work(on_error=flash_and_redirect(_to_list))
def webhook_redeliver(webhook_id: int, delivery_id: int):
    webhooks.redeliver(db.get_session(), current_user._get_current_object(), webhook_id, delivery_id)
    flash(_("It will be sent again in a few seconds."), "success")
    return redirect(_to_list())
