"""The mediation room (调解) on the phone: the case log and a new case (a dispute tip can become
one), the follow-up visit, and the mediator pool for coordinators."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import FieldError
from ...services import mediation, service
from ..params import form_ids, form_span
from . import bp
from .common import field_errors, flash_and_redirect, role_required, unit_of_work

TEXT_LIMIT = 1100


def _text(name: str) -> str:
    return (request.form.get(name) or "")[:TEXT_LIMIT]


def _labels() -> dict:
    return {"kind": mediation.DISPUTE_LABELS, "outcome": mediation.OUTCOME_LABELS,
            "satisfaction": mediation.SATISFACTION_LABELS}


@bp.get("/mediation")
@login_required
def mediation_list():
    """The case log: the station's (coordinators, admins) or the cases I mediated."""
    session_db = db.get_session()
    actor = current_user._get_current_object()
    cases = mediation.list_cases(session_db, actor, limit=100)
    return render_template("pages/mediation/list.html", cases=cases, labels=_labels(), staff=mediation.is_staff(actor))


def _people():
    actor = current_user._get_current_object()
    people = service.members_for_entry(db.get_session(), actor) if mediation.is_staff(actor) else []
    return [actor] + [person for person in people if person.id != actor.id]


def _new_form(errors: dict | None = None, status: int = 200):
    return render_template("pages/mediation/new.html", errors=errors or {}, values=request.form, people=_people(),
                           labels=_labels(), tip_id=request.values.get("tip_id", "")[:12],
                           chosen=set(request.form.getlist("mediator_ids")) or {str(current_user.id)}), status


def _new_refused(error, **_kwargs):
    return _new_form(field_errors(error), 409 if error.status == 409 else 422)


@bp.route("/mediation/new", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_new_refused)
def mediation_new():
    """Log a mediation case: its time becomes mediation hours for each mediator."""
    if request.method == "GET":
        return _new_form()
    start, end = form_span("day", "start", "end")
    tip_raw = (request.form.get("tip_id") or "").strip()[:12]
    if tip_raw and not (tip_raw.isascii() and tip_raw.isdigit()):
        raise FieldError("tip_id", _("No such tip."))
    case = mediation.log_case(db.get_session(), current_user._get_current_object(), started_at=start, ended_at=end,
                              place=_text("place"), parties=_text("parties"), dispute_kind=_text("dispute_kind"),
                              mediator_ids=form_ids("mediator_ids"), outcome=_text("outcome"),
                              agreement_note=_text("agreement_note"), tip_id=int(tip_raw) if tip_raw else None)
    flash(_("Case logged. The time counts as hours for each mediator."), "success")
    return redirect(url_for("pages.mediation_case", case_id=case.id))


@bp.get("/mediation/<id:case_id>")
@login_required
@unit_of_work(error_page=("forbidden", "not_found"))
def mediation_case(case_id: int):
    session_db = db.get_session()
    case = mediation.get_case(session_db, current_user._get_current_object(), case_id)
    return render_template("pages/mediation/case.html", case=case, names=mediation.mediator_names(session_db, case.id),
                           labels=_labels())


@bp.post("/mediation/<id:case_id>/follow-up")
@login_required
@unit_of_work(on_error=flash_and_redirect(lambda case_id: url_for("pages.mediation_case", case_id=case_id)),
              error_page=("forbidden", "not_found"))
def mediation_follow_up(case_id: int):
    mediation.follow_up(db.get_session(), current_user._get_current_object(), case_id,
                        satisfaction=_text("satisfaction"), note=_text("note"))
    flash(_("Follow-up recorded."), "success")
    return redirect(url_for("pages.mediation_case", case_id=case_id))


@bp.get("/mediation/pool")
@role_required("coordinator")
def mediation_pool():
    """Who mediates: cases and settlements (for the 金牌调解员 award)."""
    entries = mediation.pool(db.get_session(), current_user._get_current_object())
    return render_template("pages/mediation/pool.html", entries=entries)
