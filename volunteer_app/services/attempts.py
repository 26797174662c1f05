"""Counters of the rate limits other than login's, kept in the database where every worker and
instance sees them: refused check-in codes per user, registrations per address.

Nothing here commits: a face that refuses a request commits the attempt it recorded (as the
token endpoint does for a failed login), so that it is remembered."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Attempt


def count(session: Session, kind: str, key: str, *, since: datetime) -> int:
    """Attempts of ``kind`` for ``key`` at or after ``since``."""
    return session.exec(select(func.count()).select_from(Attempt).where(
        Attempt.kind == kind, Attempt.key == key[:64], Attempt.created_at >= since)).one()


def record(session: Session, kind: str, key: str, *, now: datetime) -> None:
    session.add(Attempt(kind=kind, key=key[:64], created_at=now))
    session.flush()
