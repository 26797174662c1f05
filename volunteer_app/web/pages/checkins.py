"""Check-in pages: the poster URL (/c/<token>), the scan page, the result, My points, and the
coordinator's checkpoints, posters, events, live codes, leader check-in and point adjustments.

Every rule lives in services/checkins.py, checkpoints.py, events.py and ledger.py. The check-in
is POST-redirect-GET with a ``client_ref`` made when the page is shown, so a double tap, a
reload or the back button never checks in twice.
"""
from __future__ import annotations

import base64
import uuid
from datetime import datetime

from flask import Response, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from sqlalchemy import func
from sqlmodel import select

from ... import db, timeutil
from ...errors import DomainError
from ...models import Checkin, Checkpoint, Event, Team, User
from ...services import access, accounts, checkins, checkpoints, codes, events, ledger, qr, recognition, teams
from ...settings import setting
from .. import htmx
from ..links import checkin_url
from . import bp
from .common import field_errors, form_int, render, role_required
from .staff import add_manage_link

#: What a volunteer can do after each refusal (the service's message says why).
NEXT_STEP = {
    "invalid_code": _l("Scan the poster again. If it still does not work, tell your coordinator: the poster may be old."),
    "expired_code": _l("Scan the code on the screen again: it changes every 30 seconds."),
    "event_closed": _l("Come back during the event's check-in time."),
    "already_checked_in": _l("Your check-in is recorded. There is nothing more to do."),
    "cooldown": _l("Your earlier check-in here is recorded. Carry on with your patrol."),
    "outside_geofence": _l("Go to the checkpoint, allow location access when the phone asks, then tap Check in again."),
    "forbidden": _l("Ask your coordinator for help."),
}
HISTORY_PAGE = 20
PROGRESS_KEY = "checkin_progress"


# -- the volunteer's side -------------------------------------------------------------------------

@bp.route("/scan", methods=["GET", "POST"])
@login_required
def scan():
    """Tell the volunteer to use the phone camera; accept a pasted code or link."""
    error = None
    if request.method == "POST":
        token = codes.token_of(request.form.get("code", "")[:2000])
        if token:
            return redirect(url_for("pages.checkin", token=token))
        error = _("Paste the link or code you received, then tap Go.")
    return render_template("pages/checkins/scan.html", error=error), (422 if error else 200)


def _refusal(error: DomainError, token: str):
    return render_template("pages/checkins/refused.html", error=error, message=str(error.message),
                           next_step=NEXT_STEP.get(error.code), token=token), error.status


@bp.route("/c/<token>", methods=["GET", "POST"])
@login_required
def checkin(token: str):
    """The URL in the poster (and in the event's live QR code)."""
    token = token[:200]
    session_db = db.get_session()
    if request.method == "POST":
        client_ref = (request.form.get("client_ref") or "")[:64] or None
        with db.read_before_writing(session_db, hold=True):  # the check-in's own read joins it
            done = checkins.remembered(session_db, current_user.id, client_ref)
        if done:
            return _show_result(done, 302)
        try:
            result = checkins.check_in(session_db, current_user, token,
                                       latitude=_coordinate("latitude", 90), longitude=_coordinate("longitude", 180))
            checkins.remember(session_db, current_user.id, client_ref, result.checkin.id)
            db.commit()
        except DomainError as error:
            if error.code in checkins.COUNTED_REFUSALS:
                db.commit()  # the refused code counts toward the limit on guessing
            else:
                session_db.rollback()
            db.done_writing()
            done = checkins.remembered(session_db, current_user.id, client_ref)  # a twin tap won the race
            if done:
                return _show_result(done, 302)
            return _refusal(error, token)
        session[PROGRESS_KEY] = {"id": result.checkin.id, "next": result.next_checkpoint,
                                 "shift_completed": bool(result.shift and result.shift.get("completed")),
                                 "badges": [str(badge.key) for badge in result.badges]}
        return _show_result(result.checkin.id, 303)
    try:
        place = checkins.preview(session_db, current_user, token)
    except DomainError as error:
        if error.code in checkins.COUNTED_REFUSALS:
            db.commit()  # the refused code counts toward the limit on guessing
        return _refusal(error, token)
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
                           shift_completed=extra.get("shift_completed"), badges=badges)


@bp.get("/points")
@login_required
def my_points():
    """Balance, lifetime points and the history; ``before`` pages further back (htmx on scroll)."""
    before = request.args.get("before", type=int)
    entries = ledger.entries(db.get_session(), current_user.id, limit=HISTORY_PAGE,
                             before_id=before if before and 0 < before < 2**63 else None)
    return render("pages/checkins/points.html", "pages/checkins/_entries.html", entries=entries,
                  page_size=HISTORY_PAGE, kind_labels=kind_labels())


def kind_labels() -> dict:
    return {"checkin": _("Patrol check-in"), "event": _("Event"), "shift": _("Shift completed"),
            "award": _("Award"), "tip": _("Tip"), "redemption": _("Store"), "refund": _("Refund"),
            "adjustment": _("Correction")}


# -- coordinators: checkpoints and posters --------------------------------------------------------

def _managed_teams() -> list[Team]:
    return teams.managed_teams(db.get_session(), current_user)


@bp.get("/manage/checkpoints")
@role_required("coordinator")
def checkpoint_list():
    session_db = db.get_session()
    team_id = request.args.get("team_id", type=int)
    rows = checkpoints.list_for(session_db, current_user, team_id=team_id)
    last = checkpoints.last_scans(session_db, [row.id for row in rows])
    team_names = {team.id: team.name for team in teams.list_teams(session_db, current_user)}
    return render_template("pages/checkins/checkpoints.html", rows=rows, last=last, team_names=team_names,
                           team_id=team_id, managed=_managed_teams(),
                           can_manage={row.id: checkpoints.can_manage(session_db, current_user, row) for row in rows})


def _checkpoint_form() -> dict:
    values = {"name": request.form.get("name", "")[:200], "description": request.form.get("description", "")[:2000],
              "require_location": request.form.get("require_location") == "1"}
    errors = {}
    for key, bound in (("latitude", 90), ("longitude", 180)):
        raw = (request.form.get(key) or "").strip()
        if not raw:
            values[key] = None
            continue
        try:
            values[key] = float(raw)
        except ValueError:
            errors[key] = _("Enter a number such as 30.2590.")
            values[key] = None
    for key, default in (("radius_m", 150), ("points", 5), ("cooldown_minutes", 30)):
        value = form_int(key)
        if value is None:
            if (request.form.get(key) or "").strip():
                errors[key] = _("Enter a whole number.")
            value = default
        values[key] = value
    values["team_id"] = form_int("team_id") or None
    if "active" in request.form or request.form.get("has_active"):
        values["active"] = request.form.get("active") == "1"
    if errors:
        raise DomainError("validation_error", _("Please check the marked fields."),
                          errors=[{"field": key, "message": message} for key, message in errors.items()])
    return values


@bp.route("/manage/checkpoints/new", methods=["GET", "POST"])
@role_required("coordinator")
def checkpoint_new():
    errors, values = {}, {"radius_m": 150, "points": 5, "cooldown_minutes": 30, "active": True}
    if request.method == "POST":
        try:
            values = _checkpoint_form()
            values.pop("active", None)
            row = checkpoints.create(db.get_session(), current_user, **values)
            db.commit()
            flash(_("Checkpoint saved. Print its poster and put it up."), "success")
            return redirect(url_for("pages.checkpoint_poster", checkpoint_id=row.id))
        except DomainError as error:
            db.get_session().rollback()
            errors = field_errors(error)
            values = {key: request.form.get(key, "") for key in request.form}
    return render_template("pages/checkins/checkpoint_form.html", values=values, errors=errors, row=None,
                           managed=_managed_teams()), (422 if errors else 200)


@bp.route("/manage/checkpoints/<id:checkpoint_id>", methods=["GET", "POST"])
@role_required("coordinator")
def checkpoint_edit(checkpoint_id: int):
    session_db = db.get_session()
    row = checkpoints.get_managed(session_db, current_user, checkpoint_id)
    errors, values = {}, row.model_dump()
    if request.method == "POST":
        try:
            changes = _checkpoint_form()
            changes["description"] = changes.get("description") or ""
            checkpoints.update(session_db, current_user, checkpoint_id, **changes)
            db.commit()
            flash(_("Checkpoint saved."), "success")
            return redirect(url_for("pages.checkpoint_list"))
        except DomainError as error:
            session_db.rollback()
            errors = field_errors(error)
            values = {key: request.form.get(key, "") for key in request.form}
    last = checkpoints.last_scans(session_db, [row.id]).get(row.id)
    return render_template("pages/checkins/checkpoint_form.html", values=values, errors=errors, row=row, last=last,
                           managed=_managed_teams()), (422 if errors else 200)


@bp.post("/manage/checkpoints/<id:checkpoint_id>/rotate")
@role_required("coordinator")
def checkpoint_rotate(checkpoint_id: int):
    checkpoints.rotate_code(db.get_session(), current_user, checkpoint_id)
    db.commit()
    flash(_("New code made. The old poster no longer works: print this one and replace it."), "success")
    return redirect(url_for("pages.checkpoint_poster", checkpoint_id=checkpoint_id))


@bp.get("/manage/checkpoints/<id:checkpoint_id>/qr.<any(png, svg):fmt>")
@role_required("coordinator")
def checkpoint_qr(checkpoint_id: int, fmt: str):
    row = checkpoints.get_managed(db.get_session(), current_user, checkpoint_id)
    url = checkin_url(checkpoints.token(row))
    if fmt == "png":
        response = Response(qr.png(url), mimetype="image/png")
        response.headers["Content-Disposition"] = f'inline; filename="checkpoint-{row.id}.png"'
        return response
    return Response(qr.svg(url), mimetype="image/svg+xml")


def _poster(row: Checkpoint) -> dict:
    url = checkin_url(checkpoints.token(row))
    return {"row": row, "url": url, "qr": _svg_data_uri(url)}


def _poster_words() -> dict:
    """The poster speaks the station's language (Chinese), whatever the coordinator reads."""
    with force_locale(setting("BABEL_DEFAULT_LOCALE")):
        return {"top": _("Volunteer patrol checkpoint"), "call": _("Scan to check in"),
                "how": _("Open the phone camera or WeChat Scan, open the link, then tap Check in")}


def _svg_data_uri(data: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr.svg(data).encode()).decode()


@bp.get("/manage/checkpoints/<id:checkpoint_id>/poster")
@role_required("coordinator")
def checkpoint_poster(checkpoint_id: int):
    row = checkpoints.get_managed(db.get_session(), current_user, checkpoint_id)
    return render_template("pages/checkins/posters.html", posters=[_poster(row)], single=row,
                           station=setting("STATION_NAME"), words=_poster_words())


@bp.get("/manage/checkpoints/posters")
@role_required("coordinator")
def checkpoint_posters():
    """Every active checkpoint of a team (or the station), one A4 page each, for printing."""
    session_db = db.get_session()
    team_id = request.args.get("team_id", type=int)
    rows = [row for row in checkpoints.list_for(session_db, current_user, team_id=team_id, active_only=True)
            if checkpoints.can_manage(session_db, current_user, row)]
    team = session_db.get(Team, team_id) if team_id else None
    return render_template("pages/checkins/posters.html", posters=[_poster(row) for row in rows], single=None,
                           team=team, station=setting("STATION_NAME"), words=_poster_words())


# -- coordinators: events and live codes ----------------------------------------------------------

@bp.route("/manage/events", methods=["GET", "POST"])
@role_required("coordinator")
def event_list():
    session_db = db.get_session()
    errors, values = {}, {"points": 10}
    if request.method == "POST":
        values = {key: request.form.get(key, "")[:300] for key in ("title", "location", "day", "start", "end",
                                                                     "points", "team_id")}
        try:
            starts_at, ends_at = _event_times(values)
            event = events.create(session_db, current_user, title=values["title"], location=values["location"],
                                  starts_at=starts_at, ends_at=ends_at, points=form_int("points", 10),
                                  team_id=form_int("team_id") or None)
            db.commit()
            flash(_("Event created. Open its live code when it starts."), "success")
            return redirect(url_for("pages.event_list"))
        except DomainError as error:
            session_db.rollback()
            errors = field_errors(error)
    rows = events.list_for(session_db, current_user)
    now = timeutil.utcnow()
    return render_template("pages/checkins/events.html", rows=rows, errors=errors, values=values,
                           managed=_managed_teams(), now=now, is_open=events.is_open,
                           today=timeutil.local(now).date().isoformat()), (422 if errors else 200)


def _event_times(values: dict):
    try:
        day = datetime.strptime(values["day"], "%Y-%m-%d").date()
    except ValueError:
        raise DomainError("validation_error", _("Choose a date."),
                          errors=[{"field": "day", "message": _("Choose a date.")}]) from None
    times = []
    for key in ("start", "end"):
        try:
            clock = datetime.strptime(values[key], "%H:%M").time()
        except ValueError:
            raise DomainError("validation_error", _("Enter a time such as 14:30."),
                              errors=[{"field": key, "message": _("Enter a time such as 14:30.")}]) from None
        times.append(datetime.combine(day, clock, tzinfo=timeutil.station_tz()))
    return times[0], times[1]


@bp.get("/manage/events/<id:event_id>/live")
@role_required("coordinator")
def event_live(event_id: int):
    """The live-code screen for a phone, tablet or projector: a fresh QR every 30 seconds."""
    session_db = db.get_session()
    event, code, expires_at = events.live_code(session_db, current_user, event_id)
    url = checkin_url(code)
    count = session_db.exec(_count_checkins(event.id)).one()
    context = {"event": event, "code": code, "url": url, "qr": _svg_data_uri(url), "expires_at": expires_at,
               "count": count, "is_open": events.is_open(event, timeutil.utcnow())}
    return render("pages/checkins/live.html", "pages/checkins/_live_code.html", **context)


def _count_checkins(event_id: int):
    return select(func.count()).select_from(Checkin).where(Checkin.event_id == event_id)


# -- leaders: check in people without a smartphone ------------------------------------------------

@bp.route("/manage/leader-checkin", methods=["GET", "POST"])
@role_required("coordinator")
def leader_checkin():
    session_db = db.get_session()
    place = request.values.get("place", "")[:40]
    errors = {}
    if request.method == "POST":
        kind, _sep, raw_id = place.partition(":")
        try:
            place_id = int(raw_id)
        except ValueError:
            place_id = None
        member_code = (request.form.get("member_code") or "").strip()[:64] or None
        try:
            result = checkins.check_in_for(session_db, current_user, user_id=form_int("user_id") or None,
                                           member_code=member_code,
                                           checkpoint_id=place_id if kind == "checkpoint" else None,
                                           event_id=place_id if kind == "event" else None)
            target = session_db.get(User, result.checkin.user_id)
            db.commit()
            flash(_("%(name)s is checked in at %(place)s: %(points)s points, balance %(balance)s.",
                    name=target.display_name, place=result.place_name, points=result.checkin.points_awarded,
                    balance=result.balance), "success")
            return redirect(url_for("pages.leader_checkin", place=place))
        except DomainError as error:
            session_db.rollback()
            errors = field_errors(error)
    managed = _managed_teams()
    members = []
    seen = set()
    for team in managed:
        for user, _membership in teams.members(session_db, team.id):
            if user.id not in seen and user.status == "active":
                seen.add(user.id)
                members.append((user, team))
    now = timeutil.utcnow()
    open_events = [event for event in events.list_for(session_db, current_user, limit=100)
                   if events.is_open(event, now) and events.can_manage(session_db, current_user, event)]
    places = [row for row in checkpoints.list_for(session_db, current_user, active_only=True)
              if checkpoints.can_manage(session_db, current_user, row)]
    return render_template("pages/checkins/leader.html", members=members, open_events=open_events, places=places,
                           place=place, errors=errors), (422 if errors else 200)


# -- coordinators: adjust points ------------------------------------------------------------------

@bp.get("/manage/points")
@role_required("coordinator")
def points_people():
    query = request.args.get("q", "")[:64]
    people = accounts.search_users(db.get_session(), current_user, query=query, status="active", limit=50)
    return render("pages/checkins/points_people.html", "pages/checkins/_points_people.html", people=people, q=query)


@bp.route("/manage/users/<id:user_id>/points", methods=["GET", "POST"])
@role_required("coordinator")
def adjust_points(user_id: int):
    session_db = db.get_session()
    target = access.get_in_station(session_db, User, user_id, current_user, _l("No such user."))
    access.require_manage_user(session_db, current_user, target)
    errors, values = {}, {}
    if request.method == "POST":
        values = {"amount": request.form.get("amount", "")[:12], "reason": request.form.get("reason", "")[:500]}
        amount = form_int("amount")
        try:
            if amount is None:
                raise DomainError("validation_error", _("Enter a whole number, such as 10 or -5."),
                                  errors=[{"field": "amount", "message": _("Enter a whole number, such as 10 or -5.")}])
            entry = ledger.adjust(session_db, current_user, target.id, amount, values["reason"])
            db.commit()
            flash(_("Saved: %(amount)s points. New balance %(balance)s.", amount=entry.amount,
                    balance=entry.balance_after), "success")
            return redirect(url_for("pages.adjust_points", user_id=target.id))
        except DomainError as error:
            session_db.rollback()
            errors = field_errors(error)
        session_db.refresh(target)
    entries = ledger.entries(session_db, target.id, limit=20)
    return render_template("pages/checkins/adjust.html", target=target, entries=entries, errors=errors,
                           values=values, kind_labels=kind_labels()), (422 if errors else 200)


add_manage_link("pages.checkpoint_list", _l("Checkpoints and posters"),
                _l("Place patrol points, print QR posters, see the last scan"))
add_manage_link("pages.event_list", _l("Events"), _l("Create events and show their live check-in code"))
add_manage_link("pages.leader_checkin", _l("Check in for a member"), _l("For volunteers without a smartphone"))
add_manage_link("pages.points_people", _l("Adjust points"), _l("Correct a member's points, with a reason"))
