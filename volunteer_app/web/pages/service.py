"""Service records on the phone: my records and the make-up form (volunteers), signing out of a
duty, the review queue, a member's records and an entry for a member (coordinators)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import FieldError
from ...settings import setting
from ...services import accounts, assessment, identity, images, reports, service
from ..params import form_id, form_span
from . import bp
from .common import field_errors, flash_error, role_required, settle_service, unit_of_work

TEXT_LIMIT = 600


@bp.app_template_global()
def service_kinds() -> list:
    """The signed-in person's station's kinds of service (for the forms that offer them)."""
    return service.kinds(db.get_session(), current_user.station_id)


def _text(name: str) -> str:
    return (request.form.get(name) or "")[:TEXT_LIMIT]


@bp.get("/me/service")
@login_required
def my_service():
    """My records, month by month, with hours and points, and the duty I am on."""
    settle_service(current_user.id)
    session_db = db.get_session()
    me, records = service.records_of(session_db, current_user, current_user.id)
    return render_template("pages/service/mine.html", me=me, months=service.by_month(records),
                           running=service.running(session_db, current_user),
                           kind_names=_kind_names(session_db), labels=_labels())


def _kind_names(session_db) -> dict[str, str]:
    return {kind.key: kind.name for kind in service.kinds(session_db, current_user.station_id, include_inactive=True)}


def _labels() -> dict:
    return {"source": service.SOURCE_LABELS, "status": service.STATUS_LABELS}


def _makeup_form(errors: dict | None = None, status: int = 200):
    session_db = db.get_session()
    return render_template("pages/service/makeup.html", errors=errors or {}, values=request.form,
                           kinds=service.kinds(session_db, current_user.station_id),
                           max_days=setting("MAKEUP_MAX_DAYS")), status


def _makeup_refused(error, **_kwargs):
    return _makeup_form(field_errors(error), 409 if error.status == 409 else 422)


@bp.route("/me/service/makeup", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_makeup_refused)
def makeup_new():
    """Ask for hours that were not scanned (补录): a coordinator confirms them."""
    if request.method == "GET":
        return _makeup_form()
    start, end = form_span("day", "start", "end")
    upload = request.files.get("photo")
    photo = images.read_upload(upload.stream) if upload and upload.filename else None
    service.request_makeup(db.get_session(), current_user._get_current_object(), kind=_text("kind"),
                           started_at=start, ended_at=end, place=_text("place"), note=_text("note"),
                           checkpoint_id=form_id("checkpoint_id"), photo=photo,
                           folder=service.photo_dir(current_app.instance_path))
    flash(_("Sent. Your coordinator will look at it; you will get a notice either way."), "success")
    return redirect(url_for("pages.my_service"))


@bp.get("/service/<id:record_id>/photo")
@login_required
def service_photo(record_id: int):
    """A make-up's photo, for the person and their coordinators."""
    path = service.photo(db.get_session(), current_user, record_id,
                         folder=service.photo_dir(current_app.instance_path))
    response = send_file(path, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back_home(error, **_kwargs):
    flash_error(error)
    return redirect(url_for("pages.home"))


@bp.post("/me/service/<id:record_id>/sign-out")
@login_required
@unit_of_work(on_error=_back_home)
def duty_sign_out(record_id: int):
    """The big 签退 button of a running duty (with the phone's position when the post asks)."""
    latitude, longitude = _position()
    record = service.sign_out(db.get_session(), current_user._get_current_object(), record_id,
                              latitude=latitude, longitude=longitude)
    hours, minutes = divmod(record.minutes, 60)
    flash(_("Signed out. %(hours)s h %(minutes)s min served.", hours=hours, minutes=minutes)
          if record.status == "confirmed" else
          _("Signed out. The duty was longer than the post allows: your coordinator will confirm the time."),
          "success")
    return redirect(url_for("pages.home"))


def _position() -> tuple[float | None, float | None]:
    try:
        latitude = float(request.form.get("latitude") or "nan")
        longitude = float(request.form.get("longitude") or "nan")
    except ValueError:
        return None, None
    if latitude != latitude or longitude != longitude or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return latitude, longitude


# -- coordinators ---------------------------------------------------------------------------------

@bp.get("/staff/service")
@role_required("coordinator")
def service_queue():
    """Records waiting for my review: make-ups and duties left open too long."""
    settle_service()
    session_db = db.get_session()
    return render_template("pages/service/queue.html", rows=service.pending_for(session_db, current_user),
                           kind_names=_kind_names(session_db), labels=_labels())


def _to_queue(error, **_kwargs):
    flash_error(error)
    return redirect(url_for("pages.service_queue"))


@bp.post("/staff/service/<id:record_id>/confirm")
@role_required("coordinator")
@unit_of_work(on_error=_to_queue)
def service_confirm(record_id: int):
    """Confirm, correcting the times when the form gives them."""
    start, end = form_span("day", "start", "end") if request.form.get("day") else (None, None)
    record = service.confirm(db.get_session(), current_user._get_current_object(), record_id, started_at=start,
                             ended_at=end, note=_text("note"))
    hours = "%.1f" % (record.minutes / 60)
    flash(_("Confirmed: %(hours)s hours.", hours=hours), "success")
    return redirect(url_for("pages.service_queue"))


@bp.post("/staff/service/<id:record_id>/reject")
@role_required("coordinator")
@unit_of_work(on_error=_to_queue)
def service_reject(record_id: int):
    service.reject(db.get_session(), current_user._get_current_object(), record_id, note=_text("note"))
    flash(_("Rejected. The volunteer has been told why."), "success")
    return redirect(url_for("pages.service_queue"))


@bp.get("/staff/users/<id:user_id>/service")
@role_required("coordinator")
def member_service(user_id: int):
    """A member's records (their coordinators and admins)."""
    session_db = db.get_session()
    member, records = service.records_of(session_db, current_user, user_id)
    p, period_errors = reports.period_or_default(request.args.get("from"), request.args.get("to"))
    record = assessment.person_record(session_db, current_user, member.id, p.start, p.end)
    return render_template("pages/service/member.html", member=member, months=service.by_month(records),
                           kind_names=_kind_names(session_db), labels=_labels(), record=record, p=p,
                           period_errors=period_errors)


def _entry_form(errors: dict | None = None, status: int = 200):
    session_db = db.get_session()
    return render_template("pages/service/entry.html", errors=errors or {}, values=request.values,
                           kinds=service.kinds(session_db, current_user.station_id),
                           members=service.members_for_entry(session_db, current_user)), status


def _entry_refused(error, **_kwargs):
    return _entry_form(field_errors(error), 409 if error.status == 409 else (403 if error.status == 403 else 422))


@bp.route("/staff/service/entry", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_entry_refused)
def service_entry():
    """Record service for a member without a smartphone (confirmed at once, audited)."""
    if request.method == "GET":
        return _entry_form()
    start, end = form_span("day", "start", "end")
    user_id = form_id("user_id")
    if user_id is None:
        raise FieldError("user_id", _("Choose a member."))
    record = service.record_entry(db.get_session(), current_user._get_current_object(), user_id=user_id,
                                  kind=_text("kind"), started_at=start, ended_at=end, place=_text("place"),
                                  note=_text("note"))
    member = accounts.get_user(db.get_session(), current_user, record.user_id)
    hours = "%.1f" % (record.minutes / 60)
    flash(_("Recorded %(hours)s hours for %(name)s.", hours=hours, name=member.display_name), "success")
    return redirect(url_for("pages.member_service", user_id=record.user_id))


# -- my identity for the official systems ---------------------------------------------------------

def _identity_form(errors: dict | None = None, status: int = 200):
    me = current_user._get_current_object()
    return render_template("pages/service/identity.html", errors=errors or {}, me=me,
                           masked=identity.mask(me.id_number_last4), values=request.form), status


@bp.route("/me/identity", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=lambda error: _identity_form(field_errors(error), 422))
def my_identity():
    """Real name, volunteer number and (with consent) the ID number, for the hours certificate
    and the national volunteer system."""
    if request.method == "GET":
        return _identity_form()
    me = current_user._get_current_object()
    if request.form.get("action") == "withdraw":
        identity.withdraw(db.get_session(), me)
        flash(_("Your ID number has been erased."), "success")
    else:
        identity.set_identity(db.get_session(), me, real_name=_text("real_name"),
                              volunteer_number=_text("volunteer_number"), id_number=_text("id_number") or None,
                              consent=request.form.get("consent") == "1")
        flash(_("Saved."), "success")
    return redirect(url_for("pages.my_identity"))
