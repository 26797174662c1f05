"""Call-outs over JSON."""
from __future__ import annotations

from ... import db
from ...schemas.callouts import (AnswerOut, AnswerRequest, ArrivedOut, ArrivedRequest, CalloutCreate, CalloutList,
                                 CalloutOut, CalloutQuery)
from ...schemas.common import Attrs
from ...services import callouts
from .base import current_api_user, route


@route("/callouts", "POST", summary="Call volunteers out now (民警有呼)", tag="callouts", body=CalloutCreate,
       response=CalloutOut, status=201, idempotent=True, roles=("coordinator",))
def create_callout(body: CalloutCreate):
    made = callouts.create(db.get_session(), current_api_user(), **body.model_dump(exclude={"client_ref"}))
    return callouts.view(made)


@route("/callouts", summary="Call-outs addressed to my teams (staff: the station's)", tag="callouts",
       query=CalloutQuery, response=CalloutList)
def list_callouts(query: CalloutQuery):
    rows = callouts.list_for(db.get_session(), current_api_user(), status=query.status, limit=query.limit)
    return {"callouts": [callouts.view(row) for row in rows]}


@route("/callouts/<id:callout_id>", summary="A call-out", tag="callouts", response=CalloutOut)
def get_callout(callout_id: int):
    return callouts.view(callouts.get(db.get_session(), current_api_user(), callout_id))


@route("/callouts/<id:callout_id>/answer", "POST", summary="Answer a call-out: coming (我来) or cannot (来不了)",
       tag="callouts", body=AnswerRequest, response=AnswerOut, status=201, idempotent=True)
def answer_callout(callout_id: int, body: AnswerRequest):
    return callouts.answer(db.get_session(), current_api_user(), callout_id, answer=body.answer)


@route("/callouts/<id:callout_id>/arrived", "POST", summary="Mark a volunteer arrived (the call-out's points, once)",
       tag="callouts", body=ArrivedRequest, response=ArrivedOut, roles=("coordinator",))
def arrived(callout_id: int, body: ArrivedRequest):
    row, given = callouts.mark_arrived(db.get_session(), current_api_user(), callout_id, body.user_id)
    return Attrs(row, points_awarded=given)


@route("/callouts/<id:callout_id>/close", "POST", summary="Close a call-out", tag="callouts", response=CalloutOut,
       roles=("coordinator",))
def close_callout(callout_id: int):
    return callouts.view(callouts.close(db.get_session(), current_api_user(), callout_id))
