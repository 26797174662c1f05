"""待补交: the check-ins kept on this phone without signal (static/js/queue.js keeps and sends
them), and a patrol at a checkpoint picked by hand when its poster could not be scanned, which
services/unscanned.py holds for the coordinators (never a check-in)."""
from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import unscanned
from ...timeutil import local
from ...web import htmx
from ..params import form_id, form_time
from . import bp
from .checkins import _client_ref, _coordinate
from .common import unit_of_work


@bp.get("/queued")
@login_required
def queued_scans():
    return render_template("pages/checkins/queued.html", choices=unscanned.choices(db.get_session(), current_user),
                           client_ref=uuid.uuid4().hex)


def _refused(error: DomainError):
    if htmx:
        return render_template("pages/checkins/_unscanned_said.html", ok=False, message=str(error.message)), error.status
    flash(str(error.message), "error")
    return redirect(url_for("pages.queued_scans"))


@bp.post("/queued/unscanned")
@login_required
@unit_of_work(on_error=_refused)
def unscanned_report():
    checkpoint, at = unscanned.report(db.get_session(), current_user, form_id("checkpoint_id"),
                                      scanned_at=form_time("scanned_at"), latitude=_coordinate("latitude", 90),
                                      longitude=_coordinate("longitude", 180), client_ref=_client_ref())
    message = _("%(place)s at %(time)s: your coordinator has been told. A patrol without a scan earns no points by "
                "itself; they will record it as a make-up if it is right.",
                place=checkpoint.name, time=local(at).strftime("%m-%d %H:%M"))
    if htmx:
        return render_template("pages/checkins/_unscanned_said.html", ok=True, place=checkpoint.name, message=message)
    flash(message, "success")
    return redirect(url_for("pages.queued_scans"))
