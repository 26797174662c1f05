"""Shift pages: volunteers sign up and follow their route; coordinators plan weeks, watch a
running shift and settle attendance. Notices and the calendar feed live here too.

Every action works as a plain form (POST, then a redirect with a message) and as an htmx
request (the changed card or row comes back in place).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import access, accounts, checkpoints, notices, shifts, teams, units
from ... import timeutil
from ...timeutil import local, station_tz
from ...web import htmx, links
from ...parsing import BadValue, parse_day
from ..params import arg_day, form_day, form_id, value_id
from . import bp
from .common import (field_errors, flash_and_redirect, form_int, make_reminders, render, role_required, safe_next,
                     unit_of_work)

FILL_WORDS = {"empty": _l("No one yet"), "open": _l("Places free"), "nearly_full": _l("Nearly full"),
              "full": _l("Full")}
STATUS_WORDS = {"confirmed": _l("Confirmed"), "waitlisted": _l("On the waitlist"), "cancelled": _l("Withdrawn"),
                "no_show": _l("No-show")}
ROUTE_STOPS = 8  # stop pickers on the shift form


def _partial() -> bool:
    return bool(htmx) and not htmx.boosted


@bp.app_context_processor
def _notice_helpers():
    def unread_notices() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        return notices.unread_count(db.get_session(), current_user.id)
    def scan_url() -> str | None:
        return url_for("pages.scan") if "pages.scan" in current_app.view_functions else None
    return {"unread_notices": unread_notices, "fill_words": FILL_WORDS, "signup_words": STATUS_WORDS,
            "scan_url": scan_url}


def _cards(session_db, rows: list) -> list[dict]:
    """What a shift card shows: the shift, its route and counts, names, my sign-up and the fill level."""
    ids = [row.id for row in rows]
    routes, counts = shifts.routes_for(session_db, ids), shifts.counts_for(session_db, ids)
    views = [{"checkpoint_ids": routes[row.id], "confirmed_count": counts[row.id]["confirmed"],
              "waitlist_count": counts[row.id]["waitlisted"]} for row in rows]
    mine = shifts.my_signups(session_db, current_user.id, ids)
    names = shifts.checkpoint_names(session_db, [cp for view in views for cp in view["checkpoint_ids"]])
    team_names = {team.id: team.name for team in teams.list_teams(session_db, current_user)}
    now = timeutil.utcnow()
    cards = []
    for row, view in zip(rows, views):
        cards.append({"shift": row, "view": view, "mine": mine.get(row.id), "team": team_names.get(row.team_id, ""),
                      "route": [names.get(cp, "?") for cp in view["checkpoint_ids"]],
                      "fill": shifts.fill_level(view["confirmed_count"], row.capacity),
                      "started": row.starts_at <= now,
                      "next_day": local(row.ends_at - timedelta(minutes=1)).date() != local(row.starts_at).date(),
                      "running": row.starts_at - shifts.GRACE <= now <= row.ends_at + shifts.GRACE})
    return cards


# -- volunteers -----------------------------------------------------------------------------------

@bp.get("/shifts")
@login_required
def my_shifts():
    make_reminders()
    session_db = db.get_session()
    running = shifts.running_shift(session_db, current_user)
    mine = [s for s in shifts.my_shifts(session_db, current_user) if not running or s.id != running.id]
    mine_ids = {s.id for s in mine} | ({running.id} if running else set())
    open_rows = [s for s in shifts.open_shifts(session_db, current_user) if s.id not in mine_ids]
    return render("pages/shifts/mine.html", running=running,
                  progress=shifts.my_progress(session_db, current_user, running) if running else None,
                  mine=_cards(session_db, mine), open=_cards(session_db, open_rows),
                  in_team=bool(access.team_ids_of(session_db, current_user.id)))


@bp.get("/shifts/<id:shift_id>")
@login_required
def shift_detail(shift_id: int):
    session_db = db.get_session()
    shift = shifts.get_shift(session_db, current_user, shift_id)
    card = _cards(session_db, [shift])[0]
    progress = None
    if card["mine"] and card["mine"]["status"] == "confirmed":
        progress = shifts.my_progress(session_db, current_user, shift)
    return render("pages/shifts/detail.html", "pages/shifts/_route.html", card=card, shift=shift,
                  progress=progress)


def _signup_answer(shift_id: int, action: str, message: str, error: bool):
    if not _partial():
        flash(message, "error" if error else "success")
        return redirect(safe_next(request.form.get("next"), url_for("pages.my_shifts")))
    session_db = db.get_session()
    shift = shifts.get_shift(session_db, current_user, shift_id)
    return render("pages/shifts/_card.html", card=_cards(session_db, [shift])[0], message=message,
                  error=error, withdrawn=action == "withdraw" and not error)


def _signup_refused(failure: DomainError, shift_id: int, action: str):
    if failure.code == "not_found" and action == "signup":
        raise failure
    return _signup_answer(shift_id, action, str(failure.message), True)


@bp.post("/shifts/<id:shift_id>/<any(signup, withdraw):action>")
@login_required
@unit_of_work(on_error=_signup_refused)
def shift_signup(shift_id: int, action: str):
    """Sign up at one tap; withdrawing asks first (``confirm=1`` goes ahead), with htmx (the
    card asks in place) and without (a page asks)."""
    session_db = db.get_session()
    if action == "withdraw" and request.form.get("confirm") != "1":
        shift = shifts.get_shift(session_db, current_user, shift_id)
        card = _cards(session_db, [shift])[0]
        if _partial():
            return render("pages/shifts/_card.html", card=card, confirm_withdraw=True)
        return render_template("pages/shifts/withdraw.html", card=card, shift=shift, confirm_withdraw=True,
                               next=safe_next(request.form.get("next"), url_for("pages.my_shifts")))
    if action == "signup":
        row = shifts.signup(session_db, current_user, shift_id)
        message = (_("You are signed up.") if row.status == "confirmed" else
                   _("The shift is full: you are number %(n)s on the waitlist.",
                     n=shifts.waitlist_position(session_db, row)))
    else:
        shifts.cancel_signup(session_db, current_user, shift_id)
        message = _("You have withdrawn from this shift.")
    return lambda: _signup_answer(shift_id, action, message, False)


@bp.get("/shifts/calendar")
@login_required
@unit_of_work()
def shift_calendar():
    session_db = db.get_session()
    token = shifts.feed_token(session_db, current_user)
    return render("pages/shifts/calendar.html", feed_url=links.base_url() + url_for("pages.shift_feed", token=token))


@bp.post("/shifts/calendar/revoke")
@login_required
@unit_of_work()
def shift_calendar_revoke():
    shifts.revoke_feed(db.get_session(), current_user)
    flash(_("The old calendar link no longer works. Subscribe again with the new one."), "success")
    return redirect(url_for("pages.shift_calendar"))


@bp.get("/shifts/feed/<token>.ics")
def shift_feed(token: str):
    session_db = db.get_session()
    user = shifts.feed_user(session_db, token[:80])
    if user is None:
        abort(404)
    body = shifts.ical(session_db, user, base_url=links.base_url())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="shifts.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/notices")
@login_required
def notice_list():
    make_reminders()
    session_db = db.get_session()
    rows = notices.list_for(session_db, current_user.id, limit=100)
    unread = {row.id for row in rows if row.read_at is None}
    return render("pages/shifts/notices.html", rows=rows, unread=unread)


@bp.post("/notices/read")
@login_required
@unit_of_work()
def notices_read():
    notices.mark_all_read(db.get_session(), current_user.id)
    return redirect(url_for("pages.notice_list"))


# -- coordinators ---------------------------------------------------------------------------------

def _teams_i_manage(session_db) -> list:
    return teams.managed_teams(session_db, current_user)


def _pick_team(session_db) -> tuple[list, object | None]:
    choices = _teams_i_manage(session_db)
    wanted = value_id("team")
    team = next((t for t in choices if t.id == wanted), None)
    if team is None and choices:  # the team whose next shift comes first, else the first team
        upcoming = shifts.list_shifts(session_db, current_user, team_ids=[t.id for t in choices], limit=1)
        team = next((t for t in choices if upcoming and t.id == upcoming[0].team_id), choices[0])
    return choices, team


@bp.get("/manage/shifts")
@role_required("coordinator")
def shift_week():
    session_db = db.get_session()
    choices, team = _pick_team(session_db)
    today = local(timeutil.utcnow()).date()
    day = arg_day("week") or today
    week = shifts.week(session_db, current_user, team.id, day) if team else None
    if week:
        for entry in week["days"]:
            for item in entry["shifts"]:
                item["fill"] = shifts.fill_level(item["confirmed"], item["shift"].capacity)
                item["running"] = item["shift"].starts_at <= timeutil.utcnow() <= item["shift"].ends_at
                item["over"] = item["shift"].ends_at < timeutil.utcnow()
    return render("pages/shifts/week.html", "pages/shifts/_week.html", teams=choices, team=team, week=week,
                  today=today, timedelta=timedelta)


def _copy_week_day():
    return form_day("week") or local(timeutil.utcnow()).date()


def _next_week_url() -> str:
    return url_for("pages.shift_week", team=form_id("team_id") or 0,
                   week=(_copy_week_day() + timedelta(days=7)).isoformat())


@bp.post("/manage/shifts/copy-week")
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(_next_week_url))
def shift_copy_week():
    made = shifts.copy_week(db.get_session(), current_user, form_id("team_id") or 0, _copy_week_day())
    flash(_("%(n)s shifts copied to the next week.", n=len(made)) if made else
          _("Nothing to copy: the next week already has these shifts."), "success")
    return redirect(_next_week_url())


def _form_datetime(day_field: str, time_field: str) -> datetime | None:
    try:
        day = parse_day(request.form.get(day_field, ""))
        clock = time.fromisoformat(request.form.get(time_field, "")[:5])
    except ValueError:  # parsing.BadValue is one
        return None
    return datetime.combine(day, clock, tzinfo=station_tz())


def _form_route() -> list[int]:
    stops = [form_id(f"stop{n}") for n in range(1, ROUTE_STOPS + 1)]
    return [stop for stop in stops if stop]


def _shift_form_values(shift, session_db) -> dict:
    if request.method == "POST":
        values = {key: request.form.get(key, "")[:200] for key in
                  ("title", "day", "start", "end", "capacity", "points_per_hour", "repeat_until", "team_id",
                   "unit_id")}
        values["route"] = _form_route()
        return values
    if shift is None:
        tomorrow = local(timeutil.utcnow()).date() + timedelta(days=1)
        return {"title": "", "day": tomorrow.isoformat(), "start": "19:00", "end": "21:00", "capacity": "4",
                "points_per_hour": "10", "repeat_until": "", "team_id": request.args.get("team", ""), "route": [],
                "unit_id": ""}
    start, end = local(shift.starts_at), local(shift.ends_at)
    return {"title": shift.title, "day": start.date().isoformat(), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
            "capacity": str(shift.capacity), "points_per_hour": str(shift.points_per_hour), "repeat_until": "",
            "team_id": str(shift.team_id), "route": shifts.route_ids(session_db, shift.id),
            "unit_id": str(shift.unit_id or "")}


def _times_from_form() -> tuple[datetime | None, datetime | None]:
    start = _form_datetime("day", "start")
    end = _form_datetime("day", "end")
    if start and end and end <= start:
        end += timedelta(days=1)  # a night shift ends the next morning
    return start, end


def _int_or_error(name: str, errors: dict) -> int | None:
    value = form_int(name)
    if value is None:
        errors[name] = _("Enter a whole number.")
    return value


def _shift_form(shift, choices: list, errors: dict | None = None):
    session_db = db.get_session()
    team_units = [(team, units.list_units(session_db, current_user, team.id)) for team in choices]
    return render("pages/shifts/form.html", teams=choices, values=_shift_form_values(shift, session_db),
                  team_units=[(team, rows) for team, rows in team_units if rows],
                  errors=errors or {}, shift=shift, checkpoints=_checkpoints(session_db), stops=ROUTE_STOPS), \
        (422 if errors else 200)


def _shift_errors(failure: DomainError) -> dict:
    errors = field_errors(failure)
    if "starts_at" in errors or "ends_at" in errors:
        errors["start"] = errors.pop("starts_at", None) or errors.pop("ends_at")
    return errors


def _new_shift_refused(failure: DomainError):
    return _shift_form(None, _teams_i_manage(db.get_session()), _shift_errors(failure))


@bp.route("/manage/shifts/new", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_new_shift_refused)
def shift_new():
    session_db = db.get_session()
    choices = _teams_i_manage(session_db)
    errors: dict = {}
    if request.method == "POST":
        values = _shift_form_values(None, session_db)
        start, end = _times_from_form()
        if start is None or end is None:
            errors["start"] = _("Enter the date and both times.")
        capacity = _int_or_error("capacity", errors)
        pph = _int_or_error("points_per_hour", errors)
        repeat = None
        if values["repeat_until"]:
            try:
                repeat = parse_day(values["repeat_until"])
            except BadValue:
                errors["repeat_until"] = _("Enter a date.")
        if not errors:
            made = shifts.create_shifts(session_db, current_user, team_id=form_id("team_id") or 0,
                                        title=values["title"], starts_at=start, ends_at=end, capacity=capacity,
                                        checkpoint_ids=values["route"], points_per_hour=pph,
                                        repeat_weekly_until=repeat, unit_id=form_id("unit_id"))
            flash(_("%(n)s shifts created.", n=len(made)) if len(made) > 1 else _("Shift created."), "success")
            return redirect(url_for("pages.shift_week", team=made[0].team_id,
                                    week=local(made[0].starts_at).date().isoformat()))
    return _shift_form(None, choices, errors)


def _shift_to_edit(shift_id: int):
    """The shift and its team, which the coordinator must manage."""
    session_db = db.get_session()
    shift = shifts.get_shift(session_db, current_user, shift_id)
    return shift, teams.team_for_manager(session_db, current_user, shift.team_id)


def _edit_refused(failure: DomainError, shift_id: int):
    shift, team = _shift_to_edit(shift_id)  # refused again if that was why
    return _shift_form(shift, [team], _shift_errors(failure))


@bp.route("/manage/shifts/<id:shift_id>/edit", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_edit_refused)
def shift_edit(shift_id: int):
    session_db = db.get_session()
    shift, team = _shift_to_edit(shift_id)
    errors: dict = {}
    if request.method == "POST":
        values = _shift_form_values(shift, session_db)
        start, end = _times_from_form()
        if start is None or end is None:
            errors["start"] = _("Enter the date and both times.")
        capacity = _int_or_error("capacity", errors)
        pph = _int_or_error("points_per_hour", errors)
        if not errors:
            shifts.edit_shift(session_db, current_user, shift.id, title=values["title"], starts_at=start,
                              ends_at=end, capacity=capacity, points_per_hour=pph,
                              checkpoint_ids=values["route"])
            flash(_("Shift saved. Everyone signed up has been told of a new time or route."), "success")
            return redirect(url_for("pages.shift_week", team=shift.team_id,
                                    week=local(shift.starts_at).date().isoformat()))
    return _shift_form(shift, [team], errors)


def _checkpoints(session_db) -> list:
    return checkpoints.list_for(session_db, current_user, active_only=True)


@bp.post("/manage/shifts/<id:shift_id>/cancel")
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(lambda shift_id: url_for("pages.shift_edit", shift_id=shift_id)),
              error_page=("not_found", "forbidden"))
def shift_cancel(shift_id: int):
    shift = shifts.cancel_shift(db.get_session(), current_user, shift_id, reason=request.form.get("reason", "")[:300])
    flash(_("The shift is cancelled and everyone signed up has been told."), "success")
    return redirect(url_for("pages.shift_week", team=shift.team_id, week=local(shift.starts_at).date().isoformat()))


def _roster(session_db, shift_id: int) -> dict:
    shift, route, rows = shifts.live(session_db, current_user, shift_id)
    names = shifts.checkpoint_names(session_db, route)
    now = timeutil.utcnow()
    team = teams.get_team(session_db, current_user, shift.team_id)
    return {"shift": shift, "route": [{"id": cp, "name": names.get(cp, "?")} for cp in route], "rows": rows,
            "running": shift.starts_at - shifts.GRACE <= now <= shift.ends_at + shifts.GRACE,
            "started": shift.starts_at <= now, "over": shift.ends_at < now,
            "team": team, "manager": access.is_team_manager(session_db, current_user, team),
            "counts": shifts.counts_for(session_db, [shift.id])[shift.id]}


@bp.get("/manage/shifts/<id:shift_id>")
@login_required  # the service decides: the team's coordinators, a sub-unit shift's leaders
def shift_live(shift_id: int):
    session_db = db.get_session()
    return render("pages/shifts/live.html", "pages/shifts/_roster.html", **_roster(session_db, shift_id))


def _roster_url(shift_id: int, user_id: int, action: str = "") -> str:
    return url_for("pages.shift_live", shift_id=shift_id) + f"#u{user_id}"


@bp.post("/manage/shifts/<id:shift_id>/attendance/<id:user_id>/<any(no_show, confirm):action>")
@login_required  # as shift_live
@unit_of_work(on_error=flash_and_redirect(_roster_url), error_page=("not_found", "forbidden"))
def shift_attendance(shift_id: int, user_id: int, action: str):
    session_db = db.get_session()
    if action == "no_show":
        shifts.mark_no_show(session_db, current_user, shift_id, user_id, request.form.get("comment", "")[:500])
        message = _("Marked as no-show.")
    else:
        shifts.confirm_attendance(session_db, current_user, shift_id, user_id)
        message = _("Attendance confirmed: points and hours are credited.")
    flash(message, "success")
    return redirect(_roster_url(shift_id, user_id))


@bp.get("/manage/no-shows")
@role_required("coordinator")
def no_shows():
    session_db = db.get_session()
    return render("pages/shifts/no_shows.html", rows=shifts.blocked_volunteers(session_db, current_user))


@bp.post("/manage/no-shows/<id:user_id>/clear")
@role_required("coordinator")
@unit_of_work()
def no_shows_clear(user_id: int):
    session_db = db.get_session()
    shifts.clear_no_shows(session_db, current_user, user_id, request.form.get("comment", "")[:500])
    user = accounts.person(session_db, current_user, user_id)
    flash(_("%(name)s can sign up for shifts again.", name=user.display_name), "success")
    return redirect(url_for("pages.no_shows"))
