"""Read a setting from the running app, or its default outside one (scripts, unit tests)."""
from __future__ import annotations

from flask import current_app, has_app_context

from .config import Defaults


def setting(name: str):
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    return getattr(Defaults, name)
