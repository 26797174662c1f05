"""Care visits (关爱走访) on the phone: my households and who is due, a household's page (its
personal data, audited), logging a visit with an optional photo and a concern; the register for
coordinators (new households, open concerns)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import FieldError
from ...services import care, images, service
from ..params import form_ids, form_span
from . import bp
from .common import field_errors, flash_and_redirect, role_required, unit_of_work

TEXT_LIMIT = 600


def _text(name: str) -> str:
    return (request.form.get(name) or "")[:TEXT_LIMIT]


def _labels() -> dict:
    return {"kind": care.KIND_LABELS, "condition": care.CONDITION_LABELS,
            "state": {"overdue": _("Overdue"), "due": _("Due soon"), "ok": _("Not yet due")}}


@bp.get("/care")
@login_required
def care_list():
    """My households (a volunteer's), or the station's register (coordinators, admins)."""
    session_db = db.get_session()
    actor = current_user._get_current_object()
    mine = request.args.get("mine") == "1" or not care.is_staff(actor)
    rows = care.list_households(session_db, actor, mine=mine)
    concerns = care.open_concerns(session_db, actor) if care.is_staff(actor) else []
    return render_template("pages/care/list.html", rows=rows, mine=mine, concerns=concerns, labels=_labels(),
                           staff=care.is_staff(actor))


def _new_form(errors: dict | None = None, status: int = 200):
    people = service.members_for_entry(db.get_session(), current_user._get_current_object())
    return render_template("pages/care/new.html", errors=errors or {}, values=request.form, people=people,
                           kinds=list(care.KIND_LABELS), labels=_labels(),
                           chosen=set(request.form.getlist("volunteer_ids"))), status


def _new_refused(error, **_kwargs):
    return _new_form(field_errors(error), 422 if error.status != 409 else 409)


@bp.route("/care/new", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_new_refused)
def care_new():
    """Register a household to visit."""
    if request.method == "GET":
        return _new_form()
    every = (request.form.get("visit_every_days") or "").strip()[:4]
    if not every.isascii() or not every.isdigit():
        raise FieldError("visit_every_days", _("Enter a whole number of days."))
    household = care.create_household(
        db.get_session(), current_user._get_current_object(), kind=_text("kind"), label=_text("label"),
        grid=_text("grid"), name=_text("name"), address=_text("address"), contact=_text("contact"),
        needs=_text("needs"), visit_every_days=int(every), volunteer_ids=form_ids("volunteer_ids"))
    flash(_("Household registered."), "success")
    return redirect(url_for("pages.care_household", household_id=household.id))


def _household_page(household_id: int):
    session_db = db.get_session()
    actor = current_user._get_current_object()
    opened = care.open_household(session_db, actor, household_id)
    return render_template("pages/care/household.html", opened=opened, labels=_labels(),
                           staff=care.is_staff(actor))


@bp.get("/care/<id:household_id>")
@login_required
@unit_of_work(error_page=("forbidden", "not_found"), writes=True)
def care_household(household_id: int):
    """A household's page: its personal data (the opening is audited), its visits, the visit form."""
    return _household_page(household_id)


@bp.post("/care/<id:household_id>/visits")
@login_required
@unit_of_work(on_error=flash_and_redirect(lambda household_id: url_for("pages.care_household",
                                                                      household_id=household_id)),
              error_page=("forbidden", "not_found"))
def care_log_visit(household_id: int):
    """Log a visit: a care_visit service record for each volunteer who went."""
    start, end = form_span("day", "start", "end")
    session_db = db.get_session()
    actor = current_user._get_current_object()
    upload = request.files.get("photo")
    data = images.read_upload(upload.stream) if upload and upload.filename else b""
    visit = care.log_visit(session_db, actor, household_id, started_at=start, ended_at=end,
                           visitor_ids=form_ids("visitor_ids"), condition=_text("condition") or "well",
                           note=_text("note"), concern=request.form.get("concern") == "1",
                           concern_note=_text("concern_note"))
    if data:
        folder = care.photo_dir(current_app.instance_path)
        care.add_photo(session_db, actor, visit.id, data, folder=folder)
    flash(_("Visit logged. The hours count for everyone who went."), "success")
    return redirect(url_for("pages.care_household", household_id=household_id))


@bp.post("/care/visits/<id:visit_id>/close-concern")
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(lambda **_kwargs: url_for("pages.care_list")))
def care_close_concern(visit_id: int):
    care.close_concern(db.get_session(), current_user._get_current_object(), visit_id)
    flash(_("Concern marked as dealt with."), "success")
    return redirect(url_for("pages.care_list"))


@bp.get("/care/visits/<id:visit_id>/photo")
@login_required
@unit_of_work(error_page=("forbidden", "not_found"), writes=True)
def care_photo(visit_id: int):
    path = care.photo_path(db.get_session(), current_user._get_current_object(), visit_id,
                           folder=care.photo_dir(current_app.instance_path))
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
