"""A make-up's photo (a sign-in sheet, the place): checked and re-encoded before anything is
kept, shown to the person and their coordinators only, added over the API while it waits."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import ServiceRecord
from volunteer_app.services import service

from . import factories
from .conftest import arrange, csrf_token, signed_in


def jpeg(size=(2400, 1800)) -> bytes:
    image = Image.new("RGB", size, (30, 120, 60))
    exif = Image.Exif()
    exif[0x0110] = "SecretPhone X"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


@pytest.fixture
def crew(app):
    with arrange(app) as s:
        team = factories.team(s)
        return {"team": team, "boss": factories.coordinator(s, team), "member": factories.user(s, team=team),
                "neighbour": factories.user(s, team=team), "outsider": factories.user(s)}


def _form(client, **changes):
    day = (timeutil.local(timeutil.utcnow()) - timedelta(days=2)).date().isoformat()
    return {"csrf_token": csrf_token(client, "/me/service/makeup"), "kind": "tea_room", "place": "断桥茶室",
            "day": day, "start": "09:00", "end": "11:30", "note": "手机没电了", **changes}


def _makeups(app, user_id):
    with arrange(app) as s:
        return list(s.exec(select(ServiceRecord).where(ServiceRecord.user_id == user_id)))


def test_a_makeup_with_a_photo_keeps_it_clean_and_shows_it_to_the_right_people(app, crew):
    member = crew["member"]
    client = signed_in(app, member)
    sent = client.post("/me/service/makeup", data=_form(client, photo=(io.BytesIO(jpeg()), "sheet.jpg")),
                       content_type="multipart/form-data")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    [record] = _makeups(app, member.id)
    folder = service.photo_dir(app.instance_path)
    stored = folder / record.photo
    assert stored.is_file() and not list(folder.glob("*.part"))
    picture = Image.open(stored)
    assert max(picture.size) == service.PHOTO_SIDE and not picture.getexif()  # smaller, no camera details
    assert "照片" in client.get("/me/service").get_data(as_text=True)
    mine = client.get(f"/service/{record.id}/photo")
    assert mine.status_code == 200 and mine.mimetype == "image/jpeg"
    assert mine.headers["Cache-Control"] == "private, no-store"
    boss = signed_in(app, crew["boss"])
    assert boss.get(f"/service/{record.id}/photo").status_code == 200
    assert "照片" in boss.get("/staff/service").get_data(as_text=True)
    assert signed_in(app, crew["neighbour"]).get(f"/service/{record.id}/photo").status_code == 403
    assert signed_in(app, crew["outsider"]).get(f"/service/{record.id}/photo").status_code == 403


def test_a_bad_photo_is_refused_on_the_form_and_nothing_is_kept(app, crew):
    member = crew["member"]
    client = signed_in(app, member)
    bad = client.post("/me/service/makeup", data=_form(client, photo=(io.BytesIO(b"GIF89a not a photo"), "x.jpg")),
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="e-photo"' in page and "断桥茶室" in page  # the form again, as filled in
    assert _makeups(app, member.id) == []
    folder = service.photo_dir(app.instance_path)
    assert not folder.exists() or not any(folder.iterdir())
    without = client.post("/me/service/makeup", data=_form(client), content_type="multipart/form-data")
    assert without.status_code == 302
    [record] = _makeups(app, member.id)
    assert record.photo is None
    assert client.get(f"/service/{record.id}/photo").status_code == 404


def test_a_photo_over_the_api_while_the_makeup_waits(api, app, crew):
    member, boss = crew["member"], crew["boss"]
    start = timeutil.utcnow().replace(microsecond=0) - timedelta(hours=5)
    record = api.post("/api/v1/service/makeups", user=member, json={
        "kind": "tea_room", "started_at": timeutil.local(start).isoformat(), "place": "断桥茶室",
        "ended_at": timeutil.local(start + timedelta(hours=2)).isoformat(), "note": "手机没电了"}).get_json()
    assert record["has_photo"] is False

    def upload(user, data=None):
        return api.post(f"/api/v1/service/{record['id']}/photo", user=user,
                        data={"file": (io.BytesIO(data or jpeg((800, 600))), "p.jpg")},
                        content_type="multipart/form-data")

    assert upload(boss).status_code == 403  # not the coordinator's own make-up
    assert upload(crew["outsider"]).status_code == 403
    broken = upload(member, b"\x89PNG\r\n\x1a\n broken")
    assert broken.status_code == 422 and broken.get_json()["errors"][0]["field"] == "file"
    added = upload(member)
    assert added.status_code == 200 and added.get_json()["has_photo"] is True
    first = _makeups(app, member.id)[0].photo
    assert upload(member).status_code == 200  # replaced: the old file goes
    folder = service.photo_dir(app.instance_path)
    assert not (folder / first).exists() and (folder / _makeups(app, member.id)[0].photo).is_file()
    shown = api.get(f"/api/v1/service/{record['id']}/photo", user=boss)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert api.post(f"/api/v1/service/{record['id']}/confirm", json={}, user=boss).status_code == 200
    late = upload(member)
    assert late.status_code == 409 and late.get_json()["code"] == "not_open"
