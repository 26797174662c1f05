"""Care visits (关爱走访) over JSON."""
from __future__ import annotations

from flask import Response, current_app, request, send_file

from ... import db
from ...schemas.care import (CareExportQuery, HouseholdCreate, HouseholdDetailOut, HouseholdList, HouseholdOut,
                             HouseholdPatch, HouseholdQuery, VisitCreate, VisitList, VisitOut)
from ...schemas.common import Attrs
from ...schemas.tips import PHOTO_UPLOAD
from ...services import care, csv_export, images
from .base import current_api_user, route


def _row(row: care.Row) -> Attrs:
    return Attrs(row.household, due_on=row.due_on, state=row.state, volunteer_ids=row.assigned)


def _visit(session, visit, **extra) -> Attrs:
    extra.setdefault("visitor_ids", care.visitor_ids(session, visit.id))
    return Attrs(visit, has_photo=bool(visit.photo), **extra)


def _detail(session, opened: care.Opened) -> Attrs:
    return Attrs(opened.household, due_on=opened.due_on, state=opened.state,
                 volunteer_ids=[person.id for person in opened.assigned], name=opened.name, address=opened.address,
                 contact=opened.contact, needs=opened.needs,
                 visits=[_visit(session, item["visit"], visitor_ids=item["visitor_ids"], note=item["note"],
                                concern_note=item["concern_note"]) for item in opened.visits])


def _folder():
    return care.photo_dir(current_app.instance_path)


@route("/care/households", summary="Households to visit: the station's (staff) or those assigned to me",
       tag="care", query=HouseholdQuery, response=HouseholdList)
def list_households(query: HouseholdQuery):
    rows = care.list_households(db.get_session(), current_api_user(), mine=query.mine, state=query.state)
    return {"households": [_row(row) for row in rows]}


@route("/care/households", "POST", summary="Register a household to visit", tag="care", body=HouseholdCreate,
       response=HouseholdDetailOut, status=201, roles=("coordinator",))
def create_household(body: HouseholdCreate):
    session, actor = db.get_session(), current_api_user()
    household = care.create_household(session, actor, **body.model_dump())
    return _detail(session, care.open_household(session, actor, household.id))


@route("/care/households/<id:household_id>", summary="A household with its personal data (the opening is audited)",
       tag="care", response=HouseholdDetailOut, writes=True)
def get_household(household_id: int):
    session = db.get_session()
    return _detail(session, care.open_household(session, current_api_user(), household_id))


@route("/care/households/<id:household_id>", "PATCH", summary="Change a household or its assigned volunteers",
       tag="care", body=HouseholdPatch, response=HouseholdDetailOut, roles=("coordinator",))
def update_household(household_id: int, body: HouseholdPatch):
    session, actor = db.get_session(), current_api_user()
    care.update_household(session, actor, household_id, **body.model_dump(exclude_unset=True))
    return _detail(session, care.open_household(session, actor, household_id))


@route("/care/households/<id:household_id>/visits", "POST",
       summary="Log a visit: a care_visit service record for everyone who went", tag="care", body=VisitCreate,
       response=VisitOut, status=201, idempotent=True)
def log_visit(household_id: int, body: VisitCreate):
    session = db.get_session()
    visit = care.log_visit(session, current_api_user(), household_id, **body.model_dump(exclude={"client_ref"}))
    return _visit(session, visit)


@route("/care/concerns", summary="Visits with a concern not yet dealt with", tag="care", response=VisitList,
       roles=("coordinator",))
def list_concerns():
    session = db.get_session()
    return {"visits": [_visit(session, visit) for visit, _household in care.open_concerns(session,
                                                                                         current_api_user())]}


@route("/care/visits/<id:visit_id>/close-concern", "POST", summary="Mark a visit's concern as dealt with",
       tag="care", response=VisitOut, roles=("coordinator",))
def close_concern(visit_id: int):
    session = db.get_session()
    return _visit(session, care.close_concern(session, current_api_user(), visit_id))


@route("/care/visits/<id:visit_id>/photo", "POST", summary="Add the visit's photo (JPEG or PNG, at most 5 MB)",
       tag="care", response=VisitOut, status=201, multipart=PHOTO_UPLOAD)
def add_photo(visit_id: int):
    session = db.get_session()
    upload = request.files.get("file")
    data = images.read_upload(upload.stream if upload else None)
    return _visit(session, care.add_photo(session, current_api_user(), visit_id, data, folder=_folder()))


@route("/care/visits/<id:visit_id>/photo", summary="The visit's photo (the opening is audited)", tag="care",
       produces="image/jpeg", writes=True)
def get_photo(visit_id: int):
    path = care.photo_path(db.get_session(), current_api_user(), visit_id, folder=_folder())
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@route("/care/households.csv", summary="The register as CSV (personal data only for an admin who asks; audited)",
       tag="care", query=CareExportQuery, produces="text/csv", roles=("coordinator",), writes=True)
def export_households(query: CareExportQuery):
    header, rows = care.export_rows(db.get_session(), current_api_user(), personal=query.personal)
    response = Response("".join(csv_export.csv_stream(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="care-households.csv"'
    return response
