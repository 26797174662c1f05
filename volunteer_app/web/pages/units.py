"""A sub-unit's roster and shifts, for its leaders (and the team's coordinators)."""
from __future__ import annotations

from datetime import timedelta

from flask_login import current_user, login_required

from ... import db, timeutil
from ...services import shifts, units
from . import bp
from .common import render

#: How long after a shift its leaders still find it on the sub-unit's page, to confirm attendance.
ATTENDANCE_DAYS = timedelta(days=7)


@bp.get("/units/<id:unit_id>")
@login_required
def unit_roster(unit_id: int):
    session = db.get_session()
    unit, rows = units.roster(session, current_user, unit_id)
    now = timeutil.utcnow()
    # the last week's shifts too: their attendance is the leaders' to confirm
    upcoming = shifts.list_shifts(session, current_user, unit_id=unit.id, since=now - ATTENDANCE_DAYS, limit=30)
    return render("pages/units/roster.html", unit=unit, rows=rows, upcoming=upcoming, now=now,
                  counts=shifts.counts_for(session, [shift.id for shift in upcoming]))
