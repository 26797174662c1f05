"""Settings as the services read them: the current app's config; outside an app context
(nothing is running yet) the defaults. Scripts and CLI commands run inside ``app.app_context()``."""
from __future__ import annotations

from flask import current_app, has_app_context

from .config import Defaults


def setting(name: str):
    if has_app_context():
        config = current_app.config
        if name in config:
            return config[name]
    return getattr(Defaults, name)
