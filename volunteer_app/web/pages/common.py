"""What the page views share: rendering full pages or htmx partials, domain errors as messages,
and role checks."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, flash, render_template, request
from flask_login import current_user, login_required

from ...errors import DomainError
from ...parsing import BadValue, parse_number
from ...web import htmx


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
