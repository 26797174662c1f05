"""Shifts along patrol routes: sign-ups, waitlists, route completion and hours served."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session


def after_checkin(session: Session, user_id: int, checkin, now: datetime | None = None) -> dict | None:
    """Called by the check-in service (same transaction) for every checkpoint scan.

    When the scan belongs to a confirmed shift of the user running now, sets ``checkin.shift_id``
    and returns progress ``{"shift_id", "completed", "next_checkpoint_id", "points_awarded"}``;
    completes the shift (points and hours) at the last checkpoint of the route.
    """
    return None
