"""The audit trail for admins: search by actor, action, target and dates, newest first, paged."""
from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ... import db
from ...services import audit, reports
from ...parsing import BadValue, parse_day
from ..params import arg_id, arg_page
from . import bp
from .common import render, role_required


def _date(name: str, errors: dict) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_day(raw)
    except BadValue as error:
        errors[name] = error.message
        return None


@bp.get("/manage/audit")
@role_required("admin")
def audit_page():
    session = db.get_session()
    errors: dict = {}
    filters = {
        "actor": (request.args.get("actor") or "").strip()[:64],
        "action": (request.args.get("action") or "").strip()[:64],
        "target_type": (request.args.get("target_type") or "").strip()[:32],
        "target_id": arg_id("target_id"),
        "from": _date("from", errors),
        "to": _date("to", errors),
    }
    page = arg_page(100_000)
    rows, more = reports.audit_search(session, current_user, actor_query=filters["actor"], action=filters["action"],
                                      target_type=filters["target_type"], target_id=filters["target_id"],
                                      first=filters["from"], last=filters["to"], page=page)
    args = {key: (value.isoformat() if isinstance(value, date) else value)
            for key, value in filters.items() if value not in (None, "")}
    return render("pages/audit/index.html", "pages/audit/_results.html", rows=rows, more=more, page=page,
                  filters=filters, args=args, errors=errors, actions=reports.audit_actions(session, current_user),
                  action_label=audit.action_label)
