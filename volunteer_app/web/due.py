"""Work that time has made due, done by the views that show its result (both faces).

A GET that shows service records first closes what is due (``service.settle``: duties past their
limit, events that have ended); the write commits on its own and may never stop the page or the
answer from coming (a failure is logged and rolled back, and the next view tries again)."""
from __future__ import annotations

import logging

from .. import db

log = logging.getLogger(__name__)


def settle(work, *args, **kwargs) -> None:
    """Run ``work(session, *args, **kwargs)``; commit when it reports changes (a true result)."""
    session = db.get_session()
    try:
        if work(session, *args, **kwargs):
            db.commit()
    except Exception:  # noqa: BLE001 - never stop a page for this
        log.exception("settling %s failed", getattr(work, "__name__", work))
        session.rollback()
