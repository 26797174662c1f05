"""One-time sign-in codes: a coordinator gives a member a link (shown as a QR code) that signs
them in on their own phone once, within 24 hours, and lets them set a new password.

Stored as ``ApiToken`` rows of kind ``signin`` (only the hash). Issuing a new code voids the
member's older ones; using one is a conditional UPDATE whose row count decides, so two taps at
once sign in once. A password change, logout-all or disabling the account voids it too (the
row's ``session_version``)."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, select

from ..errors import DomainError
from ..models import ApiToken, User
from ..timeutil import utcnow
from . import access, accounts, audit

KIND = "signin"
LIFETIME = timedelta(hours=24)
#: How long after signing in with a code the member may set a password without the old one.
PASSWORD_WINDOW = timedelta(hours=1)


def may_issue(session: Session, actor: User, target: User) -> bool:
    """An admin, for anyone else of the station; a coordinator, for a member of a team they
    coordinate who holds no staff role. Never for oneself."""
    if actor.id == target.id or actor.station_id != target.station_id or not actor.has_role("coordinator"):
        return False
    if actor.is_admin:
        return True
    return not (target.role_set() & access.STAFF_ROLES) and access.coordinates_user(session, actor, target)


def issue(session: Session, actor: User, user_id: int, *, now: datetime | None = None) -> tuple[str, User]:
    """A new code for ``user_id`` (the raw code, shown once, and the member); older ones void."""
    now = now or utcnow()
    access.require_role(actor, "coordinator")
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.refuse_self_dealing(actor, target)
    if not may_issue(session, actor, target):
        access.forbid(_l("Only this volunteer's coordinators may give them a sign-in code."))
    if target.status != "active":
        raise DomainError("conflict", _l("Only an active account can be given a sign-in code."))
    session.execute(update(ApiToken).where(ApiToken.user_id == target.id, ApiToken.kind == KIND,
                                           ApiToken.revoked_at.is_(None)).values(revoked_at=now))
    raw, token = accounts.issue_token(session, target, kind=KIND, now=now, lifetime=LIFETIME)
    audit.record(session, actor, "user.signin_link", "user", target.id, expires_at=token.expires_at)
    session.flush()
    return raw, target


def _token(session: Session, raw: str) -> ApiToken | None:
    if not raw or len(raw) > 128:
        return None
    return session.exec(select(ApiToken).where(ApiToken.token_hash == accounts._digest(raw),
                                               ApiToken.kind == KIND)).first()


def holder(session: Session, raw: str, *, now: datetime | None = None) -> User:
    """The member a code signs in, while it still may; refused in words otherwise."""
    now = now or utcnow()
    token = _token(session, raw)
    if token is None:
        raise DomainError("invalid_code", _l("This sign-in code is not valid. Ask your coordinator for a new one."))
    user = session.get(User, token.user_id)
    if token.revoked_at is not None or user.status != "active" or token.session_version != user.session_version:
        raise DomainError("expired_code", _l("This sign-in code has already been used or replaced by a newer one. "
                                             "Ask your coordinator for a new one."))
    if token.expires_at <= now:
        raise DomainError("expired_code", _l("This sign-in code has expired (it is valid for 24 hours). "
                                             "Ask your coordinator for a new one."))
    return user


def use(session: Session, raw: str, *, now: datetime | None = None) -> tuple[User, int]:
    """Spend the code: the member and the code's id (for :func:`set_password`). Only the
    request whose UPDATE changes the row signs in."""
    now = now or utcnow()
    user = holder(session, raw, now=now)
    result = session.execute(update(ApiToken).where(
        ApiToken.token_hash == accounts._digest(raw), ApiToken.kind == KIND, ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > now).values(revoked_at=now).returning(ApiToken.id))
    token_id = result.scalar()
    if token_id is None:
        raise DomainError("expired_code", _l("This sign-in code has already been used. Ask your coordinator for a new one."))
    audit.record(session, user, "user.signin_link_used", "user", user.id)
    session.flush()
    return user, token_id


def set_password(session: Session, user: User, token_id: int, new: str, *, now: datetime | None = None) -> None:
    """A new password without the old one, once, soon after signing in with code ``token_id``.
    Ends every other session (the caller starts a new one for this phone)."""
    now = now or utcnow()
    token = session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if (token is None or token.kind != KIND or token.user_id != user.id or token.revoked_at is None
            or token.session_version != user.session_version or now - token.revoked_at > PASSWORD_WINDOW):
        access.forbid(_l("Setting a password this way works once, within an hour of signing in with the code. "
                         "Change it in My profile with the current password."))
    accounts.check_password(new)
    user.password_hash = accounts.hash_password(new)
    user.session_version += 1
    session.add(user)
    audit.record(session, user, "user.password_set", "user", user.id)
    session.flush()
