"""Home and profile."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ... import db
from ...errors import DomainError
from ...services import access, accounts, expiry, service, shifts, teams, units
from . import bp
from .auth import start_session
from .common import field_errors, make_reminders, settle_service, unit_of_work


def works_only_at_the_counter(user) -> bool:
    """A clerk who is not also a volunteer or a coordinator: their home is the counter."""
    return user.role_set() == {"clerk"}


@bp.get("/")
@login_required
def home():
    if works_only_at_the_counter(current_user):
        return redirect(url_for("pages.counter"))
    make_reminders()
    settle_service(current_user.id)
    session_db = db.get_session()
    return render_template("pages/home.html", teams=teams.teams_of(session_db, current_user), duty=_my_duty(session_db),
                           on_duty=service.running(session_db, current_user),
                           progress=accounts.level_progress(current_user.lifetime_points),
                           expiring=expiry.expiring(session_db, current_user.id),
                           led_units=units.led_units(session_db, current_user),
                           area=access.assistant_area(current_user))


def _my_duty(session_db) -> dict | None:
    """The shift I am on now, else my next confirmed one, with its route and next checkpoint."""
    running = shifts.running_shift(session_db, current_user)
    shift = running or next((row for row in shifts.my_shifts(session_db, current_user)
                             if getattr(shifts.signup_of(session_db, row.id, current_user.id), "status", None) == "confirmed"),
                            None)
    if shift is None:
        return None
    progress = shifts.my_progress(session_db, current_user, shift)
    return {"shift": shift, "running": running is not None, "progress": progress}


def _profile_page(errors: dict | None = None):
    action = request.form.get("action") if request.method == "POST" else None
    form = request.form if errors and action == "details" else None
    return render_template("pages/profile.html", errors=errors or {}, action=action, form=form,
                           languages=(("zh_CN", "中文"), ("en", "English"))), (422 if errors else 200)


def _profile_refused(error: DomainError):
    errors = field_errors(error)
    if request.form.get("action") == "password" and "password" in errors:
        errors["new_password"] = errors.pop("password")
    return _profile_page(errors)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_profile_refused)
def profile():
    """My details, 长辈版, leaderboard privacy, language, password, and signing out."""
    me = current_user._get_current_object()  # the User itself, never the proxy, into the session
    action = request.form.get("action") if request.method == "POST" else None
    session_db = db.get_session()
    if action == "details":
        language = request.form.get("language") or None
        accounts.update_profile(session_db, me,
                                display_name=request.form.get("display_name", "")[:300],
                                phone=request.form.get("phone", "")[:300],
                                language=language,
                                large_mode=request.form.get("large_mode") == "1",
                                leaderboard_anonymous=request.form.get("leaderboard_anonymous") == "1")
        if language:
            session["lang"] = language
        flash(_("Saved."), "ok")
        return redirect(url_for("pages.profile"))
    if action == "password":
        new = request.form.get("new_password", "")[:300]
        if new != request.form.get("new_password2", "")[:300]:
            raise DomainError("validation_error", _("The two passwords differ."),
                              errors=[{"field": "new_password2", "message": _("The two passwords differ.")}])
        accounts.change_password(session_db, me, request.form.get("current_password", "")[:300], new)
        start_session(me)  # every other session has ended; this one goes on
        flash(_("Your password has been changed. You have been signed out everywhere else."), "ok")
        return redirect(url_for("pages.profile"))
    if action == "logout_all":
        accounts.end_all_sessions(session_db, me)
        logout_user()
        session.clear()
        flash(_("You have been signed out on all your devices."), "ok")
        return redirect(url_for("pages.login"))
    return _profile_page()
