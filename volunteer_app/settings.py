"""Read a setting of the app at work: ``current_app.config`` inside an app context (requests,
commands). Outside one, the config a :func:`configured` block names (a script or a test calling
services directly), else the defaults of ``config.Defaults``."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator, Mapping

from flask import current_app, has_app_context

from .config import Defaults

#: The config a :func:`configured` block names, for work outside an app context.
_outside_app: ContextVar[Mapping[str, Any] | None] = ContextVar("settings_outside_app", default=None)


@contextlib.contextmanager
def configured(config: Mapping[str, Any]) -> Iterator[None]:
    """Inside the block, outside an app context, settings come from ``config`` (an app's config)."""
    token = _outside_app.set(config)
    try:
        yield
    finally:
        _outside_app.reset(token)


def setting(name: str):
    config = current_app.config if has_app_context() else (_outside_app.get() or {})
    return config[name] if name in config else getattr(Defaults, name)
