"""Hours served: the sum of confirmed service records, and nothing else.

The one rule every sum of hours follows (home, the dashboard, the reports, the certificates, the
county); a record counts in the period its service started in.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import ServiceRecord, Shift, ShiftSignup


def _confirmed(stmt, user_ids, start: datetime | None, end: datetime | None):
    stmt = stmt.select_from(ServiceRecord).where(ServiceRecord.status == "confirmed",
                                                 ServiceRecord.user_id.in_(user_ids))
    if start is not None:
        stmt = stmt.where(ServiceRecord.started_at >= start)
    if end is not None:
        stmt = stmt.where(ServiceRecord.started_at < end)
    return stmt


def minutes_by_user(session: Session, user_ids, start: datetime | None, end: datetime | None
                    ) -> list[tuple[int, int]]:
    """``(user_id, minutes)`` of confirmed service that started in ``[start, end)`` (either bound
    may be None), for the given user ids (a list or a subquery)."""
    rows = session.execute(_confirmed(select(ServiceRecord.user_id, func.sum(ServiceRecord.minutes)),
                                      user_ids, start, end).group_by(ServiceRecord.user_id)).all()
    return [(user_id, int(total or 0)) for user_id, total in rows]


def total_minutes(session: Session, user_ids, start: datetime | None, end: datetime | None) -> int:
    """Minutes served by all of ``user_ids`` together (see :func:`minutes_by_user`)."""
    return int(session.execute(_confirmed(select(func.coalesce(func.sum(ServiceRecord.minutes), 0)),
                                          user_ids, start, end)).scalar_one())


def minutes_by_kind(session: Session, user_ids, start: datetime | None, end: datetime | None
                    ) -> list[tuple[str, int, int]]:
    """``(kind, minutes, records)`` of confirmed service, most minutes first."""
    rows = session.execute(_confirmed(select(ServiceRecord.kind, func.sum(ServiceRecord.minutes),
                                             func.count(ServiceRecord.id)), user_ids, start, end)
                           .group_by(ServiceRecord.kind)).all()
    return sorted(((kind, int(minutes or 0), int(count)) for kind, minutes, count in rows),
                  key=lambda row: (-row[1], row[0]))


def completed_shifts(session: Session, user_ids, start: datetime, end: datetime) -> int:
    """How many shifts that started in ``[start, end)`` ``user_ids`` completed."""
    return int(session.execute(
        select(func.count(ShiftSignup.id)).select_from(ShiftSignup).join(Shift, Shift.id == ShiftSignup.shift_id)
        .where(ShiftSignup.user_id.in_(user_ids), ShiftSignup.completed_at.is_not(None),
               Shift.starts_at >= start, Shift.starts_at < end)).scalar_one())
