"""Anti-fraud publicity sessions (反诈宣传): the event's coordinator records the audience, the
materials handed out, a short summary and a photo."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import db
from ...errors import FieldError
from ...services import events, images, publicity
from . import bp
from .common import field_errors, role_required, unit_of_work


def _count(name: str) -> int:
    raw = (request.form.get(name) or "0").strip()[:8] or "0"
    if not raw.isascii() or not raw.isdigit():
        raise FieldError(name, _("Enter a whole number."))
    return int(raw)


def _form(event_id: int, errors: dict | None = None, status: int = 200):
    session_db = db.get_session()
    event = events.get_managed(session_db, current_user._get_current_object(), event_id)
    report = publicity.report_for(session_db, event.id)
    values = request.form if errors else {"audience": report.audience if report else "",
                                          "materials": report.materials if report else "",
                                          "summary": report.summary if report else ""}
    return render_template("pages/publicity/report.html", event=event, report=report, errors=errors or {},
                           values=values), status


def _refused(error, event_id: int):
    if error.code in ("forbidden", "not_found"):
        raise error
    return _form(event_id, field_errors(error), 422)


@bp.route("/manage/events/<id:event_id>/publicity", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_refused, error_page=("forbidden", "not_found"))
def publicity_report(event_id: int):
    """What the session reached: audience, materials, summary, a photo."""
    if request.method == "GET":
        return _form(event_id)
    session_db = db.get_session()
    actor = current_user._get_current_object()
    publicity.save_report(session_db, actor, event_id, audience=_count("audience"), materials=_count("materials"),
                          summary=(request.form.get("summary") or "")[:600])
    upload = request.files.get("photo")
    if upload and upload.filename:
        publicity.add_photo(session_db, actor, event_id, images.read_upload(upload.stream),
                            folder=publicity.photo_dir(current_app.instance_path))
    flash(_("Saved: the dashboard counts the people reached."), "success")
    return redirect(url_for("pages.event_list"))
