"""Service records (服务记录) and hours over JSON."""
from __future__ import annotations

from flask import current_app, request, send_file

from ... import db
from ...schemas.service import (ConfirmBody, EntryCreate, MakeupCreate, RejectBody, ServiceKindList, ServiceKindOut,
                                ServiceKindSet, ServiceQuery, ServiceRecordOut, SignOutBody, UserServiceOut)
from ...schemas.assessment import PersonRecordOut, RecordQuery
from ...schemas.common import Attrs
from ...schemas.tips import PHOTO_UPLOAD
from ...services import assessment, images, reports, service
from .base import current_api_user, route, settle_first


def _record(record) -> dict:
    return ServiceRecordOut.of(record).model_dump()


@route("/service/kinds", summary="The station's kinds of service", tag="service", response=ServiceKindList)
def list_kinds():
    actor = current_api_user()
    return {"kinds": [vars(kind) for kind in service.kinds(db.get_session(), actor.station_id,
                                                            include_inactive=actor.has_role("admin"))]}


@route("/service/kinds", "POST", summary="Set a kind's points per hour, or add the station's own kind",
       tag="service", body=ServiceKindSet, response=ServiceKindOut, roles=("admin",))
def set_kind(body: ServiceKindSet):
    changes = body.model_dump(exclude_unset=True)
    return vars(service.set_kind(db.get_session(), current_api_user(), changes.pop("key"), **changes))


@route("/users/<id:user_id>/service", summary="A person's service records and hours served", tag="service",
       query=ServiceQuery, response=UserServiceOut)
def user_service(user_id: int, query: ServiceQuery):
    session, actor = db.get_session(), current_api_user()
    target, _records = service.records_of(session, actor, user_id, limit=1)  # may they? (403/404 first)
    settle_first(service.settle, user_id=target.id)
    target, records = service.records_of(session, actor, user_id, since=query.since, until=query.until,
                                         status=query.status, limit=query.limit)
    return {"user_id": target.id, "hours_served": target.hours_served,
            "records": [ServiceRecordOut.of(row) for row in records]}


@route("/service/makeups", "POST", summary="Ask for hours that were not scanned (补录)", tag="service",
       body=MakeupCreate, response=ServiceRecordOut, status=201, idempotent=True)
def create_makeup(body: MakeupCreate):
    return _record(service.request_makeup(db.get_session(), current_api_user(),
                                          **body.model_dump(exclude={"client_ref"})))


@route("/service/<id:record_id>/photo", "POST", summary="Add a photo to my make-up while it waits (JPEG or PNG, "
       "at most 5 MB)", tag="service", response=ServiceRecordOut, multipart=PHOTO_UPLOAD)
def add_makeup_photo(record_id: int):
    upload = request.files.get("file")
    data = images.read_upload(upload.stream if upload else None)
    return _record(service.attach_photo(db.get_session(), current_api_user(), record_id, data,
                                        folder=service.photo_dir(current_app.instance_path)))


@route("/service/<id:record_id>/photo", summary="A make-up's photo", tag="service", produces="image/jpeg")
def get_makeup_photo(record_id: int):
    path = service.photo(db.get_session(), current_api_user(), record_id,
                         folder=service.photo_dir(current_app.instance_path))
    response = send_file(path, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@route("/service/entries", "POST", summary="Record service for a member (no smartphone)", tag="service",
       body=EntryCreate, response=ServiceRecordOut, status=201, idempotent=True, roles=("coordinator",))
def create_entry(body: EntryCreate):
    return _record(service.record_entry(db.get_session(), current_api_user(),
                                        **body.model_dump(exclude={"client_ref"})))


@route("/service/<id:record_id>/confirm", "POST", summary="Confirm a pending record (times may be corrected)",
       tag="service", body=ConfirmBody, response=ServiceRecordOut, roles=("coordinator",))
def confirm_record(record_id: int, body: ConfirmBody):
    return _record(service.confirm(db.get_session(), current_api_user(), record_id, **body.model_dump()))


@route("/service/<id:record_id>/reject", "POST", summary="Reject a pending record, with the reason", tag="service",
       body=RejectBody, response=ServiceRecordOut, roles=("coordinator",))
def reject_record(record_id: int, body: RejectBody):
    return _record(service.reject(db.get_session(), current_api_user(), record_id, note=body.note))


@route("/service/<id:record_id>/sign-out", "POST", summary="Sign out of one's open duty", tag="service",
       body=SignOutBody, response=ServiceRecordOut, idempotent=True)
def sign_out(record_id: int, body: SignOutBody):
    return _record(service.sign_out(db.get_session(), current_api_user(), record_id, latitude=body.latitude,
                                    longitude=body.longitude))


@route("/users/<id:user_id>/record", summary="A person's record for a period (个人考核)", tag="service",
       query=RecordQuery, response=PersonRecordOut)
def person_record(user_id: int, query: RecordQuery):
    p = reports.period(query.first, query.last)
    record = assessment.person_record(db.get_session(), current_api_user(), user_id, p.start, p.end)
    return Attrs(record, first=p.first, last=p.last, hours_served=record.hours,
                 hours_by_kind={key: round(minutes / 60, 2) for key, minutes in record.minutes_by_kind.items()})
