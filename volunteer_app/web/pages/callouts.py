"""Call-outs on the phone: a coordinator sends one in three taps (Manage, 紧急召集, 发送) and watches
the answers arrive; addressed volunteers see it at the top of every page and answer 我来 / 来不了."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ... import db
from ...services import callouts, checkpoints, teams
from ..params import form_id
from . import bp
from .common import flash_and_redirect, flash_error, render, role_required, unit_of_work

#: The call-outs a coordinator sends most; the first is chosen already.
PRESETS = [_l("Help needed on patrol now"), _l("Look for a missing person"), _l("Direct traffic and keep order"),
           _l("Help at a dispute")]
NEEDED_CHOICES = (1, 2, 3, 5, 10)
MINUTE_CHOICES = (15, 30, 60, 120)


@bp.app_context_processor
def _callout_banner():
    def open_callouts():
        if not getattr(current_user, "is_authenticated", False) or getattr(current_user, "status", "") != "active":
            return []
        return callouts.open_for(db.get_session(), current_user)
    return {"open_callouts": open_callouts}


@bp.get("/callouts/new")
@role_required("coordinator")
def callout_new():
    session = db.get_session()
    return render_template("pages/callouts/new.html", presets=PRESETS, needed_choices=NEEDED_CHOICES,
                           minute_choices=MINUTE_CHOICES, teams=teams.list_teams(session, current_user),
                           checkpoints=checkpoints.list_for(session, current_user, active_only=True))


def _int(name: str, default: int, choices=None) -> int:
    raw = (request.form.get(name) or "").strip()
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else default
    return value if choices is None or value in choices else default


@bp.post("/callouts")
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(lambda: url_for("pages.callout_new")))
def callout_send():
    title = (request.form.get("custom_title") or "").strip() or (request.form.get("title") or "").strip()
    team_id = form_id("team_id")
    made = callouts.create(db.get_session(), current_user._get_current_object(), title=title[:200],
                           needed=_int("needed", 3), place=(request.form.get("place") or "")[:200],
                           team_ids=[team_id] if team_id else None, checkpoint_id=form_id("checkpoint_id"),
                           expires_in_minutes=_int("minutes", 30, MINUTE_CHOICES), points=_int("points", 0))
    flash(_("Sent. Answers appear here as they come."), "success")
    return redirect(url_for("pages.callout_watch", callout_id=made.id))


def _watch_context(callout_id: int) -> dict:
    session = db.get_session()
    callout = callouts.get(session, current_user, callout_id)
    return {"callout": callout, "view": callouts.view(callout), "answers": callouts.answers_of(session, current_user, callout_id)}


@bp.get("/callouts/<id:callout_id>")
@role_required("coordinator")
def callout_watch(callout_id: int):
    return render("pages/callouts/watch.html", "pages/callouts/_answers.html", **_watch_context(callout_id))


@bp.get("/callouts")
@role_required("coordinator")
def callout_list():
    figures = callouts.response_figures(db.get_session(), current_user, limit=20)
    return render_template("pages/callouts/list.html", figures=figures, status_of=callouts.status_of)


def _to_watch(error, callout_id: int, **_kwargs):
    flash_error(error)
    return redirect(url_for("pages.callout_watch", callout_id=callout_id))


@bp.post("/callouts/<id:callout_id>/arrived/<id:user_id>")
@role_required("coordinator")
@unit_of_work(on_error=_to_watch)
def callout_arrived(callout_id: int, user_id: int):
    _row, given = callouts.mark_arrived(db.get_session(), current_user._get_current_object(), callout_id, user_id)
    if given:
        flash(_("Marked arrived: %(n)s points.", n=given), "success")
    return redirect(url_for("pages.callout_watch", callout_id=callout_id))


@bp.post("/callouts/<id:callout_id>/close")
@role_required("coordinator")
@unit_of_work(on_error=_to_watch)
def callout_close(callout_id: int):
    callouts.close(db.get_session(), current_user._get_current_object(), callout_id)
    flash(_("Closed. Thank everyone who came."), "success")
    return redirect(url_for("pages.callout_watch", callout_id=callout_id))


@bp.get("/callouts/banner")
@login_required
def callout_banner():
    return render_template("pages/callouts/_banner.html")


def _answered(error, callout_id: int, **_kwargs):
    flash_error(error)
    if request.headers.get("HX-Request"):
        return render_template("pages/callouts/_banner.html")
    return redirect(_back())


def _back() -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else url_for("pages.home")


@bp.post("/callouts/<id:callout_id>/answer")
@login_required
@unit_of_work(on_error=_answered)
def callout_answer(callout_id: int):
    answer = request.form.get("answer")
    if answer not in ("coming", "cannot"):
        abort(400)
    callouts.answer(db.get_session(), current_user._get_current_object(), callout_id, answer=answer)
    if request.headers.get("HX-Request"):
        return render_template("pages/callouts/_banner.html")
    return redirect(_back())
