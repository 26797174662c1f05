"""Recognition: badges earned by deeds, in the deed's own transaction."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import UserBadge
from ..timeutil import utcnow

#: Every badge: key -> display name. Rules that award them live beside the deeds below.
BADGES = {
    "first_checkin": _l("First patrol"),
}


def award_badge(session: Session, user_id: int, key: str, now: datetime | None = None) -> UserBadge | None:
    """Give a badge once; returns the new badge, or None when the user already holds it."""
    if session.exec(select(UserBadge.id).where(UserBadge.user_id == user_id, UserBadge.key == key)).first():
        return None
    try:
        with session.begin_nested():
            badge = UserBadge(user_id=user_id, key=key, earned_at=now or utcnow())
            session.add(badge)
    except IntegrityError:  # a parallel deed got there first
        return None
    return badge


def after_checkin(session: Session, user_id: int, checkin, now: datetime | None = None) -> list[UserBadge]:
    """Badges earned by a check-in (called by the check-in service, same transaction)."""
    earned = []
    badge = award_badge(session, user_id, "first_checkin", now)
    if badge is not None:
        earned.append(badge)
    return earned
