"""The volunteer's check-in pages: the poster URL (/c/<token>), the scan page, the result and
My points. (The coordinator's checkpoints, posters and events are in checkpoints.py.)

Every rule lives in services/checkins.py. The check-in is POST-redirect-GET with a
``client_ref`` made when the page is shown, so a double tap, a reload or the back button never
checks in twice.
"""
from __future__ import annotations

import uuid

from flask import make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import checkins, codes, ledger, recognition, short_codes
from .. import htmx
from ..params import arg_id, form_time
from . import bp
from .common import render, unit_of_work

#: What a volunteer can do after each refusal (the service's message says why).
NEXT_STEP = {
    "invalid_code": _l("Scan the poster again. If it still does not work, tell your coordinator: the poster may be old."),
    "expired_code": _l("Scan the code on the screen again: it changes every 30 seconds."),
    "event_closed": _l("Come back during the event's check-in time."),
    "already_checked_in": _l("Your check-in is recorded. There is nothing more to do."),
    "cooldown": _l("Your earlier check-in here is recorded. Carry on with your patrol."),
    "outside_geofence": _l("Go to the checkpoint, allow location access when the phone asks, then tap Check in again."),
    "forbidden": _l("Ask your coordinator for help."),
    "scan_too_old": _l("Ask your coordinator to record the patrol as a make-up."),
}
HISTORY_PAGE = 20
PROGRESS_KEY = "checkin_progress"


# -- the volunteer's side -------------------------------------------------------------------------

def _scan_refused(error: DomainError):
    return render_template("pages/checkins/scan.html", error=str(error.message)), error.status


@bp.route("/scan", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_scan_refused)
def scan():
    """Tell the volunteer to use the phone camera; accept a pasted code or link, or the six
    digits under an event's live QR code (a wrong guess counts toward the limit: the unit of
    work keeps that record)."""
    error = None
    if request.method == "POST":
        token = codes.token_of(request.form.get("code", "")[:2000])
        if short_codes.is_short(token):
            token = short_codes.event_code_for(db.get_session(), current_user, token)
        if token:
            return redirect(url_for("pages.checkin", token=token))
        error = _("Paste the link or code you received, then tap Go.")
    return render_template("pages/checkins/scan.html", error=error), (422 if error else 200)


def _refusal(error: DomainError, token: str):
    return render_template("pages/checkins/refused.html", error=error, message=str(error.message),
                           next_step=NEXT_STEP.get(error.code), token=token), error.status


def _client_ref() -> str | None:
    return (request.form.get("client_ref") or "")[:64] or None


def _refused(error: DomainError, token: str):
    """A refused tap, unless a twin tap with the same ``client_ref`` won the race."""
    done = checkins.earlier_checkin_id(db.get_session(), current_user.id, _client_ref())
    if done:
        return _show_result(done, 302)
    return _refusal(error, token[:200])


@bp.route("/c/<token>", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_refused)
def checkin(token: str):
    """The URL in the poster (and in the event's live QR code)."""
    token = token[:200]
    session_db = db.get_session()
    if request.method == "POST":
        result = checkins.check_in(session_db, current_user, token, latitude=_coordinate("latitude", 90),
                                   longitude=_coordinate("longitude", 180), client_ref=_client_ref(),
                                   scanned_at=form_time("scanned_at"))
        if result.repeated:
            return lambda: _show_result(result.checkin.id, 302)
        session[PROGRESS_KEY] = {"id": result.checkin.id, "next": result.next_checkpoint,
                                 "shift_completed": bool(result.shift and result.shift.get("completed")),
                                 "badges": [str(badge.key) for badge in result.badges],
                                 "callouts": [callout.title[:60] for callout in result.callouts[:3]]}
        return lambda: _show_result(result.checkin.id, 303)
    place = checkins.preview(session_db, current_user, token)
    return render_template("pages/checkins/checkin.html", place=place, token=token, client_ref=uuid.uuid4().hex)


def _show_result(checkin_id: int, status: int):
    """After a check-in (or its twin): redirect to the result, or for the boosted form
    (checkins.js) the result itself, one round trip less on a weak signal, with the address
    moved to the result's own, so that a reload shows it again and posts nothing."""
    url = url_for("pages.checkin_result", checkin_id=checkin_id)
    if not htmx:
        return redirect(url, status)
    response = make_response(_result_page(checkins.get_own(db.get_session(), current_user, checkin_id)))
    response.headers["HX-Push-Url"] = url
    return response


def _coordinate(name: str, bound: int) -> float | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if -bound <= value <= bound else None


@bp.get("/checkins/<id:checkin_id>")
@login_required
def checkin_result(checkin_id: int):
    return _result_page(checkins.get_own(db.get_session(), current_user, checkin_id))


def _result_page(row) -> str:
    """A check-in's result; what this scan brought besides (badges, the next checkpoint, a
    completed shift) is kept in the session for the scan just made."""
    session_db = db.get_session()
    extra = session.get(PROGRESS_KEY) or {}
    if extra.get("id") != row.id:
        extra = {}
    specs = recognition.BADGES_BY_KEY
    badges = [str(specs[key].name) if key in specs else key for key in extra.get("badges", [])]
    return render_template("pages/checkins/result.html", checkin=row, place=checkins.place_name(session_db, row),
                           balance=checkins.balance_after(session_db, row), next_checkpoint=extra.get("next"),
                           shift_completed=extra.get("shift_completed"), badges=badges,
                           arrived_at=extra.get("callouts") or [])


@bp.get("/points")
@login_required
def my_points():
    """Balance, lifetime points and the history; ``before`` pages further back (htmx on scroll)."""
    before = arg_id("before")
    entries = ledger.entries(db.get_session(), current_user.id, limit=HISTORY_PAGE, before_id=before)
    return render("pages/checkins/points.html", "pages/checkins/_entries.html", entries=entries,
                  page_size=HISTORY_PAGE, kind_labels=kind_labels())


def kind_labels() -> dict:
    return {"checkin": _("Patrol check-in"), "event": _("Event"), "shift": _("Shift completed"),
            "award": _("Award"), "tip": _("Tip"), "redemption": _("Store"), "refund": _("Refund"),
            "adjustment": _("Correction"), "expiry": _("Lapsed")}
