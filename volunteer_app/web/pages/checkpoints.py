"""The coordinator's check-in pages: checkpoints and their QR posters (create, edit, rotate the
code, print), events and their live codes, the leader's check-in for people without a
smartphone, and point adjustments. (The volunteer's side is in checkins.py.)

Every rule lives in services/checkpoints.py, events.py, checkins.py and ledger.py.
"""
from __future__ import annotations

import base64
from datetime import datetime

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from ... import db, timeutil
from ...errors import DomainError
from ...services import access, accounts, checkins, checkpoints, events, ledger, publicity, qr, teams
from ...settings import setting
from .. import links
from ..links import checkin_url
from ...parsing import BadValue, parse_day
from ..params import arg_id, form_id, to_id
from . import bp
from .checkins import kind_labels
from .common import field_errors, flash_error, form_int, render, role_required, unit_of_work


# -- coordinators: checkpoints and posters --------------------------------------------------------

def _managed_teams() -> list:
    return teams.managed_teams(db.get_session(), current_user)


@bp.get("/manage/checkpoints")
@role_required("coordinator")
def checkpoint_list():
    session_db = db.get_session()
    team_id = arg_id("team_id")
    rows = checkpoints.list_for(session_db, current_user, team_id=team_id)
    last = checkpoints.last_scans(session_db, [row.id for row in rows])
    team_names = {team.id: team.name for team in teams.list_teams(session_db, current_user)}
    return render_template("pages/checkins/checkpoints.html", rows=rows, last=last, team_names=team_names,
                           team_id=team_id, managed=_managed_teams(),
                           can_manage={row.id: checkpoints.can_manage(session_db, current_user, row) for row in rows})


def _checkpoint_form() -> dict:
    values = {"name": request.form.get("name", "")[:200], "description": request.form.get("description", "")[:2000],
              "grid": request.form.get("grid", "")[:200],
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
    if request.form.get("gcj02") == "1" and values["latitude"] is not None and values["longitude"] is not None:
        values["latitude"], values["longitude"] = (round(v, 7) for v in checkpoints.gcj02_to_wgs84(
            values["latitude"], values["longitude"]))
    for key, default in (("radius_m", 150), ("points", 5), ("cooldown_minutes", 30)):
        value = form_int(key)
        if value is None:
            if (request.form.get(key) or "").strip():
                errors[key] = _("Enter a whole number.")
            value = default
        values[key] = value
    values["team_id"] = form_id("team_id")
    values["duty_post"] = request.form.get("duty_post") == "1"
    values["service_kind"] = (request.form.get("service_kind") or "")[:40] or None
    values["max_duty_hours"] = form_int("max_duty_hours") or 12
    if "active" in request.form or request.form.get("has_active"):
        values["active"] = request.form.get("active") == "1"
    if errors:
        raise DomainError("validation_error", _("Please check the marked fields."),
                          errors=[{"field": key, "message": message} for key, message in errors.items()])
    return values


def _checkpoint_page(row=None, *, errors: dict | None = None, values: dict | None = None):
    last = checkpoints.last_scans(db.get_session(), [row.id]).get(row.id) if row is not None else None
    if errors:
        values = {key: request.form.get(key, "") for key in request.form}
    return render_template("pages/checkins/checkpoint_form.html", values=values, errors=errors or {}, row=row,
                           last=last, managed=_managed_teams()), (422 if errors else 200)


@bp.route("/manage/checkpoints/new", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=lambda error: _checkpoint_page(errors=field_errors(error)))
def checkpoint_new():
    if request.method == "POST":
        values = _checkpoint_form()
        values.pop("active", None)
        row = checkpoints.create(db.get_session(), current_user, **values)
        flash(_("Checkpoint saved. Print its poster and put it up."), "success")
        return redirect(url_for("pages.checkpoint_poster", checkpoint_id=row.id))
    return _checkpoint_page(values={"radius_m": 150, "points": 5, "cooldown_minutes": 30, "active": True})


def _checkpoint_refused(error: DomainError, checkpoint_id: int):
    row = checkpoints.get_managed(db.get_session(), current_user, checkpoint_id)  # refused again if that was why
    return _checkpoint_page(row, errors=field_errors(error))


@bp.route("/manage/checkpoints/<id:checkpoint_id>", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_checkpoint_refused)
def checkpoint_edit(checkpoint_id: int):
    session_db = db.get_session()
    row = checkpoints.get_managed(session_db, current_user, checkpoint_id)
    if request.method == "POST":
        changes = _checkpoint_form()
        changes["description"] = changes.get("description") or ""
        checkpoints.update(session_db, current_user, checkpoint_id, **changes)
        flash(_("Checkpoint saved."), "success")
        return redirect(url_for("pages.checkpoint_list"))
    return _checkpoint_page(row, values=row.model_dump())


@bp.post("/manage/checkpoints/<id:checkpoint_id>/rotate")
@role_required("coordinator")
@unit_of_work()
def checkpoint_rotate(checkpoint_id: int):
    checkpoints.rotate_code(db.get_session(), current_user, checkpoint_id)
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


def _poster(row) -> dict:
    url = checkin_url(checkpoints.token(row))
    return {"row": row, "url": url, "qr": _svg_data_uri(url)}


def _poster_words() -> dict:
    """The poster speaks the station's language (Chinese), whatever the coordinator reads."""
    with force_locale(setting("BABEL_DEFAULT_LOCALE")):
        return {"top": _("Volunteer patrol checkpoint"), "call": _("Scan to check in"),
                "how": _("Open the phone camera or WeChat Scan, open the link, then tap Check in"),
                "offline": _("No signal? Scan again when you have signal, or open Volunteer Police home → Waiting to be sent")}


def _svg_data_uri(data: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr.svg(data).encode()).decode()


@bp.get("/manage/checkpoints/<id:checkpoint_id>/poster")
@role_required("coordinator")
def checkpoint_poster(checkpoint_id: int):
    row = checkpoints.get_managed(db.get_session(), current_user, checkpoint_id)
    return render_template("pages/checkins/posters.html", posters=[_poster(row)], single=row,
                           station=setting("STATION_NAME"), words=_poster_words(), address=_poster_address())


@bp.get("/manage/checkpoints/posters")
@role_required("coordinator")
def checkpoint_posters():
    """Every active checkpoint of a team (or the station), one A4 page each, for printing."""
    session_db = db.get_session()
    team_id = arg_id("team_id")
    rows = [row for row in checkpoints.list_for(session_db, current_user, team_id=team_id, active_only=True)
            if checkpoints.can_manage(session_db, current_user, row)]
    team = next((row for row in teams.list_teams(session_db, current_user) if row.id == team_id), None)
    return render_template("pages/checkins/posters.html", posters=[_poster(row) for row in rows], single=None,
                           team=team, station=setting("STATION_NAME"), words=_poster_words(), address=_poster_address())



def _poster_address() -> dict:
    """The address the posters carry, and whether phones can open it (PUBLIC_BASE_URL unset,
    or an address of this computer only)."""
    base = links.base_url()
    return {"base": base, "configured": bool(setting("PUBLIC_BASE_URL")),
            "loopback": checkpoints.is_loopback_url(base)}

# -- coordinators: events and live codes ----------------------------------------------------------

def _events_page(errors: dict | None = None, values: dict | None = None):
    session_db = db.get_session()
    rows = events.list_for(session_db, current_user)
    now = timeutil.utcnow()
    return render_template("pages/checkins/events.html", rows=rows, errors=errors or {},
                           reports=publicity.reports_for(session_db, [row.id for row in rows]),
                           values=values or {"points": 10}, managed=_managed_teams(), now=now,
                           is_open=events.is_open, today=timeutil.local(now).date().isoformat()), \
        (422 if errors else 200)


def _event_values() -> dict:
    return {key: request.form.get(key, "")[:300] for key in ("title", "location", "day", "start", "end", "points",
                                                               "team_id", "kind", "credit", "repeat_until")}


@bp.route("/manage/events", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=lambda error: _events_page(field_errors(error), _event_values()))
def event_list():
    if request.method == "POST":
        values = _event_values()
        starts_at, ends_at = _event_times(values)
        if values["repeat_until"]:
            until = _series_end(values["repeat_until"], values["kind"])
            made = publicity.create_series(db.get_session(), current_user, title=values["title"],
                                           location=values["location"], starts_at=starts_at, ends_at=ends_at,
                                           until=until, points=form_int("points", 10), team_id=form_id("team_id"),
                                           credit=values["credit"] or "scans")
            flash(_("%(num)s publicity sessions created, every two weeks.", num=len(made)), "success")
            return redirect(url_for("pages.event_list"))
        events.create(db.get_session(), current_user, title=values["title"], location=values["location"],
                      starts_at=starts_at, ends_at=ends_at, points=form_int("points", 10),
                      team_id=form_id("team_id"), kind=values["kind"] or None, credit=values["credit"] or "scans")
        flash(_("Event created. Open its live code when it starts."), "success")
        return redirect(url_for("pages.event_list"))
    return _events_page()


def _series_end(raw: str, kind: str) -> datetime:
    """The end of the series' last day (station time); only publicity events repeat."""
    if (kind or "publicity") != "publicity":
        raise DomainError("validation_error", _("Only publicity events repeat every two weeks."),
                          errors=[{"field": "repeat_until", "message": _("Only publicity events repeat every two weeks.")}])
    try:
        day = parse_day(raw)
    except BadValue:
        raise DomainError("validation_error", _("Choose a date."),
                          errors=[{"field": "repeat_until", "message": _("Choose a date.")}]) from None
    return datetime.combine(day, datetime.max.time(), tzinfo=timeutil.station_tz())


def _event_times(values: dict):
    try:
        day = parse_day(values["day"])
    except BadValue:
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
    event, code, expires_at = events.live_code(session_db, current_user, event_id, purpose="auto")
    url = checkin_url(code)
    count = events.checkin_count(session_db, event)
    context = {"event": event, "code": code, "url": url, "qr": _svg_data_uri(url), "expires_at": expires_at,
               "count": count, "is_open": events.is_open(event, timeutil.utcnow()),
               "signing_out": code.upper().startswith("O")}
    return render("pages/checkins/live.html", "pages/checkins/_live_code.html", **context)


@bp.post("/manage/events/<id:event_id>/signout")
@role_required("coordinator")
@unit_of_work(on_error=lambda error, event_id: (flash_error(error), redirect(url_for("pages.event_list")))[1])
def event_signout_switch(event_id: int):
    """The coordinator switches the live screen to the sign-out code (or back to check-in)."""
    events.switch_signout(db.get_session(), current_user, event_id, request.form.get("on") == "1")
    return redirect(url_for("pages.event_live", event_id=event_id))


# -- leaders: check in people without a smartphone ------------------------------------------------

def _leader_page(errors: dict | None = None):
    session_db = db.get_session()
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
                           place=request.values.get("place", "")[:40], errors=errors or {}), (422 if errors else 200)


@bp.route("/manage/leader-checkin", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=lambda error: _leader_page(field_errors(error)))
def leader_checkin():
    session_db = db.get_session()
    place = request.values.get("place", "")[:40]
    if request.method == "POST":
        kind, _sep, raw_id = place.partition(":")
        place_id = to_id(raw_id)
        member_code = (request.form.get("member_code") or "").strip()[:64] or None
        result = checkins.check_in_for(session_db, current_user, user_id=form_id("user_id"),
                                       member_code=member_code,
                                       checkpoint_id=place_id if kind == "checkpoint" else None,
                                       event_id=place_id if kind == "event" else None)
        target = accounts.person(session_db, current_user, result.checkin.user_id)
        flash(_("%(name)s is checked in at %(place)s: %(points)s points, balance %(balance)s.",
                name=target.display_name, place=result.place_name, points=result.checkin.points_awarded,
                balance=result.balance), "success")
        return redirect(url_for("pages.leader_checkin", place=place))
    return _leader_page()


# -- coordinators: adjust points ------------------------------------------------------------------

@bp.get("/manage/points")
@role_required("coordinator")
def points_people():
    query = request.args.get("q", "")[:64]
    people = accounts.search_users(db.get_session(), current_user, query=query, status="active", limit=50)
    return render("pages/checkins/points_people.html", "pages/checkins/_points_people.html", people=people, q=query)


def _points_target(user_id: int):
    session_db = db.get_session()
    target = accounts.person(session_db, current_user, user_id)
    access.require_manage_user(session_db, current_user, target)
    return target


def _points_page(target, errors: dict | None = None, values: dict | None = None):
    entries = ledger.entries(db.get_session(), target.id, limit=20)
    return render_template("pages/checkins/adjust.html", target=target, entries=entries, errors=errors or {},
                           values=values or {}, kind_labels=kind_labels()), (422 if errors else 200)


def _points_refused(error: DomainError, user_id: int):
    target = _points_target(user_id)  # refused again if that was why
    values = {"amount": request.form.get("amount", "")[:12], "reason": request.form.get("reason", "")[:500]}
    return _points_page(target, field_errors(error), values)


@bp.route("/manage/users/<id:user_id>/points", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_points_refused)
def adjust_points(user_id: int):
    target = _points_target(user_id)
    if request.method == "POST":
        amount = form_int("amount")
        if amount is None:
            raise DomainError("validation_error", _("Enter a whole number, such as 10 or -5."),
                              errors=[{"field": "amount", "message": _("Enter a whole number, such as 10 or -5.")}])
        entry = ledger.adjust(db.get_session(), current_user, target.id, amount,
                              request.form.get("reason", "")[:500])
        flash(_("Saved: %(amount)s points. New balance %(balance)s.", amount=entry.amount,
                balance=entry.balance_after), "success")
        return redirect(url_for("pages.adjust_points", user_id=target.id))
    return _points_page(target)
