"""Login, logout, registration and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ... import db
from ...errors import DomainError
from ...services import accounts, checkpoints, stations
from ..params import form_id
from . import bp
from .common import field_errors, safe_next, unit_of_work


def start_session(user) -> None:
    """A fresh browser session (no fixation) backed by a server-side session token."""
    lang = session.get("lang")
    session.clear()
    raw, _token = accounts.issue_token(db.get_session(), user, kind="web")
    session["sid"] = raw
    if lang and not user.language:
        session["lang"] = lang
    session.permanent = True
    login_user(user)


def _login_refused(error: DomainError):
    if error.code == "pending_approval":
        return redirect(url_for("pages.pending"))
    status = 429 if error.code == "too_many_attempts" else 200
    next_url = safe_next(request.values.get("next"))
    return render_template("pages/login.html", errors={"_form": str(error.message)},
                           username=request.form.get("username", "")[:64], next=next_url,
                           waiting=checkpoints.waiting_at(db.get_session(), next_url)), status


@bp.route("/login", methods=["GET", "POST"])
@unit_of_work(on_error=_login_refused)
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    errors, username = {}, ""
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:256]
        user = accounts.authenticate(db.get_session(), username, password, ip=request.remote_addr or "")
        start_session(user)
        if not user.large_mode_offered and not next_url.startswith("/c/"):  # a poster: the offer comes after
            return redirect(url_for("pages.welcome", next=next_url))
        return redirect(next_url)
    return render_template("pages/login.html", errors=errors, username=username, next=next_url,
                           waiting=checkpoints.waiting_at(db.get_session(), next_url))


@bp.post("/logout")
@unit_of_work()
def logout():
    sid = session.get("sid")
    if sid:
        accounts.revoke_token(db.get_session(), sid)
    logout_user()
    session.clear()
    return redirect(url_for("pages.login"))


def _register_page(errors: dict, values: dict, status: int):
    """The form; with a join code, the station (and team) it opens; without one, a choice of
    station when there are several."""
    session_db = db.get_session()
    join = request.values.get("join", "")[:300]
    joining = None
    if join:
        joining = stations.joining(session_db, join)
        if joining is None:
            errors = {**errors, "_form": _("This join code is not valid (any more). Please ask the station for a new one.")}
            join, status = "", max(status, 400)
    choices = [] if joining else stations.all_stations(session_db)
    return render_template("pages/register.html", errors=errors, values=values, join=join, joining=joining,
                           choices=choices if len(choices) > 1 else []), status


def _register_refused(error: DomainError):
    values = {key: request.form.get(key, "")[:300] for key in ("username", "display_name", "phone", "station_id")}
    return _register_page(field_errors(error), values, 429 if error.status == 429 else 422)


@bp.route("/register", methods=["GET", "POST"])
@unit_of_work(on_error=_register_refused)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    errors, values = {}, {}
    if request.method == "POST":
        values = {key: request.form.get(key, "")[:300] for key in ("username", "display_name", "phone")}
        password = request.form.get("password", "")[:300]
        join = request.form.get("join", "")[:300]
        station_id = None if join else form_id("station_id")
        if password != request.form.get("password2", "")[:300]:
            errors = {"password2": _("The two passwords differ.")}
            values["station_id"] = request.form.get("station_id", "")[:20]
        else:
            accounts.register(db.get_session(), password=password, language=session.get("lang", "zh_CN"),
                              ip=request.remote_addr or "", join=join or None, station_id=station_id, **values)
            return redirect(url_for("pages.pending", new=1))
    return _register_page(errors, values, 422 if errors else 200)


@bp.get("/pending")
def pending():
    return render_template("pages/pending.html", new=bool(request.args.get("new")))


@bp.route("/welcome", methods=["GET", "POST"])
@login_required
@unit_of_work()
def welcome():
    """Offered once at first login: the large (长辈版) layout."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "POST":
        accounts.update_profile(db.get_session(), current_user, large_mode=request.form.get("large") == "1")
        return redirect(next_url)
    return render_template("pages/welcome.html", next=next_url)


@bp.post("/language")
@unit_of_work()
def set_language():
    lang = request.form.get("lang")
    if lang in ("zh_CN", "en"):
        session["lang"] = lang
        if current_user.is_authenticated:
            accounts.update_profile(db.get_session(), current_user, language=lang)
    return redirect(safe_next(request.form.get("next") or request.referrer and urlpath(request.referrer)))


def urlpath(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")
