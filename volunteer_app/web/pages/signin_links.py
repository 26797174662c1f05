"""One-time sign-in codes: the coordinator issues one (a QR code to show or print), the member
opens it on their own phone, taps 登录 and may set a new password."""
from __future__ import annotations

import base64

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import qr, signin_links
from .. import links
from . import bp
from .auth import start_session
from .common import field_errors, role_required, unit_of_work

#: The flask session key naming the code this phone signed in with (for the password page).
SESSION_KEY = "signin_code"


def _signin_url(raw: str) -> str:
    return links.base_url() + url_for("pages.signin_link", code=raw)


@bp.post("/manage/users/<id:user_id>/signin-code")
@role_required("coordinator")
@unit_of_work()
def signin_code_issue(user_id: int):
    """Issue a code and show it at once (only its hash is kept: it cannot be shown again)."""
    raw, person = signin_links.issue(db.get_session(), current_user, user_id)
    url = _signin_url(raw)
    png = "data:image/png;base64," + base64.b64encode(qr.png(url, box_size=8)).decode()
    response = render_template("pages/signin/code.html", person=person, qr=png, url=url,
                               hours=int(signin_links.LIFETIME.total_seconds() // 3600))
    return response, 200, {"Cache-Control": "no-store"}


def _refused(error: DomainError, code: str = ""):
    return render_template("pages/signin/refused.html", message=str(error.message)), error.status


@bp.route("/s/<code>", methods=["GET", "POST"])
@unit_of_work(on_error=_refused)
def signin_link(code: str):
    """GET only shows whom the code is for (link previews fetch it); the 登录 tap spends it."""
    session_db = db.get_session()
    if request.method == "POST":
        user, token_id = signin_links.use(session_db, code)
        start_session(user)
        session[SESSION_KEY] = token_id
        return redirect(url_for("pages.signin_password"))
    person = signin_links.holder(session_db, code)
    return render_template("pages/signin/confirm.html", person=person), 200, {
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _after_signin() -> str:
    if not current_user.large_mode_offered:
        return url_for("pages.welcome")
    return url_for("pages.home")


def _password_refused(error: DomainError):
    if error.code == "forbidden":
        session.pop(SESSION_KEY, None)
        return _refused(error)
    return render_template("pages/signin/password.html", errors=field_errors(error)), 422


@bp.route("/signin/password", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_password_refused)
def signin_password():
    """After a code: a new password, or skip."""
    token_id = session.get(SESSION_KEY)
    if not isinstance(token_id, int):
        return redirect(_after_signin())
    if request.method == "POST":
        if request.form.get("action") == "skip":
            session.pop(SESSION_KEY, None)
            return redirect(_after_signin())
        new = request.form.get("new_password", "")[:300]
        if new != request.form.get("new_password2", "")[:300]:
            raise DomainError("validation_error", _("The two passwords differ."),
                              errors=[{"field": "new_password2", "message": _("The two passwords differ.")}])
        me = current_user._get_current_object()
        signin_links.set_password(db.get_session(), me, token_id, new)
        start_session(me)  # every other session has ended; this one goes on
        return render_template("pages/signin/password_set.html", next=_after_signin())
    return render_template("pages/signin/password.html", errors={})
