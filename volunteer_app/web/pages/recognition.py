"""Recognition pages: leaderboards (period and team tabs), my badges, awards and certificates."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import access, accounts, recognition
from ...timeutil import local
from . import bp
from ..params import arg_id, to_id
from .common import field_errors, form_int, render, role_required, unit_of_work

PERIOD_LABELS = {"week": _l("This week"), "month": _l("This month"), "year": _l("This year"), "all": _l("All time")}


@bp.get("/leaderboard")
@login_required
def leaderboard():
    """The station's board, one team's board, or the teams ranked by points per member."""
    session_db = db.get_session()
    period = request.args.get("period", "month")
    if period not in recognition.PERIODS:
        period = "month"
    scope = request.args.get("scope", "station")
    team_id = arg_id("team_id") if scope == "team" else None
    if scope == "team" and team_id is None:
        scope = "station"
    if scope not in ("station", "team", "teams"):
        scope = "station"
    teams = recognition.station_teams(session_db, current_user)
    mine = set(recognition.my_team_ids(session_db, current_user))
    board, ranking, team = None, None, None
    if scope == "teams":
        ranking = recognition.team_ranking(session_db, current_user, period)
    else:
        if team_id is not None:
            team = next((row for row in teams if row.id == team_id), None)
            if team is None:
                abort(404)
        board = recognition.leaderboard(session_db, current_user, period, team_id)
    context = {"period": period, "scope": scope, "team": team, "teams": teams, "my_teams": [t for t in teams if t.id in mine],
               "board": board, "ranking": ranking, "period_labels": PERIOD_LABELS}
    return render("pages/recognition/leaderboard.html", "pages/recognition/_board.html", **context)


@bp.get("/badges")
@login_required
def badges():
    """My badges (earned ones with their date), my awards and my level."""
    session_db = db.get_session()
    board = recognition.badge_board(session_db, current_user.id)
    return render_template("pages/recognition/badges.html", badges=board,
                           earned=sum(1 for item in board if item["earned_at"]),
                           awards=recognition.awards_of(session_db, current_user.id),
                           progress=accounts.level_progress(current_user.lifetime_points))


@bp.get("/awards/<id:award_id>/certificate")
@login_required
def award_certificate(award_id: int):
    """A printable A4 certificate, in Chinese whatever the interface language."""
    session_db = db.get_session()
    award = recognition.get_award(session_db, current_user, award_id)
    person = accounts.person(session_db, current_user, award.user_id)
    granted = local(award.granted_at).date()
    return render_template("pages/recognition/certificate.html", award=award, person=person,
                           wording=recognition.certificate_wording(award, person, granted),
                           can_manage=access.coordinates_user(session_db, current_user, person))


# -- awards for coordinators ----------------------------------------------------------------------

def _picker(query: str, chosen: int | None) -> dict:
    """The person picker's results for ``query``, with the chosen person kept among them."""
    session_db = db.get_session()
    people, more = recognition.search_candidates(session_db, current_user, query)
    person = recognition.candidate(session_db, current_user, chosen)
    if person is not None and all(row["id"] != person["id"] for row in people):
        people.insert(0, person)
    return {"q": query, "people": people, "more": more, "chosen": person["id"] if person else None}


def _awards_context(**extra) -> dict:
    session_db = db.get_session()
    values = extra.get("values", {})
    return {"templates": recognition.templates(session_db, current_user.station_id),
            "recent": recognition.recent_awards(session_db, current_user),
            "errors": {}, "values": {}, "template_errors": {}, "template_values": {},
            **_picker(values.get("q", ""), values.get("user_id")), **extra}


@bp.get("/manage/awards/people")
@role_required("coordinator")
def award_people():
    """The picker's results as they are typed (the htmx partial of the award form)."""
    return render_template("pages/recognition/_award_people.html", errors={},
                           **_picker(request.args.get("q", "")[:64], None))


def _award_values() -> dict:
    return {"user_id": to_id(request.form.get("user_id")), "q": request.form.get("q", "")[:64],
            "template": request.form.get("template", "")[:40],
            "title": request.form.get("title", "")[:200], "note": request.form.get("note", "")[:2000],
            "points": request.form.get("points", "")[:12]}


def _award_refused(error: DomainError):
    return render_template("pages/recognition/awards.html",
                           **_awards_context(errors=field_errors(error), values=_award_values())), 422


@bp.route("/manage/awards", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_award_refused, error_page=("forbidden",))
def awards():
    """Grant an award from a template (or a title of one's own); see the latest ones."""
    if request.method == "GET":
        return render_template("pages/recognition/awards.html", **_awards_context(
            values={"user_id": to_id(request.args.get("user_id")), "q": request.args.get("q", "")[:64]}))
    session_db = db.get_session()
    values = _award_values()
    points = form_int("points") if values["points"].strip() else None
    if values["points"].strip() and points is None:
        raise DomainError("validation_error", _("Enter a whole number."),
                          errors=[{"field": "points", "message": _("Enter a whole number.")}])
    if values["user_id"] is None:
        raise DomainError("validation_error", _("Choose a volunteer."),
                          errors=[{"field": "user_id", "message": _("Choose a volunteer.")}])
    award = recognition.grant_award(session_db, current_user, user_id=values["user_id"], title=values["title"],
                                    points=points, note=values["note"], template_key=values["template"] or None)
    flash(_("The award was granted. Print the certificate below."), "ok")
    return redirect(url_for("pages.award_certificate", award_id=award.id))


def _template_values() -> dict:
    return {"new_title": request.form.get("new_title", "")[:200],
            "new_description": request.form.get("new_description", "")[:600],
            "new_points": request.form.get("new_points", "0")[:12]}


def _template_refused(error: DomainError):
    errors = {("new_" + key.replace("default_", "") if key != "_form" else key): message
              for key, message in field_errors(error).items()}
    return render_template("pages/recognition/awards.html", **_awards_context(
        template_errors=errors, template_values=_template_values())), 422


@bp.post("/manage/awards/templates")
@role_required("coordinator")
@unit_of_work(on_error=_template_refused, error_page=("forbidden",))
def award_template_new():
    """A station's own award, to pick from the list next time."""
    session_db = db.get_session()
    values = _template_values()
    points = form_int("new_points", 0)
    row = recognition.create_template(session_db, current_user, title=values["new_title"],
                                      default_points=points if points is not None else -1,
                                      description=values["new_description"])
    flash(_("The award %(title)s can now be granted.", title=row.title), "ok")
    return redirect(url_for("pages.awards"))
