"""Read a setting of the app at work: ``current_app.config`` inside an app context (requests,
commands). Outside one, the config a :func:`configured` block names (a script or a test calling
services directly), else the defaults of ``config.Defaults``. Inside an app context, the
station the request acts in may set some of its own (:func:`use_station`): those come first."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator, Mapping

from flask import current_app, g, has_app_context

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


def use_station(values: Mapping[str, Any]) -> None:
    """The settings of the station this request (or command) acts in, for the rest of its app
    context: its name (``STATION_NAME``), its time zone (``STATION_TZ``), ..."""
    g.station_settings = dict(values)


def setting(name: str):
    if has_app_context():
        own = g.get("station_settings")
        if own and name in own:
            return own[name]
    return deployment(name)


def deployment(name: str):
    """The deployment's value of a setting, whatever the station sets for itself."""
    config = current_app.config if has_app_context() else (_outside_app.get() or {})
    return config[name] if name in config else getattr(Defaults, name)
