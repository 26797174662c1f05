"""Codes printed or shown as QR: signed checkpoint tokens and time-step codes.

* A checkpoint poster's token is signed (itsdangerous) over the checkpoint id and its code
  version; rotating the version voids every old poster.
* Event codes (30 s) and member cards (60 s) are time-step HMAC codes: ``<prefix><id>-<6 digits>``.
  The current and the previous step are accepted; an older step that was once valid is
  ``expired_code``; anything else is ``invalid_code``.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..errors import DomainError
from ..models import UsedCode
from ..settings import setting
from .. import timeutil

EVENT_STEP_SECONDS = 30
#: An event's two live codes: sign in and sign out (services/service.py).
EVENT_PREFIXES = {"event": "E", "event_out": "O"}
MEMBER_STEP_SECONDS = 60
#: How far back an old step is still recognised (to say "expired" rather than "invalid").
EXPIRED_LOOKBACK_STEPS = 240
_TIME_CODE = re.compile(r"^\s*([A-Za-z]?)(\d{1,18})\s*[- ]?\s*(\d{6})\s*$", re.ASCII)


def _secret(purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{setting('SECRET_KEY')}".encode()).digest()


# -- checkpoint posters -------------------------------------------------------------------------

def _poster_serializer() -> URLSafeSerializer:
    return _serializer(setting("SECRET_KEY"), "checkpoint-poster")


@functools.lru_cache(maxsize=8)
def _serializer(secret_key: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=salt)


def checkpoint_token(checkpoint_id: int, code_version: int) -> str:
    return _poster_serializer().dumps([checkpoint_id, code_version])


def read_checkpoint_token(token: str) -> tuple[int, int]:
    """(checkpoint id, code version) of a well-signed token, else ``invalid_code``."""
    try:
        value = _poster_serializer().loads(token)
    except (BadSignature, UnicodeError, ValueError, TypeError):
        raise DomainError("invalid_code", _l("This code is not valid. Please scan the poster again.")) from None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(part, int) and not isinstance(part, bool) for part in value)):
        raise DomainError("invalid_code", _l("This code is not valid. Please scan the poster again."))
    return value[0], value[1]


# -- a sponsor's voucher link ----------------------------------------------------------------------

def sponsor_token(sponsor_id: int, link_version: int) -> str:
    return _serializer(setting("SECRET_KEY"), "sponsor-vouchers").dumps([sponsor_id, link_version])


def read_sponsor_token(token: str) -> tuple[int, int]:
    """(sponsor id, link version) of a well-signed token, else ``invalid_code``."""
    try:
        value = _serializer(setting("SECRET_KEY"), "sponsor-vouchers").loads(token)
    except (BadSignature, UnicodeError, ValueError, TypeError):
        raise DomainError("invalid_code", _l("This link is not valid. Ask the station for a new one.")) from None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(part, int) and not isinstance(part, bool) for part in value)):
        raise DomainError("invalid_code", _l("This link is not valid. Ask the station for a new one."))
    return value[0], value[1]


# -- time-step codes ------------------------------------------------------------------------------

def step_of(now: datetime, step_seconds: int) -> int:
    return int(now.timestamp()) // step_seconds


def _digits(purpose: str, obj_id: int, counter: int) -> str:
    mac = hmac.new(_secret(purpose), f"{obj_id}:{counter}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"


def time_code(purpose: str, prefix: str, obj_id: int, step_seconds: int, now: datetime | None = None
              ) -> tuple[str, datetime]:
    """The current code and when it stops being current."""
    now = now or timeutil.utcnow()
    counter = step_of(now, step_seconds)
    expires = datetime.fromtimestamp((counter + 1) * step_seconds, tz=now.tzinfo)
    return f"{prefix}{obj_id}-{_digits(purpose, obj_id, counter)}", expires


def parse_time_code(code: str, prefix: str) -> tuple[int, str] | None:
    """(object id, digits) if ``code`` has the shape of a time code with ``prefix``."""
    match = _TIME_CODE.match(code or "")
    if not match or match.group(1).upper() != prefix.upper():
        return None
    return int(match.group(2)), match.group(3)


def verify_time_code(purpose: str, obj_id: int, digits: str, step_seconds: int,
                     now: datetime | None = None, *, expired_message=None) -> int:
    """The step counter the code belongs to if it is current or previous; else refuse."""
    current = step_of(now or timeutil.utcnow(), step_seconds)
    for counter in (current, current - 1):
        if hmac.compare_digest(_digits(purpose, obj_id, counter), digits):
            return counter
    for counter in range(current - 2, current - EXPIRED_LOOKBACK_STEPS, -1):
        if hmac.compare_digest(_digits(purpose, obj_id, counter), digits):
            raise DomainError("expired_code", expired_message or _l("This code has expired. Please scan a fresh one."))
    raise DomainError("invalid_code", _l("This code is not valid."))


def event_code(event_id: int, now: datetime | None = None, *, purpose: str = "event") -> tuple[str, datetime]:
    """An event's live code: ``purpose`` "event" signs in (``E12-...``), "event_out" signs out (``O12-...``)."""
    return time_code(purpose, EVENT_PREFIXES[purpose], event_id, EVENT_STEP_SECONDS, now)


def member_code(user_id: int, now: datetime | None = None) -> tuple[str, datetime]:
    return time_code("member", "", user_id, MEMBER_STEP_SECONDS, now)


def read_member_code(session: Session, code: str, *, used_by: int, now: datetime | None = None) -> int:
    """The user id a member card code identifies.

    A step is used by one counter visit only: the clerk (``used_by``) who scanned it may use it
    again during the visit, anyone else gets ``expired_code`` (a screenshot passed on is useless).
    """
    parsed = parse_time_code(code, "")
    if parsed is None:
        raise DomainError("invalid_code", _l("This is not a member card code."))
    user_id, digits = parsed
    counter = verify_time_code("member", user_id, digits, MEMBER_STEP_SECONDS, now,
                               expired_message=_l("This member card code has expired. Ask for the new one on the phone."))
    claim_step(session, user_id, "member", counter, used_by)
    return user_id


def claim_step(session: Session, user_id: int, purpose: str, counter: int, used_by: int) -> None:
    existing = session.exec(select(UsedCode).where(
        UsedCode.user_id == user_id, UsedCode.purpose == purpose, UsedCode.counter == counter)).first()
    if existing is not None:
        if existing.used_by != used_by:
            raise DomainError("expired_code", _l("This code has already been used. Please show the new one."))
        return
    try:
        with session.begin_nested():
            session.add(UsedCode(user_id=user_id, purpose=purpose, counter=counter, used_by=used_by))
    except IntegrityError:
        raise DomainError("expired_code", _l("This code has already been used. Please show the new one.")) from None


# -- what a camera read -------------------------------------------------------------------------

def token_of(scanned: str) -> str:
    """The token in what was scanned: the whole poster URL (its last path segment) or the token."""
    text = (scanned or "").strip()
    for mark in ("#", "?"):
        text = text.split(mark, 1)[0]
    parts = [part for part in text.split("/") if part]
    return parts[-1].strip() if parts else ""


def read_scanned(scanned: str) -> tuple[str, int, str | int]:
    """Classify a scanned code without touching the database.

    ``("event", event_id, digits)`` for a live event code (``E12-123456``; ``"event_out"`` for its
    sign-out code ``O12-123456``), else
    ``("checkpoint", checkpoint_id, code_version)`` for a well-signed poster token; anything else
    is ``invalid_code``. The event code's age is checked by :func:`verify_event_code`.
    """
    token = token_of(scanned)
    if not token or len(token) > 200:
        raise DomainError("invalid_code", _l("This code is not valid. Please scan the poster again."))
    for kind, prefix in EVENT_PREFIXES.items():
        parsed = parse_time_code(token, prefix)
        if parsed is not None:
            return kind, parsed[0], parsed[1]
    checkpoint_id, version = read_checkpoint_token(token)
    return "checkpoint", checkpoint_id, version


def verify_event_code(event_id: int, digits: str, now: datetime | None = None, *, purpose: str = "event") -> int:
    """The step of an event code that is current or previous; ``expired_code`` when older."""
    return verify_time_code(purpose, event_id, digits, EVENT_STEP_SECONDS, now,
                            expired_message=_l("This code has expired. Please scan the screen again."))
