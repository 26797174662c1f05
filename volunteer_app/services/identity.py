"""A member's identity for the official volunteer systems: real name, ID document number and
volunteer number (PIPL: the ID number is sensitive personal information).

The ID number is given only with the person's separate consent (recorded with its time),
kept encrypted at rest (Fernet, a key from ``ID_NUMBER_KEY`` or derived from ``SECRET_KEY``),
shown masked (last four characters), and read in full only by an admin for an export: every
such reading is audited.
"""
from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from ..errors import FieldError
from ..models import User
from ..settings import setting
from .. import timeutil
from . import access, audit

_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{6,20}$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def _fernet() -> Fernet:
    secret = setting("ID_NUMBER_KEY") or f"id-number:{setting('SECRET_KEY')}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(str(secret).encode()).digest()))


def normalise_id_number(raw: str) -> str:
    """Full-width digits and letters made plain (NFKC), spaces dropped, upper case; a resident
    ID (18 characters) must carry its right check character; other documents (passport, home
    return permit) are 6 to 20 letters and digits."""
    text = unicodedata.normalize("NFKC", raw or "").replace(" ", "").replace("-", "").upper()
    if not text.isascii():
        raise FieldError("id_number", _l("Use the digits and letters printed on the document."))
    if _RESIDENT_ID.match(text):
        total = sum(int(digit) * weight for digit, weight in zip(text[:17], _WEIGHTS))
        if _CHECK[total % 11] != text[17]:
            raise FieldError("id_number", _l("This ID card number is not right: please check every digit."))
        return text
    if len(text) == 18 or not _OTHER_DOCUMENT.match(text):
        raise FieldError("id_number", _l("Enter the 18-character ID card number, or the number of another document."))
    return text


def mask(last4: str | None) -> str:
    return f"**************{last4}" if last4 else ""


def set_identity(session: Session, actor: User, *, real_name: str | None = None, id_number: str | None = None,
                 volunteer_number: str | None = None, consent: bool = False, now: datetime | None = None) -> User:
    """A person records their own identity; an ID number needs their consent, recorded."""
    user = session.get(User, actor.id)
    if real_name is not None:
        name = unicodedata.normalize("NFKC", real_name).strip()
        if len(name) > 64:
            raise FieldError("real_name", _l("This text is too long."))
        user.real_name = name or None
    if volunteer_number is not None:
        number = unicodedata.normalize("NFKC", volunteer_number).strip()
        if len(number) > 32 or (number and not number.replace("-", "").isalnum()):
            raise FieldError("volunteer_number", _l("Enter the volunteer number as it is printed (letters and digits)."))
        user.volunteer_number = number or None
    if id_number:
        if not consent:
            raise FieldError("consent", _l("Please agree first: the ID number is kept only for the official volunteer "
                                            "system's records."))
        plain = normalise_id_number(id_number)
        user.id_number_encrypted = _fernet().encrypt(plain.encode()).decode()
        user.id_number_last4 = plain[-4:]
        user.id_consent_at = now or timeutil.utcnow()
    session.add(user)
    session.flush()
    audit.record(session, actor, "identity.update", "user", user.id, id_number_given=bool(id_number))
    return user


def withdraw(session: Session, actor: User) -> User:
    """The person withdraws consent: the ID number is erased."""
    user = session.get(User, actor.id)
    user.id_number_encrypted = user.id_number_last4 = user.id_consent_at = None
    session.add(user)
    session.flush()
    audit.record(session, actor, "identity.withdraw", "user", user.id)
    return user


def reveal(session: Session, actor: User, users: list[User], *, purpose: str) -> dict[int, str]:
    """The full ID numbers of ``users`` for an admin's export; audited (who, whose, why)."""
    access.require_role(actor, "admin")
    out = {}
    fernet = _fernet()
    for user in users:
        if user.station_id != actor.station_id or not user.id_number_encrypted:
            continue
        try:
            out[user.id] = fernet.decrypt(user.id_number_encrypted.encode()).decode()
        except InvalidToken:
            out[user.id] = ""
    audit.record(session, actor, "identity.reveal", "user", None, purpose=purpose, user_ids=sorted(out))
    return out
