"""Checkpoints, posters, events, check-ins and the points ledger over JSON."""
from __future__ import annotations

from flask import Response

from ... import db
from ...services import accounts, checkins, checkpoints, events, ledger, qr
from ...schemas.checkins import (AdjustmentCreate, CheckinCreate, CheckinList, CheckinOnBehalf, CheckinOut,
                                 CheckinQuery, CheckpointCreate, CheckpointList, CheckpointOut, CheckpointQuery,
                                 CheckpointUpdate, EntryOut, EventCodeOut, EventCodeQuery, EventCreate, EventList, EventOut,
                                 LedgerOut, LedgerQuery)
from ...schemas.common import Attrs, ListQuery
from ...schemas.service import ServiceRecordOut
from ...timeutil import isoformat
from ..links import checkin_url
from .base import current_api_user, route


def _checkpoint(checkpoint, *, with_url: bool = True, last: dict | None = None) -> Attrs:
    """A checkpoint for ``CheckpointOut`` with its last scan (from ``last``, else looked up); its
    check-in URL only for staff (``with_url``)."""
    if last is None:
        last = checkpoints.last_scans(db.get_session(), [checkpoint.id])
    url = {"checkin_url": checkin_url(checkpoints.token(checkpoint))} if with_url else {}
    return Attrs(checkpoint, last_scan_at=last.get(checkpoint.id), **url)


def _event(event) -> Attrs:
    return Attrs(event, checkin_opens_at=events.window(event)[0])


@route("/checkpoints", "POST", summary="Place a checkpoint", tag="checkpoints", body=CheckpointCreate,
       response=CheckpointOut, status=201, roles=("coordinator",))
def create_checkpoint(body: CheckpointCreate):
    return _checkpoint(checkpoints.create(db.get_session(), current_api_user(), **body.model_dump()))


@route("/checkpoints", summary="The station's checkpoints with their last scan", tag="checkpoints",
       query=CheckpointQuery, response=CheckpointList)
def list_checkpoints(query: CheckpointQuery):
    session, actor = db.get_session(), current_api_user()
    rows = checkpoints.list_for(session, actor, team_id=query.team_id, limit=query.limit)
    last = checkpoints.last_scans(session, [row.id for row in rows])
    staff = actor.has_role("coordinator")
    return {"checkpoints": [_checkpoint(row, with_url=staff, last=last) for row in rows]}


@route("/checkpoints/<id:checkpoint_id>", summary="A checkpoint", tag="checkpoints", response=CheckpointOut)
def get_checkpoint(checkpoint_id: int):
    session, actor = db.get_session(), current_api_user()
    checkpoint = checkpoints.get(session, actor, checkpoint_id)
    return _checkpoint(checkpoint, with_url=actor.has_role("coordinator"))


@route("/checkpoints/<id:checkpoint_id>", "PATCH", summary="Change a checkpoint", tag="checkpoints",
       body=CheckpointUpdate, response=CheckpointOut, roles=("coordinator",))
def update_checkpoint(checkpoint_id: int, body: CheckpointUpdate):
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "radius_m", "require_location", "points", "cooldown_minutes", "active", "duty_post",
                "service_kind", "max_duty_hours"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    return _checkpoint(checkpoints.update(db.get_session(), current_api_user(), checkpoint_id, **changes))


def _qr_response(checkpoint_id: int, kind: str) -> Response:
    checkpoint = checkpoints.get_managed(db.get_session(), current_api_user(), checkpoint_id)
    url = checkin_url(checkpoints.token(checkpoint))
    if kind == "png":
        return Response(qr.png(url), mimetype="image/png")
    return Response(qr.svg(url), mimetype="image/svg+xml")


@route("/checkpoints/<id:checkpoint_id>/qr.png", summary="The poster's QR code (PNG)", tag="checkpoints",
       produces="image/png", roles=("coordinator",))
def checkpoint_qr_png(checkpoint_id: int):
    return _qr_response(checkpoint_id, "png")


@route("/checkpoints/<id:checkpoint_id>/qr.svg", summary="The poster's QR code (SVG)", tag="checkpoints",
       produces="image/svg+xml", roles=("coordinator",))
def checkpoint_qr_svg(checkpoint_id: int):
    return _qr_response(checkpoint_id, "svg")


@route("/checkpoints/<id:checkpoint_id>/rotate-code", "POST", summary="Void the old poster, make a new code",
       tag="checkpoints", response=CheckpointOut, roles=("coordinator",))
def rotate_checkpoint_code(checkpoint_id: int):
    return _checkpoint(checkpoints.rotate_code(db.get_session(), current_api_user(), checkpoint_id))


@route("/events", "POST", summary="Create an event", tag="events", body=EventCreate, response=EventOut, status=201,
       roles=("coordinator",))
def create_event(body: EventCreate):
    return _event(events.create(db.get_session(), current_api_user(), **body.model_dump()))


@route("/events", summary="The station's events, latest first", tag="events", query=ListQuery, response=EventList)
def list_events(query: ListQuery):
    return {"events": [_event(row) for row in events.list_for(db.get_session(), current_api_user(),
                                                                  limit=query.limit)]}


@route("/events/<id:event_id>", summary="An event", tag="events", response=EventOut)
def get_event(event_id: int):
    return _event(events.get(db.get_session(), current_api_user(), event_id))


@route("/events/<id:event_id>/code", summary="The event's live sign-in (or, purpose=out, sign-out) code, changing "
       "every 30 s", tag="events", query=EventCodeQuery, response=EventCodeOut, roles=("coordinator",))
def event_code(event_id: int, query: EventCodeQuery):
    event, code, expires_at = events.live_code(db.get_session(), current_api_user(), event_id, purpose=query.purpose)
    return {"event_id": event.id, "code": code, "checkin_url": checkin_url(code), "expires_at": isoformat(expires_at),
            "purpose": query.purpose}


def _result(result, *, hidden: tuple[str, ...] = ()) -> Attrs:
    """A check-in's answer: the row, with the balance, the place, what comes next on the route,
    the badges it earned and the service record it touched."""
    return Attrs(result.checkin, hidden=hidden, balance=result.balance, place_name=result.place_name,
                 next_checkpoint=result.next_checkpoint,
                 shift_completed=bool(result.shift and result.shift.get("completed")),
                 badges=[badge.key for badge in result.badges],
                 service=ServiceRecordOut.of(result.service) if result.service is not None else None)


@route("/checkins", "POST", summary="Check in with a scanned poster or event code", tag="checkins",
       body=CheckinCreate, response=CheckinOut, status=201, idempotent=True, reads_first=True)
def create_checkin(body: CheckinCreate):
    result = checkins.check_in(db.get_session(), current_api_user(), body.code, latitude=body.latitude,
                               longitude=body.longitude, scanned_at=body.scanned_at)
    return _result(result)


@route("/checkins/on-behalf", "POST", summary="A leader checks in a volunteer without a smartphone",
       tag="checkins", body=CheckinOnBehalf, response=CheckinOut, status=201, idempotent=True,
       roles=("coordinator",))
def create_checkin_on_behalf(body: CheckinOnBehalf):
    result = checkins.check_in_for(db.get_session(), current_api_user(), user_id=body.user_id,
                                   member_code=body.member_code, checkpoint_id=body.checkpoint_id,
                                   event_id=body.event_id)
    return _result(result, hidden=("received_at",))


@route("/checkins", summary="Check-ins of a person (yourself unless you coordinate them)", tag="checkins",
       query=CheckinQuery, response=CheckinList)
def list_checkins(query: CheckinQuery):
    rows = checkins.list_for(db.get_session(), current_api_user(), user_id=query.user_id, since=query.since,
                             until=query.until, limit=query.limit)
    return {"checkins": [Attrs(checkin, place_name=name) for checkin, name in rows]}


@route("/users/<id:user_id>/ledger", summary="A person's balance and ledger entries, newest first", tag="ledger",
       query=LedgerQuery, response=LedgerOut)
def user_ledger(user_id: int, query: LedgerQuery):
    session, actor = db.get_session(), current_api_user()
    target = accounts.get_user(session, actor, user_id)  # self, their coordinators, admins
    rows = ledger.entries(session, target.id, limit=query.limit, before_id=query.before_id)
    return {"user_id": target.id, "balance": target.balance, "lifetime_points": target.lifetime_points,
            "entries": rows}


@route("/users/<id:user_id>/adjustments", "POST", summary="Correct a person's points (reason required)",
       tag="ledger", body=AdjustmentCreate, response=EntryOut, status=201, idempotent=True, roles=("coordinator",))
def create_adjustment(user_id: int, body: AdjustmentCreate):
    return ledger.adjust(db.get_session(), current_api_user(), user_id, body.amount, body.reason)
