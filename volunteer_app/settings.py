"""Read a setting from the running app; outside a request or app context (scripts, tests that
call services directly) from the app created last in this process, else the defaults."""
from __future__ import annotations

from typing import Any, Mapping

from flask import current_app, has_app_context

from .config import Defaults

_last_config: Mapping[str, Any] | None = None


def remember(config: Mapping[str, Any]) -> None:
    global _last_config
    _last_config = config


def setting(name: str):
    if has_app_context() and name in current_app.config:
        return current_app.config[name]
    if _last_config is not None and name in _last_config:
        return _last_config[name]
    return getattr(Defaults, name)
