"""Stations of the county: the switcher in the header, the county's list of stations, and a
station's join code (a printable page with its QR code) that opens registration there."""
from __future__ import annotations

import base64

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import county, csv_export, qr, station_settings, stations, svg, teams
from ...settings import setting
from .. import htmx, links
from ..params import arg_day, arg_id, form_id
from . import bp
from .common import field_errors, flash_and_redirect, render, role_required, safe_next, unit_of_work


def join_url(token: str) -> str:
    return f"{links.base_url()}/join/{token}"


@bp.post("/station")
@login_required
def switch_station():
    """A county_admin chooses the station they act in (kept in the session)."""
    if not current_user.is_county_admin:
        abort(403)
    station_id = form_id("station_id")
    stations.get_station(db.get_session(), current_user, station_id or 0)  # not_found for no station
    session["station_id"] = station_id
    return redirect(safe_next(request.form.get("next")))


def _list_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    session_db = db.get_session()
    rows = stations.list_stations(session_db, current_user)
    counts = stations.member_counts(session_db, [row.id for row in rows])
    return render_template("pages/stations/index.html", rows=rows, counts=counts, errors=errors or {},
                           values=values or {}, zone=setting("STATION_TZ")), status


def _create_refused(error: DomainError):
    values = {key: request.form.get(key, "")[:100] for key in ("name", "short_name", "timezone")}
    return _list_page(field_errors(error), values, 422 if error.status == 422 else error.status)


@bp.route("/county/stations", methods=["GET", "POST"])
@role_required("county_admin")
@unit_of_work(on_error=_create_refused, error_page=("forbidden",))
def station_list():
    if not current_user.is_county_admin:
        abort(403)
    if request.method == "POST":
        station = stations.create_station(db.get_session(), current_user, name=request.form.get("name", "")[:200],
                                          short_name=request.form.get("short_name", "")[:64],
                                          timezone=request.form.get("timezone", "")[:64])
        session["station_id"] = station.id
        return redirect(url_for("pages.station_invite", station_id=station.id))
    return _list_page()


def _invite_target(station_id: int) -> str:
    return url_for("pages.station_invite", station_id=station_id)


@bp.route("/stations/<id:station_id>/invite", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(_invite_target), error_page=("forbidden", "not_found"))
def station_invite(station_id: int):
    """The station's join code (for a team, if chosen) as a printable page; revoking voids
    every code printed before."""
    session_db = db.get_session()
    station = stations.get_station(session_db, current_user, station_id)
    if station.id != current_user.station_id:  # a county_admin opens another station: act there
        session["station_id"] = station.id
        return redirect(_invite_target(station.id))
    if request.method == "POST":
        stations.revoke_join_codes(session_db, current_user, station.id)
        flash(_("Every join code printed before no longer works."), "success")
        return redirect(_invite_target(station.id))
    team_id = arg_id("team_id")
    token, expires_at = stations.join_code(session_db, current_user, station.id, team_id=team_id)
    url = join_url(token)
    team_rows = teams.list_teams(session_db, current_user)
    with force_locale(setting("BABEL_DEFAULT_LOCALE")):
        words = {"top": _("Join our volunteer patrol"), "call": _("Scan to register"),
                 "how": _("Open the phone camera or WeChat Scan, open the link, then fill in the form")}
    return render_template("pages/stations/invite.html", station=station, url=url, expires_at=expires_at,
                           qr="data:image/svg+xml;base64," + base64.b64encode(qr.svg(url).encode()).decode(),
                           teams=team_rows, team=next((row for row in team_rows if row.id == team_id), None),
                           words=words)


@bp.get("/join/<token>")
def join(token: str):
    """A scanned join code: registration in its station (a bad or expired one says so there)."""
    return redirect(url_for("pages.register", join=token[:300]))


def _period():
    return county.period(arg_day("since"), arg_day("until"))


@bp.get("/county")
@role_required("county_admin")
def county_dashboard():
    """Per station: members, active ones, check-ins, hours, points and tips, for a period; a
    plot of points issued and redeemed; drill into a station; CSV export."""
    if not current_user.is_county_admin:
        abort(403)
    p = _period()
    rows = county.summary(db.get_session(), current_user, p)
    flow = svg.points_flow([(row["short_name"] or row["name"][:4], row["points_issued"], row["points_redeemed"])
                            for row in rows], _("Points issued and redeemed by station"), _("Issued"), _("Redeemed"))
    totals = {key: sum(row[key] for row in rows)
              for key in ("volunteers", "active_volunteers", "checkins", "hours_served", "points_issued",
                          "points_redeemed")}
    return render_template("pages/stations/county.html", rows=rows, period=p, plot=flow.markup(), totals=totals)


@bp.get("/county/summary.csv")
@role_required("county_admin")
def county_csv():
    if not current_user.is_county_admin:
        abort(403)
    p = _period()
    rows = county.summary(db.get_session(), current_user, p)
    header = [_("Station"), _("Members"), _("Active in the last 30 days"), _("Check-ins"), _("Hours served"),
              _("Points issued"), _("Points redeemed"), _("Red tips"), _("Yellow tips"), _("Blue tips"),
              _("Overdue open tips"), _("Publicity sessions"), _("People reached")]
    body = "".join(csv_export.csv_stream(header, [
        [row["name"], row["volunteers"], row["active_volunteers"], row["checkins"], row["hours_served"],
         row["points_issued"], row["points_redeemed"], row["tips"]["red"], row["tips"]["yellow"],
         row["tips"]["blue"], row["tips"]["open_overdue"], row["publicity"]["sessions"],
         row["publicity"]["people_reached"]] for row in rows]))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=county-{p.since}-{p.until}.csv"
    return response


# -- the station's own settings -----------------------------------------------------------------

def _settings_page(errors: dict | None = None, typed: dict | None = None, message: str | None = None,
                   status: int = 200):
    rows = station_settings.effective(db.get_session(), current_user, current_user.station_id)
    groups = [(key, label, [row for row in rows if row["group"] == key])
              for key, label in station_settings.GROUPS.items()]
    return render("pages/stations/settings.html", "pages/stations/_settings_form.html", groups=groups,
                  errors=errors or {}, typed=typed or {}, shown=station_settings.shown, said=_said, message=message), status


def _said(value) -> str:
    """A value as a person reads it (yes / no for a switch)."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _settings_refused(error: DomainError):
    if error.code != "validation_error":
        raise error
    typed = {field: request.form.get(field, "")[:600] for field in station_settings.BY_FIELD}
    errors = field_errors(error)
    if not set(errors) & set(station_settings.BY_FIELD):
        errors["_form"] = str(error.message)
    return _settings_page(errors, typed, status=422)


@bp.route("/station/settings", methods=["GET", "POST"])
@role_required("admin")
@unit_of_work(on_error=_settings_refused, error_page=("forbidden", "not_found"))
def station_settings_page():
    """站点设置: the settings the station (the one acted in) sets itself, grouped, each with
    the deployment's value as a hint and a button back to it."""
    if request.method == "GET":
        return _settings_page()
    session_db = db.get_session()
    reset = request.form.get("reset")
    if reset is not None:
        changes = {reset[:64]: None}
    else:
        changes = {}  # what differs from the form as shown; an emptied field goes back to the default
        for row in station_settings.effective(session_db, current_user, current_user.station_id):
            text = request.form.get(row["field"], "")[:600].strip()
            if not text and row["station_set"]:
                changes[row["field"]] = None
            elif text and text != station_settings.shown(row["value"]):
                changes[row["field"]] = text
    station_settings.update(session_db, current_user, current_user.station_id, changes)
    message = _("Saved.") if changes else _("Nothing was changed.")
    if htmx and not htmx.boosted:
        return lambda: _settings_page(message=message)
    flash(message, "success")
    return redirect(url_for("pages.station_settings_page"), code=303)
