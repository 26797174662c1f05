"""The six digits of an event's live code, typed by someone whose camera cannot focus on the
projector: they stand for the whole code (``E<id>-<digits>``) of the one open event of the
person's station whose code they are, for the current 30-second step or the one before."""
from __future__ import annotations

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..errors import DomainError
from ..models import Event, User
from .. import timeutil
from . import checkins, codes, events

DIGITS = re.compile(r"^\s*(\d{6})\s*$", re.ASCII)


def is_short(text: str) -> bool:
    return bool(DIGITS.match(text or ""))


def event_code_for(session: Session, user: User, digits: str, now: datetime | None = None) -> str:
    """The whole live code the six ``digits`` belong to. None matching is ``invalid_code`` (an
    older step of one: ``expired_code``), counted toward the limit on guessing codes."""
    now = now or timeutil.utcnow()
    digits = DIGITS.match(digits or "").group(1) if is_short(digits) else ""
    with checkins.counting_refusals(session, user.id):
        expired = None
        open_events = session.exec(select(Event).where(
            Event.station_id == user.station_id, Event.starts_at <= now + events.OPEN_BEFORE, Event.ends_at >= now))
        for event in open_events:
            try:
                codes.verify_event_code(event.id, digits, now)
            except DomainError as error:
                expired = error if error.code == "expired_code" else expired
                continue
            return f"E{event.id}-{digits}"
        raise expired or DomainError("invalid_code", _l(
            "These digits match no event running now. Type the six digits now shown under the QR code."))
