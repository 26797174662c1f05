"""Tips over JSON: the contract's status codes and error shapes, photos, visibility."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import LedgerEntry, TipPhoto

from . import factories
from .conftest import at_once


@pytest.fixture
def people(app):
    """Made in an app context of their own, so that each request below gets a fresh one (and a
    fresh database session), as in production."""
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        team = factories.team(session)
        return {
            "coordinator": factories.coordinator(session, team),
            "reporter": factories.user(session, team=team),
            "teammate": factories.user(session, team=team),
            "outsider": factories.user(session),
            "admin": factories.admin(session),
        }


def file_tip(api, user, **fields):
    body = {"category": "fraud", "description": "有人在菜场推销“保本理财”", **fields}
    response = api.post("/api/v1/tips", user=user, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_problem(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert (body["status"], body["code"]) == (status, code)
    return body


# --- pictures -------------------------------------------------------------------------------

def png_bytes(size=(800, 600), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 128).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_with_exif(size=(3000, 2000)) -> bytes:
    image = Image.new("RGB", size, (20, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = "SecretPhone X"  # camera model
    exif[0x0112] = 6  # orientation: rotate 90° to stand upright
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def png_bomb(side: int = 40_000) -> bytes:
    """A real PNG of side x side black 1-bit pixels (1.6 gigapixels) in about 200 KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    row = b"\x00" * (1 + side // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def upload(api, user, tip_id, content: bytes, filename="photo.jpg", content_type="image/jpeg"):
    return api.post(f"/api/v1/tips/{tip_id}/photos", user=user,
                    data={"file": (io.BytesIO(content), filename, content_type)},
                    content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    folder = Path(app.instance_path) / "tip_photos"
    return sorted(folder.iterdir()) if folder.exists() else []


def photo_rows(app) -> int:
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        return len(session.exec(select(TipPhoto)).all())


# --- the contract ---------------------------------------------------------------------------

def test_report_and_the_whole_path(api, people):
    tip = file_tip(api, people["reporter"], place="文三路菜场", latitude=30.27, longitude=120.15)
    assert (tip["status"], tip["level"], tip["points_awarded"], tip["reporter_id"]) == (
        "submitted", None, 0, people["reporter"].id)
    assert {"id", "category", "description", "place", "latitude", "longitude", "due_at", "created_at"} <= set(tip)
    coordinator = people["coordinator"]
    triaged = api.post(f"/api/v1/tips/{tip['id']}/triage", user=coordinator,
                       json={"level": "yellow", "note": "回访", "due_at": "2026-12-01T18:00:00+08:00"})
    assert triaged.status_code == 200
    assert (triaged.get_json()["status"], triaged.get_json()["level"]) == ("triaged", "yellow")
    assert triaged.get_json()["due_at"] == "2026-12-01T18:00:00+08:00"
    reviewed = api.post(f"/api/v1/tips/{tip['id']}/review", user=coordinator, json={"valid": True, "note": "属实"})
    assert reviewed.status_code == 200
    assert (reviewed.get_json()["status"], reviewed.get_json()["points_awarded"]) == ("verified", 20)
    again = api.post(f"/api/v1/tips/{tip['id']}/review", user=coordinator, json={"valid": True, "note": "again"})
    assert_problem(again, 409, "already_reviewed")
    closed = api.post(f"/api/v1/tips/{tip['id']}/close", user=coordinator, json={"resolution": "已劝阻"})
    assert (closed.status_code, closed.get_json()["status"]) == (200, "closed")
    ledger = api.get(f"/api/v1/users/{people['reporter'].id}/ledger", user=people["reporter"])
    if ledger.status_code == 200:  # the ledger endpoint belongs to the check-in work
        assert [e["kind"] for e in ledger.get_json()["entries"]] == ["tip"]


def test_close_before_triage_is_409(api, people):
    tip = file_tip(api, people["reporter"])
    response = api.post(f"/api/v1/tips/{tip['id']}/close", user=people["coordinator"], json={"resolution": "x"})
    assert_problem(response, 409, "conflict")


def test_client_ref_files_once(api, people):
    body = {"category": "hazard", "description": "路灯坏了", "client_ref": "phone-42"}
    first = api.post("/api/v1/tips", user=people["reporter"], json=body)
    second = api.post("/api/v1/tips", user=people["reporter"], json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json() == second.get_json()
    listed = api.get("/api/v1/tips", user=people["reporter"]).get_json()["tips"]
    assert len(listed) == 1


@pytest.mark.parametrize("body, field", [
    ({"category": "gossip", "description": "x"}, "category"),
    ({"category": "fraud", "description": "   "}, "description"),
    ({"category": "fraud"}, "description"),
    ({"category": "fraud", "description": "x", "latitude": 100}, "latitude"),
    ({"category": "fraud", "description": "x", "reporter_id": 1}, "reporter_id"),
    ({"category": "fraud", "description": "x", "client_ref": ""}, "client_ref"),
])
def test_bad_reports_are_422_with_field_errors(api, people, body, field):
    body_out = assert_problem(api.post("/api/v1/tips", user=people["reporter"], json=body), 422, "validation_error")
    assert field in [error["field"] for error in body_out["errors"]]


@pytest.mark.parametrize("path, body", [
    ("triage", {"level": "green"}),
    ("triage", {"level": "red", "due_at": "2026-12-01T18:00:00"}),  # no offset
    ("review", {"valid": "yes", "note": "x"}),
    ("review", {"valid": True}),
    ("review", {"valid": True, "note": "x", "points": -5}),
    ("close", {"resolution": ""}),
])
def test_bad_staff_bodies_are_422(api, people, path, body):
    tip = file_tip(api, people["reporter"])
    response = api.post(f"/api/v1/tips/{tip['id']}/{path}", user=people["coordinator"], json=body)
    assert_problem(response, 422, "validation_error")


def test_auth_roles_and_visibility(api, people):
    tip = file_tip(api, people["reporter"])
    other = file_tip(api, people["teammate"])
    assert_problem(api.get("/api/v1/tips"), 401, "unauthorized")
    assert_problem(api.post(f"/api/v1/tips/{tip['id']}/triage", user=people["teammate"], json={"level": "red"}),
                   403, "forbidden")
    assert_problem(api.post(f"/api/v1/tips/{tip['id']}/review", user=people["reporter"],
                            json={"valid": True, "note": "me"}), 403, "forbidden")
    assert_problem(api.get(f"/api/v1/tips/{other['id']}", user=people["reporter"]), 403, "forbidden")
    assert_problem(api.get(f"/api/v1/tips/{tip['id']}", user=people["outsider"]), 403, "forbidden")
    assert_problem(api.get("/api/v1/tips/999999", user=people["reporter"]), 404, "not_found")
    assert api.get(f"/api/v1/tips/{tip['id']}", user=people["reporter"]).status_code == 200
    mine = api.get("/api/v1/tips", user=people["reporter"]).get_json()["tips"]
    assert [t["id"] for t in mine] == [tip["id"]]
    assert api.get("/api/v1/tips", user=people["outsider"]).get_json()["tips"] == []
    staff = api.get("/api/v1/tips", user=people["coordinator"]).get_json()["tips"]
    assert [t["id"] for t in staff] == [other["id"], tip["id"]]  # newest first


def test_list_filters_by_status_and_level(api, people):
    red = file_tip(api, people["reporter"])
    file_tip(api, people["reporter"])
    api.post(f"/api/v1/tips/{red['id']}/triage", user=people["coordinator"], json={"level": "red"})
    by_level = api.get("/api/v1/tips?level=red", user=people["coordinator"]).get_json()["tips"]
    assert [t["id"] for t in by_level] == [red["id"]]
    by_status = api.get("/api/v1/tips?status=submitted", user=people["reporter"]).get_json()["tips"]
    assert len(by_status) == 1 and by_status[0]["id"] != red["id"]
    assert_problem(api.get("/api/v1/tips?status=lost", user=people["reporter"]), 422, "validation_error")
    everything = api.get("/api/v1/tips?status=&level=", user=people["reporter"])
    assert everything.status_code == 200 and len(everything.get_json()["tips"]) == 2
    assert_problem(api.get("/api/v1/tips?limit=0", user=people["reporter"]), 422, "validation_error")


# --- photos ---------------------------------------------------------------------------------

def test_png_and_jpeg_are_accepted_resized_and_stripped(app, api, people):
    tip = file_tip(api, people["reporter"])
    png = upload(api, people["reporter"], tip["id"], png_bytes(), filename="screen.png", content_type="image/png")
    assert png.status_code == 201, png.get_json()
    assert (png.get_json()["content_type"], png.get_json()["width"]) == ("image/png", 800)
    jpeg = upload(api, people["reporter"], tip["id"], jpeg_with_exif(), filename="IMG_0001.HEIC")
    assert jpeg.status_code == 201, jpeg.get_json()
    body = jpeg.get_json()
    # turned upright (EXIF orientation 6) and resized to 1600 on the longest side
    assert (body["content_type"], body["width"], body["height"]) == ("image/jpeg", 1067, 1600)
    served = api.get(body["url"], user=people["reporter"])
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert "no-store" in served.headers["Cache-Control"]
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.size == (1067, 1600)
        assert not image.getexif() and "exif" not in image.info
    assert b"SecretPhone" not in served.data
    listed = api.get(f"/api/v1/tips/{tip['id']}", user=people["coordinator"]).get_json()
    assert [p["id"] for p in listed["photos"]] == [png.get_json()["id"], body["id"]]
    assert len(stored_files(app)) == 2


@pytest.mark.parametrize("name, content", [
    ("text_renamed", "这不是照片，只是一段文字。\n".encode() * 50),
    ("bomb", None),
    ("truncated_png", png_bytes((1200, 900))[:400]),
    ("truncated_jpeg", jpeg_with_exif((1200, 900))[:2000]),
    ("jpeg_header_only", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64),
    ("gif", None),
    ("empty", b""),
])
def test_bad_photos_are_refused_cleanly(app, api, people, name, content):
    if name == "bomb":
        content = png_bomb()
        assert len(content) < 1024 * 1024
    if name == "gif":
        buffer = io.BytesIO()
        Image.new("RGB", (10, 10)).save(buffer, "GIF")
        content = buffer.getvalue()
    tip = file_tip(api, people["reporter"])
    response = upload(api, people["reporter"], tip["id"], content, filename="evidence.jpg")
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "file"
    assert stored_files(app) == [] and photo_rows(app) == 0


def test_a_photo_over_five_megabytes_is_413_like_every_upload(app, api, people):
    tip = file_tip(api, people["reporter"])
    response = upload(api, people["reporter"], tip["id"], b"\xff\xd8\xff\xe0" + b"\x00" * (6 * 1000 * 1000))
    assert_problem(response, 413, "payload_too_large")
    assert stored_files(app) == [] and photo_rows(app) == 0


SECRET = "GPS 30.2741 120.1551 home of reporter"


def _jpeg_carrying(kind: str) -> bytes:
    image = Image.new("RGB", (640, 480), (20, 120, 200))
    exif = Image.Exif()
    exif[0x010E] = SECRET  # image description
    options = {"comment": {"comment": SECRET.encode()},
               "exif": {"exif": exif.tobytes()},
               "xmp": {"xmp": f"<x:xmpmeta><rdf:Description>{SECRET}</rdf:Description></x:xmpmeta>".encode()},
               "icc": {"icc_profile": b"\x00" * 128 + SECRET.encode()}}[kind]
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    assert SECRET.encode() in buffer.getvalue()
    return buffer.getvalue()


def _png_carrying(kind: str) -> bytes:
    from PIL import PngImagePlugin
    image = Image.new("RGB", (640, 480), (20, 120, 200))
    info = PngImagePlugin.PngInfo()
    options = {"pnginfo": info}
    if kind == "tEXt":
        info.add_text("Comment", SECRET)
    elif kind == "zTXt":
        info.add_text("Comment", SECRET * 4, zip=True)
    elif kind == "iTXt":
        info.add_itxt("Comment", SECRET, lang="zh", tkey="注释")
    elif kind == "png_icc":
        options["icc_profile"] = b"\x00" * 128 + SECRET.encode()
    elif kind == "png_exif":
        exif = Image.Exif()
        exif[0x010E] = SECRET
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["comment", "exif", "xmp", "icc", "tEXt", "zTXt", "iTXt", "png_icc", "png_exif"])
def test_no_metadata_of_any_kind_is_served_back(app, api, people, kind):
    """The served photo holds the pixels alone: no JPEG comment, EXIF, XMP, ICC profile or PNG
    text chunk of the upload (a reporter's home written into a comment must not travel on)."""
    content = _jpeg_carrying(kind) if kind in ("comment", "exif", "xmp", "icc") else _png_carrying(kind)
    with Image.open(io.BytesIO(content)) as original:  # the upload really carries it
        assert original.info or original.getexif()
    tip = file_tip(api, people["reporter"])
    response = upload(api, people["reporter"], tip["id"], content, filename="evidence.jpg")
    assert response.status_code == 201, response.get_json()
    served = api.get(response.get_json()["url"], user=people["coordinator"]).data
    assert SECRET.encode() not in served and SECRET.encode("utf-16-be") not in served
    for marker in (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf", b"Exif\x00", b"http://ns.adobe.com/xap",
                   b"ICC_PROFILE", b"\xff\xfe"):
        assert marker not in served, marker
    with Image.open(io.BytesIO(served)) as image:
        assert not image.getexif() and not set(image.info) & {"comment", "exif", "xmp", "icc_profile", "Comment"}


def test_not_multipart_or_no_file_is_422(app, api, people):
    tip = file_tip(api, people["reporter"])
    assert_problem(api.post(f"/api/v1/tips/{tip['id']}/photos", user=people["reporter"], json={"file": "x"}),
                   422, "validation_error")
    empty = api.post(f"/api/v1/tips/{tip['id']}/photos", user=people["reporter"], data={"other": "x"},
                     content_type="multipart/form-data")
    assert_problem(empty, 422, "validation_error")
    assert stored_files(app) == []


def test_a_body_beyond_the_upload_limit_is_413(app, api, people):
    tip = file_tip(api, people["reporter"])
    response = upload(api, people["reporter"], tip["id"], b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    assert_problem(response, 413, "payload_too_large")
    assert stored_files(app) == []


def test_at_most_three_photos_and_only_by_the_reporter_until_review(app, api, people):
    tip = file_tip(api, people["reporter"])
    for _ in range(3):
        assert upload(api, people["reporter"], tip["id"], png_bytes((40, 30))).status_code == 201
    assert_problem(upload(api, people["reporter"], tip["id"], png_bytes((40, 30))), 422, "validation_error")
    other = file_tip(api, people["reporter"])
    assert_problem(upload(api, people["coordinator"], other["id"], png_bytes()), 403, "forbidden")
    assert_problem(upload(api, people["teammate"], other["id"], png_bytes()), 403, "forbidden")
    api.post(f"/api/v1/tips/{other['id']}/review", user=people["coordinator"], json={"valid": False, "note": "no"})
    assert_problem(upload(api, people["reporter"], other["id"], png_bytes()), 409, "conflict")
    assert len(stored_files(app)) == 3 and photo_rows(app) == 3


def test_photos_are_served_only_to_those_who_may_see_the_tip(api, people):
    tip = file_tip(api, people["reporter"])
    photo = upload(api, people["reporter"], tip["id"], png_bytes()).get_json()
    assert api.get(photo["url"], user=people["coordinator"]).status_code == 200
    assert api.get(photo["url"], user=people["admin"]).status_code == 200
    assert_problem(api.get(photo["url"], user=people["teammate"]), 403, "forbidden")
    assert_problem(api.get(photo["url"], user=people["outsider"]), 403, "forbidden")
    assert_problem(api.get(photo["url"]), 401, "unauthorized")
    other = file_tip(api, people["teammate"])
    assert_problem(api.get(f"/api/v1/tips/{other['id']}/photos/{photo['id']}", user=people["teammate"]),
                   404, "not_found")


def test_review_pays_one_entry_through_the_api(app, api, people):
    tip = file_tip(api, people["reporter"], category="ecology")
    response = api.post(f"/api/v1/tips/{tip['id']}/review", user=people["admin"],
                        json={"valid": True, "points": 25, "note": "江边电鱼，已制止"})
    assert response.get_json()["points_awarded"] == 25
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        entries = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"tip:{tip['id']}")).all()
        assert [(e.kind, e.amount) for e in entries] == [("tip", 25)]


def test_openapi_describes_the_tip_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for path, method in (("/api/v1/tips", "post"), ("/api/v1/tips", "get"), ("/api/v1/tips/{tip_id}", "get"),
                         ("/api/v1/tips/{tip_id}/photos", "post"), ("/api/v1/tips/{tip_id}/triage", "post"),
                         ("/api/v1/tips/{tip_id}/review", "post"), ("/api/v1/tips/{tip_id}/close", "post")):
        assert method in paths[path], (path, method)
    upload_body = paths["/api/v1/tips/{tip_id}/photos"]["post"]["requestBody"]["content"]
    assert "file" in upload_body["multipart/form-data"]["schema"]["properties"]
    assert "201" in paths["/api/v1/tips/{tip_id}/photos"]["post"]["responses"]
    query = {p["name"] for p in paths["/api/v1/tips"]["get"]["parameters"]}
    assert {"status", "level"} <= query


def test_parallel_uploads_keep_the_limit_of_three(app, api, people):
    """Six photos sent at the same moment to one tip: three are kept, three refused, three files."""
    tip = file_tip(api, people["reporter"])
    token = api.headers(people["reporter"])["Authorization"]
    content = png_bytes((400, 300))

    def send() -> int:
        return app.test_client().post(f"/api/v1/tips/{tip['id']}/photos", headers={"Authorization": token},
                                      data={"file": (io.BytesIO(content), "p.png", "image/png")},
                                      content_type="multipart/form-data").status_code

    assert sorted(at_once([send] * 6)) == [201, 201, 201, 422, 422, 422]
    assert photo_rows(app) == 3 and len(stored_files(app)) == 3
