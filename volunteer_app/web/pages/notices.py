"""通知设置: what I hear about, one big switch a kind (htmx; a plain form without it)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import notices
from . import bp
from .common import flash_error, render, unit_of_work

#: The groups in the order shown, with what each is called and holds.
KINDS = [
    ("callouts", _l("Call-outs"), _l("When the station calls for help now.")),
    ("shifts", _l("Shifts"), _l("Reminders, changes, cancellations, a place freed for you.")),
    ("tips", _l("My tips"), _l("What became of the tips you sent.")),
    ("awards", _l("Awards and points"), _l("Awards, badges and confirmed service hours.")),
    ("store", _l("Points store"), _l("Items running low (for staff).")),
    ("points_expiry", _l("Points about to lapse"), _l("Before your points lapse.")),
    ("care", _l("Care visits"), _l("Households assigned to you, concerns raised.")),
    ("security", _l("Account security"), _l("Always on: sign-ins and password changes.")),
]
SMS = [
    ("callouts", _l("Call-outs by text message"), _l("At most 3 text messages a day.")),
    ("shift_reminders", _l("Shift reminders by text message"), _l("At most 3 text messages a day.")),
]


def _page(error: str | None = None):
    prefs = notices.preferences_of(db.get_session(), current_user)
    return render("pages/notices/settings.html", "pages/notices/_switches.html", prefs=prefs, kinds=KINDS,
                  sms=SMS, error=error)


def _refused(error: DomainError):
    """htmx: the switches again with the refusal in words; otherwise a message and the page."""
    if request.headers.get("HX-Request"):
        return _page(str(error.message))
    flash_error(error)
    return redirect(url_for("pages.notice_settings"))


@bp.route("/profile/notices", methods=["GET", "POST"])
@login_required
@unit_of_work(on_error=_refused)
def notice_settings():
    """GET: the switches. POST ``kind=<group>`` or ``sms=<channel>`` with ``on=1|0``."""
    if request.method == "POST":
        on = request.form.get("on") == "1"
        kind, channel = request.form.get("kind"), request.form.get("sms")
        me = current_user._get_current_object()
        if kind:
            notices.set_preferences(db.get_session(), me, kinds={kind[:40]: on})
        elif channel:
            notices.set_preferences(db.get_session(), me, sms={channel[:40]: on})
        if not request.headers.get("HX-Request"):
            flash(_l("Saved."), "ok")
            return redirect(url_for("pages.notice_settings"))
    return _page()
