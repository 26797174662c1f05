"""Login, logout, registration and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ... import db
from ...errors import DomainError
from ...services import accounts, checkpoints
from . import bp
from .common import field_errors, safe_next


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


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    errors, username = {}, ""
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:256]
        session_db = db.get_session()
        try:
            user = accounts.authenticate(session_db, username, password, ip=request.remote_addr or "")
        except DomainError as error:
            session_db.commit()  # keep the failure for the rate limit
            if error.code == "pending_approval":
                return redirect(url_for("pages.pending"))
            status = 429 if error.code == "too_many_attempts" else 200
            return render_template("pages/login.html", errors={"_form": str(error.message)},
                                   username=username, next=next_url,
                                   waiting=checkpoints.waiting_at(session_db, next_url)), status
        start_session(user)
        session_db.commit()
        if not user.large_mode_offered and not next_url.startswith("/c/"):  # a poster: the offer comes after
            return redirect(url_for("pages.welcome", next=next_url))
        return redirect(next_url)
    return render_template("pages/login.html", errors=errors, username=username, next=next_url,
                           waiting=checkpoints.waiting_at(db.get_session(), next_url))


@bp.post("/logout")
def logout():
    sid = session.get("sid")
    if sid:
        accounts.revoke_token(db.get_session(), sid)
        db.commit()
    logout_user()
    session.clear()
    return redirect(url_for("pages.login"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    errors, values = {}, {}
    if request.method == "POST":
        values = {key: request.form.get(key, "")[:300] for key in ("username", "display_name", "phone")}
        password = request.form.get("password", "")[:300]
        if password != request.form.get("password2", "")[:300]:
            errors = {"password2": _("The two passwords differ.")}
        else:
            try:
                accounts.register(db.get_session(), password=password, language=session.get("lang", "zh_CN"),
                                  ip=request.remote_addr or "", **values)
                db.commit()
                return redirect(url_for("pages.pending", new=1))
            except DomainError as error:
                db.commit()  # the attempt counts toward the limit per address
                errors = field_errors(error)
                if error.status == 429:
                    return render_template("pages/register.html", errors=errors, values=values), 429
    return render_template("pages/register.html", errors=errors, values=values), (422 if errors else 200)


@bp.get("/pending")
def pending():
    return render_template("pages/pending.html", new=bool(request.args.get("new")))


@bp.route("/welcome", methods=["GET", "POST"])
@login_required
def welcome():
    """Offered once at first login: the large (长辈版) layout."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "POST":
        accounts.update_profile(db.get_session(), current_user, large_mode=request.form.get("large") == "1")
        db.commit()
        return redirect(next_url)
    return render_template("pages/welcome.html", next=next_url)


@bp.post("/language")
def set_language():
    lang = request.form.get("lang")
    if lang in ("zh_CN", "en"):
        session["lang"] = lang
        if current_user.is_authenticated:
            accounts.update_profile(db.get_session(), current_user, language=lang)
            db.commit()
    return redirect(safe_next(request.form.get("next") or request.referrer and urlpath(request.referrer)))


def urlpath(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")
