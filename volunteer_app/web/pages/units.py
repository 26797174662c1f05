"""A sub-unit's roster and shifts, for its leaders (and the team's coordinators)."""
from __future__ import annotations

from flask_login import current_user, login_required

from ... import db
from ...services import shifts, units
from . import bp
from .common import render


@bp.get("/units/<id:unit_id>")
@login_required
def unit_roster(unit_id: int):
    session = db.get_session()
    unit, rows = units.roster(session, current_user, unit_id)
    upcoming = shifts.list_shifts(session, current_user, unit_id=unit.id, limit=20)
    return render("pages/units/roster.html", unit=unit, rows=rows, upcoming=upcoming,
                  counts=shifts.counts_for(session, [shift.id for shift in upcoming]))
