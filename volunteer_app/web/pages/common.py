"""What the page views share: one unit of work per action, rendering full pages or htmx
partials, domain errors as messages, and role checks."""
from __future__ import annotations

import functools
from typing import Callable
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError
from ...services import service, shifts
from ...parsing import BadValue, parse_number
from ...web import htmx


def unit_of_work(on_error: Callable | None = None, on_conflict: Callable | None = None, *,
                 error_page: tuple[str, ...] = (), writes: bool = False):
    """The page twin of the API's ``route``: what the view writes is committed once, after it
    answered (an answer of 400 or more is rolled back instead, and so is any failure).

    A ``DomainError`` rolls the writes back (unless it says to keep them: ``keep_writes``) and
    becomes the page's message: ``on_error(error, *view_args, **view_kwargs)`` answers (a flash
    and a redirect, see :func:`flash_and_redirect`; the form again with its errors; an htmx
    partial). Without it, and for the codes in ``error_page`` (e.g. ``forbidden``), the error
    page answers; so does a refusal raised in ``on_error`` itself (one that reads the row again,
    as the view did first, refuses again when that was the reason). The rest of a refused
    request only reads (on SQLite, without the write lock).
    A clash on a unique key (a twin request won) is rolled back and answered by
    ``on_conflict(error, *view_args, **view_kwargs)``.

    A view may answer with a function instead of a response: it is called after the commit,
    so that reading for the answer does not hold the write lock.

    ``writes``: a GET that writes (an audited reading) runs as a writer (``db.start_writing``)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            session = db.get_session()
            if writes:
                db.start_writing(session)
            try:
                answer = view(*args, **kwargs)
                if _status(answer) < 400:
                    db.end_reading(session)
                    session.commit()
                else:
                    session.rollback()
            except DomainError as error:
                if error.keep_writes:
                    session.commit()  # the refusal's own record (e.g. a refused code counted)
                else:
                    session.rollback()
                db.done_writing()
                if on_error is None or error.code in error_page:
                    raise
                return on_error(error, *args, **kwargs)
            except IntegrityError as error:
                session.rollback()
                db.done_writing()
                if on_conflict is None:
                    raise
                return on_conflict(error, *args, **kwargs)
            except BaseException:
                session.rollback()
                raise
            return answer() if callable(answer) and not isinstance(answer, Response) else answer

        return wrapper

    return decorate


def flash_and_redirect(target: Callable[..., str]) -> Callable:
    """An ``on_error`` for an action: the refusal as a flashed message, then a redirect to
    ``target(*view_args, **view_kwargs)``."""

    def answer(error: DomainError, *args, **kwargs):
        flash_error(error)
        return redirect(target(*args, **kwargs))

    return answer


def _status(answer) -> int:
    if isinstance(answer, Response):
        return answer.status_code
    if isinstance(answer, tuple) and len(answer) > 1 and isinstance(answer[1], int):
        return answer[1]
    return 200


def render(template: str, partial: str | None = None, **context):
    """The full page, or only ``partial`` for a non-boosted htmx request (self-targeting).
    A history restore (the back button after ``hx-push-url``) wants the whole page."""
    if partial and htmx and not htmx.boosted and not htmx.history_restore_request:
        return render_template(partial, **context)
    return render_template(template, **context)


def role_required(*roles: str):
    """Pages for staff: log in first, then hold one of ``roles`` (admin passes)."""

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def make_reminders() -> None:
    """Reminders for my shifts starting within 12 hours, made by the pages that show them (home,
    my shifts, notices) when I open them."""
    try:
        unit_of_work()(shifts.remind)(db.get_session(), user_id=current_user.id)
    except Exception:  # a reminder must never stop a page from opening (rolled back)
        pass


def settle_service(user_id: int | None = None) -> None:
    """Close the service records time has decided (duties past their limit, events that ended),
    for one person or everyone, before a page shows records; never stops the page."""
    try:
        unit_of_work()(service.settle)(db.get_session(), user_id=user_id)
    except Exception:  # rolled back; the next page (or volunteer-app settle-service) tries again
        pass


def flash_error(error: DomainError) -> None:
    flash(str(error.message), "error")


def field_errors(error: DomainError) -> dict[str, str]:
    """``{field: message}`` for a form to show beside its inputs."""
    return {item["field"]: str(item["message"]) for item in error.details.get("errors", [])} or {
        "_form": str(error.message)}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def form_int(name: str, default: int | None = None) -> int | None:
    """A whole number from the form (ASCII digits, within 64 bits), or ``default``."""
    try:
        return parse_number(request.form.get(name) or "")
    except BadValue:
        return default
