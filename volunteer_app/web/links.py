"""Absolute links printed on posters and shown as QR codes."""
from __future__ import annotations

from flask import request

from ..settings import setting


def base_url() -> str:
    """``PUBLIC_BASE_URL`` when set, else the host this request came to."""
    return (setting("PUBLIC_BASE_URL") or request.url_root).rstrip("/")


def checkin_url(token: str) -> str:
    from ..services.checkpoints import checkin_url as build
    return build(base_url(), token)
