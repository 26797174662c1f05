"""Anti-fraud publicity sessions (反诈宣传) over JSON."""
from __future__ import annotations

from flask import current_app, request

from ... import db
from ...schemas.common import Attrs
from ...schemas.publicity import PublicityBody, PublicityOut, ReachOut, ReachQuery, SeriesCreate, SeriesOut
from ...schemas.tips import PHOTO_UPLOAD
from ...services import images, publicity
from .base import current_api_user, route
from .checkins import _event


def _report(row) -> Attrs:
    return Attrs(row, has_photo=bool(row.photo))


@route("/events/<id:event_id>/publicity", "POST", summary="Record what a publicity session reached",
       tag="publicity", body=PublicityBody, response=PublicityOut, roles=("coordinator",))
def save_report(event_id: int, body: PublicityBody):
    return _report(publicity.save_report(db.get_session(), current_api_user(), event_id, **body.model_dump()))


@route("/events/<id:event_id>/publicity/photo", "POST", summary="The session's photo (JPEG or PNG, at most 5 MB)",
       tag="publicity", response=PublicityOut, status=201, multipart=PHOTO_UPLOAD, roles=("coordinator",))
def add_photo(event_id: int):
    upload = request.files.get("file")
    data = images.read_upload(upload.stream if upload else None)
    return _report(publicity.add_photo(db.get_session(), current_api_user(), event_id, data,
                                       folder=publicity.photo_dir(current_app.instance_path)))


@route("/publicity/series", "POST", summary="Publicity sessions every two weeks", tag="publicity",
       body=SeriesCreate, response=SeriesOut, status=201, roles=("coordinator",))
def create_series(body: SeriesCreate):
    made = publicity.create_series(db.get_session(), current_api_user(), **body.model_dump())
    return {"events": [_event(event) for event in made]}


@route("/publicity/reach", summary="Publicity sessions and people reached in a period", tag="publicity",
       query=ReachQuery, response=ReachOut, roles=("coordinator",))
def reach(query: ReachQuery):
    return vars(publicity.reach(db.get_session(), current_api_user().station_id, query.since, query.until))
