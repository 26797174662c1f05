"""Tips and hazards on the phone: report in under a minute, my tips, and the coordinators' inbox,
follow-up list and the triage / review / close steps.

Every rule lives in services/tips.py; these views turn forms into its calls. The triage in the
inbox works in place with htmx (the row comes back) and as a plain form (POST, redirect back).
"""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import accounts, tips
from ...timeutil import local, station_tz, utcnow
from ...web import htmx
from ...parsing import BadValue, parse_day
from ..params import to_id
from . import bp
from .common import field_errors, form_int, render, role_required, safe_next, unit_of_work

CATEGORY_ICONS = {"dispute": "⚖", "fraud": "☎", "hazard": "⚠", "ecology": "❀", "other": "…"}
CATEGORY_HINTS = {
    "dispute": _l("Quarrels, neighbour or consumer disputes"),
    "fraud": _l("Scam calls, fake investments, cheating"),
    "hazard": _l("Fire, broken facilities, unsafe places"),
    "ecology": _l("Water, forest, illegal fishing or dumping"),
    "other": _l("Anything else the station should know"),
}


def _folder():
    return tips.photo_dir(current_app.instance_path)


@bp.app_context_processor
def _tip_helpers():
    return {"tip_label": tips.label, "tip_icons": CATEGORY_ICONS}


def _partial() -> bool:
    return bool(htmx) and not htmx.boosted


# -- volunteers -----------------------------------------------------------------------------------

def _report_form(values=None, errors=None, status: int = 200):
    values = values or {}
    values.setdefault("client_ref", uuid.uuid4().hex)
    return render("pages/tips/new.html", values=values, errors=errors or {}, categories=tips.TIP_CATEGORIES,
                  hints=CATEGORY_HINTS, max_photos=tips.MAX_PHOTOS), status


def _float(name: str) -> float | None:
    raw = (request.form.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _report_values() -> tuple[dict, float | None, float | None]:
    values = {key: (request.form.get(key) or "")[:2100] for key in ("category", "description", "place", "grid", "client_ref")}
    latitude, longitude = _float("latitude"), _float("longitude")
    if latitude is None or longitude is None:
        latitude = longitude = None
    return values, latitude, longitude


def _report_refused(error: DomainError):
    values, latitude, longitude = _report_values()
    values.update(latitude=latitude or "", longitude=longitude or "")
    return _report_form(values, field_errors(error), 422)


@bp.route("/tips/new", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_report_refused)
def tip_new():
    if request.method == "GET":
        return _report_form({"category": request.args.get("category", "")})
    values, latitude, longitude = _report_values()
    uploads = [item for item in request.files.getlist("photos") if item and item.filename]
    photos = [tips.read_limited(item.stream) for item in uploads]
    tip, created, _stored = tips.report(
        db.get_session(), current_user, photos=photos, folder=_folder(), category=values["category"],
        description=values["description"], place=values["place"][:200], grid=values["grid"][:200],
        latitude=latitude, longitude=longitude,
        client_ref=values["client_ref"][:64] or None)
    if created:
        flash(_("Thank you! Your tip #%(id)s has been sent to the station.", id=tip.id), "success")
    else:
        flash(_("Your tip #%(id)s had already been sent; it was not filed twice.", id=tip.id), "info")
    return redirect(url_for("pages.my_tips", filed=tip.id), code=303)


@bp.get("/tips/mine")
@login_required
@unit_of_work()
def my_tips():
    """My tips; those with news since I last looked are marked (and their notices read)."""
    session_db = db.get_session()
    rows = tips.list_tips(session_db, current_user, mine=True, limit=200)
    photos = tips.photos_of(session_db, [tip.id for tip in rows])
    fresh = tips.read_tip_notices(session_db, current_user)
    earned = sum(tip.points_awarded for tip in rows)
    return render("pages/tips/mine.html", tips=rows, photos=photos, fresh=fresh, earned=earned,
                  filed=to_id(request.args.get("filed")))


def _detail_context(tip, **extra) -> dict:
    session_db = db.get_session()
    people = accounts.people(session_db, current_user, {tip.reporter_id, tip.triaged_by, tip.reviewed_by,
                                                        tip.closed_by})
    reporter = people.get(tip.reporter_id)
    manage = tips.can_manage(session_db, current_user, tip)
    names = {user_id: people[user_id].display_name if user_id in people else "?"
             for user_id in {tip.triaged_by, tip.reviewed_by, tip.closed_by} - {None}}
    return {"tip": tip, "reporter": reporter, "manage": manage, "names": names,
            "photos": tips.photos_of(session_db, [tip.id])[tip.id],
            "is_reporter": tip.reporter_id == current_user.id, "max_photos": tips.MAX_PHOTOS,
            "default_points": tips.default_points(tip.category), "levels": tips.TIP_LEVELS,
            "default_due": _default_due_dates(), "errors": {}, "form": {}, "step": "", **extra}


def _default_due_dates() -> dict[str, str]:
    today = local(utcnow()).date()
    return {level: (today + timedelta(days=days)).isoformat() for level, days in tips.DEFAULT_DUE_DAYS.items()}


@bp.get("/tips/<id:tip_id>")
@login_required
def tip_detail(tip_id: int):
    tip = tips.get_tip(db.get_session(), current_user, tip_id)
    return render("pages/tips/detail.html", **_detail_context(tip, next=request.args.get("next", "")))


def _photo_refused(error: DomainError, tip_id: int):
    tip = tips.get_tip(db.get_session(), current_user, tip_id)
    return render("pages/tips/detail.html", **_detail_context(tip, errors=field_errors(error))), 422


@bp.post("/tips/<id:tip_id>/photos")
@login_required
@unit_of_work(on_error=_photo_refused, error_page=("forbidden", "not_found"))
def tip_add_photo(tip_id: int):
    upload = request.files.get("file")
    data = tips.read_limited(upload.stream if upload and upload.filename else None)
    tips.add_photo(db.get_session(), current_user, tip_id, data, folder=_folder())
    flash(_("Photo added."), "success")
    return redirect(url_for("pages.tip_detail", tip_id=tip_id), code=303)


@bp.get("/tips/<id:tip_id>/photos/<id:photo_id>")
@login_required
def tip_photo(tip_id: int, photo_id: int):
    photo, path = tips.get_photo(db.get_session(), current_user, tip_id, photo_id, folder=_folder())
    response = send_file(path, mimetype=photo.content_type, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- coordinators ---------------------------------------------------------------------------------

@bp.get("/manage/tips")
@role_required("coordinator")
def tips_inbox():
    session_db = db.get_session()
    show = request.args.get("show", "open")
    if show == "closed":
        rows = tips.done_tips(session_db, current_user)
    else:
        show = "open"
        rows = tips.inbox(session_db, current_user)
    return render("pages/tips/inbox.html", "pages/tips/_inbox_list.html", **_list_context(rows, show=show))


@bp.get("/manage/tips/follow-up")
@role_required("coordinator")
def tips_follow_up():
    rows = tips.follow_ups(db.get_session(), current_user)
    return render("pages/tips/follow_up.html", **_list_context(rows, show="follow_up"))


def _list_context(rows, **extra) -> dict:
    session_db = db.get_session()
    reporters = accounts.people(session_db, current_user, {tip.reporter_id for tip in rows})
    photos = tips.photos_of(session_db, [tip.id for tip in rows])
    return {"tips": rows, "reporters": reporters, "photos": photos, "levels": tips.TIP_LEVELS,
            "default_due": _default_due_dates(), "counts": tips.counts_for_staff(session_db, current_user),
            "now": utcnow(), **extra}


def _due_at(raw: str | None) -> datetime | None:
    """A station-local date from a date input: due at the end of that day."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = parse_day(raw)
    except BadValue:
        raise DomainError("validation_error", _("Choose a date."),
                          errors=[{"field": "due_date", "message": _("Choose a date.")}]) from None
    return datetime.combine(day, time(23, 59), tzinfo=station_tz())


def _after_step(tip_id: int, message: str, error: DomainError | None, row_template: str | None = None):
    """htmx from the inbox: the row in place (with the message or the error). Otherwise back to
    where the form came from, with the message or the error as a notice."""
    session_db = db.get_session()
    if _partial() and row_template:
        tip = tips.get_tip(session_db, current_user, tip_id)
        context = _list_context([tip])
        return render(row_template, row_template, tip=tip, message=None if error else message,
                      error=str(error.message) if error else None, **context)
    if error is not None:
        flash(str(error.message), "error")
    else:
        flash(message, "success")
    return redirect(safe_next(request.form.get("next"), url_for("pages.tip_detail", tip_id=tip_id)), code=303)


def _step_refused(row_template: str | None = None):
    """A refused step: the form again (a bad field), else as :func:`_after_step` says."""

    def answer(error: DomainError, tip_id: int):
        if error.code == "not_found" or (error.code == "forbidden" and not _partial()):
            raise error
        if error.code == "validation_error" and not (_partial() and row_template):
            tip = tips.get_tip(db.get_session(), current_user, tip_id)  # the form again, with what was typed
            return render("pages/tips/detail.html", **_detail_context(
                tip, errors=field_errors(error), form=request.form, step=request.endpoint)), 422
        return _after_step(tip_id, "", error, row_template)

    return answer


INBOX_ROW = "pages/tips/_inbox_row.html"


@bp.post("/manage/tips/<id:tip_id>/triage")
@role_required("coordinator")
@unit_of_work(on_error=_step_refused(INBOX_ROW))
def tip_triage(tip_id: int):
    level = request.form.get("level", "")
    tips.triage(db.get_session(), current_user, tip_id, level=level, note=request.form.get("note", "")[:2100],
                due_at=_due_at(request.form.get("due_date")))
    message = _("Triaged: %(level)s.", level=tips.label("level", level))
    return lambda: _after_step(tip_id, message, None, INBOX_ROW)


@bp.post("/manage/tips/<id:tip_id>/review")
@role_required("coordinator")
@unit_of_work(on_error=_step_refused())
def tip_review(tip_id: int):
    valid = request.form.get("valid") == "1"
    points = form_int("points") if valid else None
    if valid and (request.form.get("points") or "").strip() and points is None:
        raise DomainError("validation_error", _("Enter a whole number of points."),
                          errors=[{"field": "points", "message": _("Enter a whole number of points.")}])
    tips.review(db.get_session(), current_user, tip_id, valid=valid, points=points,
                note=request.form.get("note", "")[:2100])
    message = _("Marked as valid; the points have been credited.") if valid else _("Marked as not confirmed.")
    return lambda: _after_step(tip_id, message, None)


@bp.post("/manage/tips/<id:tip_id>/close")
@role_required("coordinator")
@unit_of_work(on_error=_step_refused())
def tip_close(tip_id: int):
    tips.close(db.get_session(), current_user, tip_id, resolution=request.form.get("resolution", "")[:2100])
    return lambda: _after_step(tip_id, _("The tip is closed."), None)
