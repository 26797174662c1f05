"""Service hours: minutes served in completed shifts (by the route or confirmed by hand).

The one rule every sum of hours follows (the dashboard, the reports and the certificates).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Shift, ShiftSignup


def minutes_by_user(session: Session, user_ids, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """``(user_id, minutes)`` served in shifts that started in ``[start, end)`` and were
    completed, for the given user ids (a list or a subquery)."""
    rows = session.execute(_completed(select(ShiftSignup.user_id, func.sum(ShiftSignup.minutes_credited)),
                                      user_ids, start, end).group_by(ShiftSignup.user_id)).all()
    return [(user_id, int(total or 0)) for user_id, total in rows]


def total_minutes(session: Session, user_ids, start: datetime, end: datetime) -> int:
    """Minutes served by all of ``user_ids`` together (see :func:`minutes_by_user`)."""
    return sum(minutes for _user_id, minutes in minutes_by_user(session, user_ids, start, end))


def completed_shifts(session: Session, user_ids, start: datetime, end: datetime) -> int:
    """How many shifts that started in ``[start, end)`` ``user_ids`` completed."""
    return int(session.execute(_completed(select(func.count(ShiftSignup.id)), user_ids, start, end)).scalar_one())


def _completed(stmt, user_ids, start: datetime, end: datetime):
    """``stmt`` over the completed sign-ups of ``user_ids`` for shifts starting in ``[start, end)``."""
    return (stmt.select_from(ShiftSignup).join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(ShiftSignup.user_id.in_(user_ids), ShiftSignup.completed_at.is_not(None),
                   Shift.starts_at >= start, Shift.starts_at < end))
