"""Home and profile."""
from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...models import Team
from ...services import access, accounts
from . import bp
from .auth import start_session
from .common import field_errors


@bp.get("/")
@login_required
def home():
    session_db = db.get_session()
    team_ids = access.team_ids_of(session_db, current_user.id)
    teams = [session_db.get(Team, team_id) for team_id in team_ids]
    return render_template("pages/home.html", teams=teams,
                           progress=accounts.level_progress(current_user.lifetime_points))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    errors, saved = {}, None
    if request.method == "POST":
        action = request.form.get("action")
        session_db = db.get_session()
        try:
            if action == "details":
                accounts.update_profile(session_db, current_user,
                                        display_name=request.form.get("display_name", "")[:300],
                                        phone=request.form.get("phone", "")[:300],
                                        large_mode=request.form.get("large_mode") == "1",
                                        leaderboard_anonymous=request.form.get("leaderboard_anonymous") == "1")
                saved = _("Saved.")
            elif action == "password":
                new = request.form.get("new_password", "")[:300]
                if new != request.form.get("new_password2", "")[:300]:
                    raise DomainError("validation_error", _("The two passwords differ."),
                                      errors=[{"field": "new_password2", "message": _("The two passwords differ.")}])
                accounts.change_password(session_db, current_user, request.form.get("current_password", "")[:300], new)
                start_session(current_user)  # every other session has ended; this one goes on
                saved = _("Your password has been changed. You have been signed out everywhere else.")
            elif action == "logout_all":
                accounts.end_all_sessions(session_db, current_user)
                db.commit()
                session.clear()
                return redirect(url_for("pages.login"))
            db.commit()
        except DomainError as error:
            session_db.rollback()
            errors = field_errors(error)
    return render_template("pages/profile.html", errors=errors, saved=saved), (422 if errors else 200)
