"""Shifts over JSON: create, list, sign up, withdraw, attendance."""
from __future__ import annotations

from ... import db
from ...schemas.shifts import AttendanceOut, ShiftCreate, ShiftList, ShiftQuery, SignupOut
from ...schemas.common import Attrs
from ...services import shifts
from .base import current_api_user, route


def _shifts(session, rows: list) -> list[Attrs]:
    """Shifts for ``ShiftOut``, with their routes and how many signed up."""
    ids = [row.id for row in rows]
    routes, counts = shifts.routes_for(session, ids), shifts.counts_for(session, ids)
    return [Attrs(row, checkpoint_ids=routes[row.id], confirmed_count=counts[row.id]["confirmed"],
                  waitlist_count=counts[row.id]["waitlisted"]) for row in rows]


@route("/shifts", "POST", summary="Create a shift (or one a week until a date)", tag="shifts", body=ShiftCreate,
       response=ShiftList, status=201, idempotent=True, roles=("coordinator",))
def create_shifts(body: ShiftCreate):
    session = db.get_session()
    made = shifts.create_shifts(session, current_api_user(), **body.model_dump(exclude={"client_ref"}))
    return {"shifts": _shifts(session, made)}


@route("/shifts", summary="Shifts, soonest first", tag="shifts", query=ShiftQuery, response=ShiftList)
def list_shifts(query: ShiftQuery):
    session = db.get_session()
    rows = shifts.list_shifts(session, current_api_user(), since=query.since, until=query.until,
                              team_id=query.team_id, unit_id=query.unit_id, limit=query.limit)
    return {"shifts": _shifts(session, rows)}


@route("/shifts/<id:shift_id>/signup", "POST", summary="Sign up (confirmed, or waitlisted when full)",
       tag="shifts", response=SignupOut, status=201)
def signup(shift_id: int):
    session = db.get_session()
    row = shifts.signup(session, current_api_user(), shift_id)
    return Attrs(row, position=shifts.waitlist_position(session, row))


@route("/shifts/<id:shift_id>/signup", "DELETE", summary="Withdraw my sign-up", tag="shifts", status=204)
def cancel_signup(shift_id: int):
    shifts.cancel_signup(db.get_session(), current_api_user(), shift_id)
    return None


@route("/shifts/<id:shift_id>/attendance", summary="Who came and what they scanned", tag="shifts",
       response=AttendanceOut)
def attendance(shift_id: int):
    return shifts.attendance(db.get_session(), current_api_user(), shift_id)
