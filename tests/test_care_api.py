"""Care visits over the JSON API."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import AuditEntry, Notice, Station

from . import factories
from .conftest import arrange


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session)
        other = Station(name="灵隐派出所")
        session.add(other)
        session.flush()
        return {"boss": factories.coordinator(session, team), "amy": factories.user(session, team=team),
                "ben": factories.user(session, team=team), "cat": factories.user(session, team=team),
                "admin": factories.admin(session),
                "stranger": factories.user(session, roles=["admin"], station_row=other)}


def iso(hours_ago: float) -> str:
    return timeutil.local(timeutil.utcnow().replace(microsecond=0) - timedelta(hours=hours_ago)).isoformat()


def register(api, people, **extra):
    body = {"kind": "elderly_alone", "label": "3组 A", "grid": "3组", "name": "王阿婆", "address": "文三路 88 号",
            "contact": "13800000000", "needs": "买药", "visit_every_days": 14,
            "volunteer_ids": [people["amy"].id, people["ben"].id], **extra}
    response = api.post("/api/v1/care/households", json=body, user=people["boss"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_register_list_open_and_audit(api, app, people):
    home = register(api, people)
    assert home["address"] == "文三路 88 号" and home["state"] == "ok"
    assert api.post("/api/v1/care/households", json={"kind": "other", "label": "x"},
                    user=people["amy"]).status_code == 403
    mine = api.get("/api/v1/care/households", user=people["amy"]).get_json()["households"]
    assert [row["id"] for row in mine] == [home["id"]] and "address" not in mine[0]
    assert api.get("/api/v1/care/households", user=people["cat"]).get_json()["households"] == []
    opened = api.get(f"/api/v1/care/households/{home['id']}", user=people["amy"])
    assert opened.status_code == 200 and opened.get_json()["needs"] == "买药"
    assert api.get(f"/api/v1/care/households/{home['id']}", user=people["cat"]).get_json()["code"] == "forbidden"
    assert api.get(f"/api/v1/care/households/{home['id']}", user=people["stranger"]).status_code == 404
    with arrange(app) as session:
        openings = session.exec(select(AuditEntry).where(AuditEntry.action == "care.open",
                                                         AuditEntry.actor_id == people["amy"].id)).all()
        assert [row.target_id for row in openings] == [home["id"]]


def test_visit_with_concern_becomes_hours_and_tells_the_coordinator(api, app, people):
    home = register(api, people)
    amy, ben, boss = people["amy"], people["ben"], people["boss"]
    body = {"started_at": iso(3), "ended_at": iso(2), "visitor_ids": [amy.id, ben.id], "condition": "poor",
            "concern": True, "concern_note": "老人摔倒过", "client_ref": "visit-1"}
    first = api.post(f"/api/v1/care/households/{home['id']}/visits", json=body, user=amy)
    assert first.status_code == 201, first.get_json()
    again = api.post(f"/api/v1/care/households/{home['id']}/visits", json=body, user=amy)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert first.get_json()["visitor_ids"] == sorted([amy.id, ben.id]) and "concern_note" not in first.get_json()
    for person in (amy, ben):
        service = api.get(f"/api/v1/users/{person.id}/service", user=boss).get_json()
        assert service["hours_served"] == 1.0 and service["records"][0]["source"] == "care_visit"
    concerns = api.get("/api/v1/care/concerns", user=boss).get_json()["visits"]
    assert [visit["id"] for visit in concerns] == [first.get_json()["id"]]
    with arrange(app) as session:
        assert session.exec(select(Notice).where(Notice.user_id == boss.id,
                                                 Notice.url == f"/care/{home['id']}")).all()
    overlap = api.post(f"/api/v1/care/households/{home['id']}/visits",
                       json={"started_at": iso(2.5), "ended_at": iso(1.5)}, user=amy)
    assert overlap.status_code == 409 and overlap.get_json()["code"] == "service_overlap"
    closed = api.post(f"/api/v1/care/visits/{first.get_json()['id']}/close-concern", user=boss)
    assert closed.status_code == 200 and closed.get_json()["concern_closed_at"]


def test_photo_upload_and_reading(api, people):
    home = register(api, people)
    visit = api.post(f"/api/v1/care/households/{home['id']}/visits",
                     json={"started_at": iso(3), "ended_at": iso(2)}, user=people["amy"]).get_json()
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 100, 0)).save(buffer, "PNG")
    uploaded = api.post(f"/api/v1/care/visits/{visit['id']}/photo", user=people["amy"],
                        data={"file": (io.BytesIO(buffer.getvalue()), "a.png")}, content_type="multipart/form-data")
    assert uploaded.status_code == 201 and uploaded.get_json()["has_photo"] is True
    bad = api.post(f"/api/v1/care/visits/{visit['id']}/photo", user=people["amy"],
                   data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")}, content_type="multipart/form-data")
    assert bad.status_code == 422
    photo = api.get(f"/api/v1/care/visits/{visit['id']}/photo", user=people["ben"])
    assert photo.status_code == 200 and photo.data[:2] == b"\xff\xd8"
    assert api.get(f"/api/v1/care/visits/{visit['id']}/photo", user=people["cat"]).status_code == 403


def test_export_personal_only_for_admin(api, people):
    register(api, people)
    plain = api.get("/api/v1/care/households.csv", user=people["boss"])
    assert plain.status_code == 200 and "文三路" not in plain.get_data(as_text=True)
    assert api.get("/api/v1/care/households.csv?personal=true", user=people["boss"]).status_code == 403
    full = api.get("/api/v1/care/households.csv?personal=true", user=people["admin"])
    assert full.status_code == 200 and "文三路" in full.get_data(as_text=True)
    assert api.get("/api/v1/care/households.csv", user=people["amy"]).status_code == 403


@pytest.mark.parametrize("body", [
    {"kind": "alien", "label": "x"}, {"kind": "other", "label": ""}, {"kind": "other", "label": "x" * 51},
    {"kind": "other", "label": "x", "visit_every_days": 0}, {"kind": "other", "label": "x", "volunteer_ids": ["a"]},
    {"kind": "other", "label": "x", "volunteer_ids": [2**40]}, {"kind": "other", "label": "x", "extra": 1},
    {"kind": "other", "label": "x", "volunteer_ids": [999999]},
])
def test_bad_household_bodies_are_refused(api, people, body):
    response = api.post("/api/v1/care/households", json=body, user=people["boss"])
    assert response.status_code in (404, 422), response.get_json()


@pytest.mark.parametrize("body", [
    {"started_at": "2026-01-01T10:00:00", "ended_at": "2026-01-01T11:00:00"}, {"started_at": 5, "ended_at": 6},
    {"condition": "great"}, {"concern": True, "concern_note": ""}, {"visitor_ids": []},
])
def test_bad_visit_bodies_are_refused(api, people, body):
    home = register(api, people)
    full = {"started_at": iso(3), "ended_at": iso(2), **body}
    response = api.post(f"/api/v1/care/households/{home['id']}/visits", json=full, user=people["amy"])
    assert response.status_code == 422, response.get_json()


def test_in_the_openapi_document(api):
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/care/households", "/api/v1/care/households/{household_id}",
            "/api/v1/care/households/{household_id}/visits", "/api/v1/care/visits/{visit_id}/photo"} <= set(paths)
