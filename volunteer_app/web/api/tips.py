"""Tips and hazards over JSON."""
from __future__ import annotations

from flask import current_app, request, send_file, url_for

from ... import db
from ...schemas.common import Attrs
from ...schemas.tips import (PHOTO_UPLOAD, CloseRequest, ReviewRequest, TipCreate, TipList, TipOut, TipPhotoOut,
                             TipQuery, TriageRequest)
from ...services import tips
from .base import current_api_user, route


def _folder():
    return tips.photo_dir(current_app.instance_path)


def _photo(tip_id: int, photo) -> Attrs:
    return Attrs(photo, url=url_for("api.tips_get_photo", tip_id=tip_id, photo_id=photo.id))


def _tip(tip, photos, withheld: set[int]) -> Attrs:
    extra = {"reporter_id": None} if tip.id in withheld else {}
    return Attrs(tip, photos=[_photo(tip.id, photo) for photo in photos], **extra)


def _view(tip) -> Attrs:
    session = db.get_session()
    return _tip(tip, tips.photos_of(session, [tip.id])[tip.id],
                tips.withheld_reporters(session, current_api_user(), [tip]))


@route("/tips", "POST", summary="Report a tip or hazard", tag="tips", body=TipCreate, response=TipOut,
       status=201, idempotent=True)
def create_tip(body: TipCreate):
    tip, created = tips.submit(db.get_session(), current_api_user(), **body.model_dump())
    return _view(tip), (201 if created else 200)


@route("/tips", summary="Tips I may see: my own; a coordinator's teams'; all for an admin", tag="tips",
       query=TipQuery, response=TipList)
def list_tips(query: TipQuery):
    session = db.get_session()
    rows = tips.list_tips(session, current_api_user(), status=query.status, level=query.level, limit=query.limit)
    photos = tips.photos_of(session, [tip.id for tip in rows])
    withheld = tips.withheld_reporters(session, current_api_user(), rows)
    return {"tips": [_tip(tip, photos[tip.id], withheld) for tip in rows]}


@route("/tips/<id:tip_id>", summary="A tip", tag="tips", response=TipOut)
def get_tip(tip_id: int):
    return _view(tips.get_tip(db.get_session(), current_api_user(), tip_id))


@route("/tips/<id:tip_id>/photos", "POST", summary="Add a photo to my tip (JPEG or PNG, at most 5 MB)",
       tag="tips", response=TipPhotoOut, status=201, multipart=PHOTO_UPLOAD)
def add_photo(tip_id: int):
    upload = request.files.get("file")
    data = tips.read_limited(upload.stream if upload else None)
    return _photo(tip_id, tips.add_photo(db.get_session(), current_api_user(), tip_id, data, folder=_folder()))


@route("/tips/<id:tip_id>/photos/<id:photo_id>", summary="A photo of a tip", tag="tips", produces="image/jpeg")
def get_photo(tip_id: int, photo_id: int):
    photo, path = tips.get_photo(db.get_session(), current_api_user(), tip_id, photo_id, folder=_folder())
    response = send_file(path, mimetype=photo.content_type, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@route("/tips/<id:tip_id>/triage", "POST", summary="Triage a tip: red, yellow or blue, with a due date",
       tag="tips", body=TriageRequest, response=TipOut, roles=("coordinator",))
def triage(tip_id: int, body: TriageRequest):
    return _view(tips.triage(db.get_session(), current_api_user(), tip_id, **body.model_dump()))


@route("/tips/<id:tip_id>/review", "POST", summary="Review a tip once: valid (with points) or not",
       tag="tips", body=ReviewRequest, response=TipOut, roles=("coordinator",))
def review(tip_id: int, body: ReviewRequest):
    return _view(tips.review(db.get_session(), current_api_user(), tip_id, **body.model_dump()))


@route("/tips/<id:tip_id>/close", "POST", summary="Close a tip with its resolution", tag="tips",
       body=CloseRequest, response=TipOut, roles=("coordinator",))
def close(tip_id: int, body: CloseRequest):
    return _view(tips.close(db.get_session(), current_api_user(), tip_id, **body.model_dump()))
