"""Reports and exports: hours per team and volunteer for a period, CSV downloads (streamed), the
printable service-hours certificate, and a person's own data (JSON)."""
from __future__ import annotations

import json
from datetime import date

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...services import assessment, reports
from ...services.dashboard import scope_for, scope_people
from ...timeutil import local, utcnow
from ..params import arg_id, to_id
from . import bp
from .common import flash_and_redirect, render, role_required, unit_of_work

TABLE_ROWS = 200


def current_period() -> reports.Period:
    return reports.period(request.args.get("from"), request.args.get("to"))


def csv_response(export: reports.Export) -> Response:
    """Stream an export.

    Flask runs the generator after the request has been torn down (``stream_with_context``
    pushes the contexts again for it), so the request's session, already closed, opens a new
    read transaction for the rows: this wrapper keeps it a read (a plain ``BEGIN`` on SQLite,
    never the write lock) and closes it when the download ends or is abandoned.
    """
    session = db.get_session()

    def chunks():
        token = db.write_intent.set(False)
        try:
            yield from export.chunks
        finally:
            session.close()
            try:
                db.write_intent.reset(token)
            except ValueError:  # resumed in another context: nothing of ours to undo there
                pass

    response = Response(stream_with_context(chunks()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _period_or_error():
    """The period asked for, or the default one and the errors for the page to show."""
    return reports.period_or_default(request.args.get("from"), request.args.get("to"))


@bp.get("/reports")
@role_required("coordinator")
def reports_page():
    session = db.get_session()
    p, errors = _period_or_error()
    team_id, unit_id = arg_id("team"), arg_id("unit_id")
    scope = scope_for(session, current_user, team_id, unit_id)
    teams = reports.hours_by_team(session, scope, p)
    people = []
    for row in reports.hours_rows(session, scope_people(scope), p, batch=TABLE_ROWS + 1):
        people.append(row)
        if len(people) > TABLE_ROWS:
            break
    query = {"from": p.first.isoformat(), "to": p.last.isoformat()}
    if team_id:
        query["team"] = team_id
    if unit_id:
        query["unit_id"] = unit_id
    return render("pages/reports/index.html", "pages/reports/_tables.html", p=p, errors=errors, scope=scope,
                  grids=reports.by_grid(session, scope, p),
                  teams=teams, by_kind=reports.hours_by_kind(session, scope, p), people=people[:TABLE_ROWS], more=len(people) > TABLE_ROWS, query=query,
                  hours_available=reports.hours_available(), store_available=reports.store_available())


# -- CSV exports: authorization first (DomainError -> 403/404 page), then the stream -----------

@bp.get("/reports/hours-volunteers.csv")
@login_required
def export_hours_volunteers():
    return csv_response(reports.hours_by_volunteer_export(db.get_session(), current_user, current_period(),
                                                          team_id=arg_id("team"), unit_id=arg_id("unit_id")))


@bp.get("/reports/person-records.csv")
@login_required
def export_person_records():
    """Each person's record for the period: hours by kind, check-ins, tips, disputes, visits."""
    return csv_response(assessment.export(db.get_session(), current_user, current_period(), team_id=arg_id("team"),
                                          unit_id=arg_id("unit_id")))


@bp.get("/reports/hours-teams.csv")
@login_required
def export_hours_teams():
    return csv_response(reports.hours_by_team_export(db.get_session(), current_user, current_period(),
                                                     team_id=arg_id("team"), unit_id=arg_id("unit_id")))


@bp.get("/reports/national-hours.csv")
@role_required("coordinator")
def export_national_hours():
    """The national volunteer information system's import, ID numbers masked."""
    return csv_response(reports.national_export(db.get_session(), current_user, current_period(),
                                                team_id=arg_id("team"), unit_id=arg_id("unit_id")))


@bp.post("/reports/national-hours.csv")
@role_required("admin")
@unit_of_work()
def export_national_hours_in_full():
    """The same with full ID numbers, for an admin; the reading is audited (committed before
    the file is sent)."""
    export = reports.national_export(db.get_session(), current_user, current_period(), team_id=arg_id("team"),
                                     unit_id=arg_id("unit_id"),
                                     full_id_numbers=True)
    return lambda: csv_response(export)


@bp.get("/reports/ledger.csv")
@login_required
def export_ledger():
    return csv_response(reports.ledger_export(db.get_session(), current_user, current_period(),
                                              user_id=arg_id("user"), team_id=arg_id("team"), unit_id=arg_id("unit_id")))


@bp.get("/reports/checkins.csv")
@login_required
def export_checkins():
    return csv_response(reports.checkin_export(db.get_session(), current_user, current_period(),
                                               user_id=arg_id("user"), team_id=arg_id("team"), unit_id=arg_id("unit_id")))


@bp.get("/reports/grids.csv")
@login_required
def export_grids():
    """Check-ins, tips and care visits by grid (网格)."""
    return csv_response(reports.grid_export(db.get_session(), current_user, current_period(), team_id=arg_id("team"),
                                            unit_id=arg_id("unit_id")))


@bp.get("/reports/store.csv")
@login_required
def export_store():
    return csv_response(reports.store_export(db.get_session(), current_user, current_period()))


# -- the certificate ---------------------------------------------------------------------------

@bp.get("/reports/certificate/<id:user_id>")
@login_required
def certificate(user_id: int):
    p, errors = _period_or_error()
    if not request.args.get("from"):  # default: the year so far
        p = reports.period(local(utcnow()).date().replace(month=1, day=1), None)
    cert = reports.certificate(db.get_session(), current_user, user_id, p)
    return render("pages/reports/certificate.html", cert=cert, errors=errors)


# -- my data -----------------------------------------------------------------------------------

@bp.get("/me/data.json")
@login_required
def my_data():
    from ...services import personal_data

    data = personal_data.export(db.get_session(), current_user, current_user.id)
    body = json.dumps(data, ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/json")
    name = f"my-data-{current_user.id}-{date.today().isoformat()}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/me/export")
@login_required
def my_exports():
    """A person's own downloads: data, ledger, check-ins, certificate."""
    p, errors = _period_or_error()
    return render("pages/reports/mine.html", p=p, errors=errors)


# -- anonymising someone who has left (admins) -------------------------------------------------

@bp.route("/manage/personal-data", methods=["GET", "POST"])
@role_required("admin")
@unit_of_work(on_error=flash_and_redirect(lambda: url_for("pages.personal_data_page")))
def personal_data_page():
    from ...services import accounts, personal_data

    session = db.get_session()
    if request.method == "POST":
        user_id = to_id(request.form.get("user_id"))
        if user_id is None:
            flash(_("Choose a person first."), "error")
            return redirect(url_for("pages.personal_data_page"))
        if request.form.get("confirm") != "yes":
            flash(_("Tick the box to confirm."), "error")
            return redirect(url_for("pages.personal_data_page", q=request.form.get("q", "")))
        user = personal_data.anonymise(session, current_user, user_id)
        flash(_("The account has been anonymised: it is now %(name)s.", name=user.username), "ok")
        return redirect(url_for("pages.personal_data_page"))
    query = (request.args.get("q") or "").strip()[:64]
    people = accounts.search_users(session, current_user, query=query, limit=20) if query else []
    return render("pages/reports/personal_data.html", query=query, people=people)
