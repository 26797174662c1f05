"""The mediation room (调解) over JSON."""
from __future__ import annotations

from ... import db
from ...schemas.common import Attrs
from ...schemas.mediation import CaseCreate, CaseList, CaseOut, CaseQuery, FollowUpBody, PoolOut, PoolQuery
from ...services import mediation
from .base import current_api_user, route


def _case(session, case) -> Attrs:
    return Attrs(case, parties=[name for name in case.parties.split("、") if name],
                 mediator_ids=mediation.mediator_ids(session, case.id))


@route("/mediation/cases", "POST", summary="Log a mediation case: a mediation service record per mediator",
       tag="mediation", body=CaseCreate, response=CaseOut, status=201, idempotent=True)
def log_case(body: CaseCreate):
    session = db.get_session()
    return _case(session, mediation.log_case(session, current_api_user(), **body.model_dump(exclude={"client_ref"})))


@route("/mediation/cases", summary="Mediation cases: the station's (staff) or mine", tag="mediation",
       query=CaseQuery, response=CaseList)
def list_cases(query: CaseQuery):
    session = db.get_session()
    rows = mediation.list_cases(session, current_api_user(), **query.model_dump())
    return {"cases": [_case(session, case) for case in rows]}


@route("/mediation/cases/<id:case_id>", summary="A mediation case", tag="mediation", response=CaseOut)
def get_case(case_id: int):
    session = db.get_session()
    return _case(session, mediation.get_case(session, current_api_user(), case_id))


@route("/mediation/cases/<id:case_id>/follow-up", "POST", summary="Record the follow-up visit (回访)",
       tag="mediation", body=FollowUpBody, response=CaseOut)
def follow_up(case_id: int, body: FollowUpBody):
    session = db.get_session()
    return _case(session, mediation.follow_up(session, current_api_user(), case_id, **body.model_dump()))


@route("/mediation/pool", summary="The mediator pool: cases and settlements per mediator", tag="mediation",
       query=PoolQuery, response=PoolOut, roles=("coordinator",))
def mediator_pool(query: PoolQuery):
    entries = mediation.pool(db.get_session(), current_api_user(), since=query.since, until=query.until)
    return {"mediators": [Attrs(entry, hours=round(entry.minutes / 60, 2)) for entry in entries]}
