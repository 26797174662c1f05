"""Service records and hours over the JSON API (API.md, "Service records")."""
from __future__ import annotations

from datetime import timedelta

import pytest

from volunteer_app import timeutil

from . import factories
from .conftest import arrange


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session)
        return {"team": team, "boss": factories.coordinator(session, team),
                "member": factories.user(session, team=team), "other": factories.user(session, team=team),
                "admin": factories.admin(session)}


def iso(value) -> str:
    return timeutil.local(value).isoformat()


def hours_ago(hours: float):
    return timeutil.utcnow().replace(microsecond=0) - timedelta(hours=hours)


def test_makeup_review_and_hours(api, people):
    member, boss = people["member"], people["boss"]
    body = {"kind": "tea_room", "started_at": iso(hours_ago(5)), "ended_at": iso(hours_ago(3)), "place": "断桥茶室",
            "note": "手机没电了", "client_ref": "makeup-1"}
    first = api.post("/api/v1/service/makeups", json=body, user=member)
    assert first.status_code == 201, first.get_json()
    record = first.get_json()
    assert (record["source"], record["status"], record["minutes"], record["kind"]) == ("makeup", "pending", 120,
                                                                                     "tea_room")
    again = api.post("/api/v1/service/makeups", json=body, user=member)
    assert again.status_code == 200 and again.get_json()["id"] == record["id"]
    listing = api.get(f"/api/v1/users/{member.id}/service", user=member).get_json()
    assert listing["hours_served"] == 0 and [r["id"] for r in listing["records"]] == [record["id"]]
    assert api.get(f"/api/v1/users/{member.id}/service", user=people["other"]).status_code == 403
    assert api.post(f"/api/v1/service/{record['id']}/confirm", json={}, user=member).status_code == 403
    confirmed = api.post(f"/api/v1/service/{record['id']}/confirm", json={"note": "核实"}, user=boss)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    assert confirmed.get_json()["confirmed_by"] == boss.id
    second = api.post(f"/api/v1/service/{record['id']}/reject", json={"note": "x"}, user=boss)
    assert second.status_code == 409 and second.get_json()["code"] == "already_reviewed"
    me = api.get("/api/v1/me", user=member).get_json()
    assert me["hours_served"] == 2.0
    listing = api.get(f"/api/v1/users/{member.id}/service?status=pending", user=boss).get_json()
    assert listing["hours_served"] == 2.0 and listing["records"] == []


@pytest.mark.parametrize("change, field", [
    ({"ended_at": "start"}, "ended_at"),
    ({"ended_at": "+25h"}, "ended_at"),
    ({"ended_at": "future"}, "ended_at"),
    ({"started_at": "2026-01-01T08:00:00"}, "started_at"),  # no offset
    ({"started_at": "0001-01-01T08:00:00+08:00"}, "started_at"),
    ({"kind": "no_such_kind"}, "kind"),
    ({"note": ""}, "note"),
    ({"checkpoint_id": 2**40}, "checkpoint_id"),
])
def test_makeup_bad_input_is_422(api, people, change, field):
    start = hours_ago(30)
    body = {"kind": "patrol", "started_at": iso(start), "ended_at": iso(start + timedelta(hours=1)),
            "place": "湖滨", "note": "补录"}
    body.update({key: {"start": body["started_at"], "+25h": iso(start + timedelta(hours=25)),
                       "future": iso(timeutil.utcnow() + timedelta(hours=2))}.get(value, value)
                 for key, value in change.items()})
    response = api.post("/api/v1/service/makeups", json=body, user=people["member"])
    assert response.status_code == 422, response.get_json()
    assert field in [error["field"] for error in response.get_json().get("errors", [])], response.get_json()


def test_overlap_is_409_service_overlap(api, people):
    boss, member = people["boss"], people["member"]
    entry = {"user_id": member.id, "kind": "care_visit", "started_at": iso(hours_ago(6)),
             "ended_at": iso(hours_ago(4)), "place": "张奶奶家", "note": "没有智能手机"}
    created = api.post("/api/v1/service/entries", json=entry, user=boss)
    assert created.status_code == 201 and created.get_json()["status"] == "confirmed"
    assert created.get_json()["points"] == 20
    clash = api.post("/api/v1/service/makeups", json={"kind": "patrol", "started_at": iso(hours_ago(5)),
                                                      "ended_at": iso(hours_ago(3)), "place": "湖滨", "note": "补"},
                     user=member)
    assert clash.status_code == 409 and clash.get_json()["code"] == "service_overlap"
    # a volunteer calling the coordinator's endpoint with a malformed body: 403 before 422
    assert api.post("/api/v1/service/entries", json={"user_id": "x"}, user=member).status_code == 403
    assert api.post("/api/v1/service/entries", json={**entry, "user_id": boss.id}, user=boss).status_code == 403


def test_duty_post_over_the_api(api, people, app):
    member, boss = people["member"], people["boss"]
    created = api.post("/api/v1/checkpoints", json={"name": "调解室", "duty_post": True, "service_kind": "mediation",
                                                    "max_duty_hours": 8}, user=boss).get_json()
    assert (created["duty_post"], created["service_kind"], created["max_duty_hours"]) == (True, "mediation", 8)
    bad = api.post("/api/v1/checkpoints", json={"name": "x", "duty_post": True, "service_kind": "nope"}, user=boss)
    assert bad.status_code == 422
    opened = api.post("/api/v1/checkins", json={"code": created["checkin_url"]}, user=member)
    assert opened.status_code == 201, opened.get_json()
    record = opened.get_json()["service"]
    assert (record["status"], record["source"], record["kind"]) == ("open", "duty_post", "mediation")
    stranger = api.post(f"/api/v1/service/{record['id']}/sign-out", json={}, user=people["other"])
    assert stranger.status_code == 403
    out = api.post(f"/api/v1/service/{record['id']}/sign-out", json={"client_ref": "out-1"}, user=member)
    assert out.status_code == 200 and out.get_json()["status"] == "confirmed"
    assert api.post(f"/api/v1/service/{record['id']}/sign-out", json={"client_ref": "out-1"},
                    user=member).status_code == 200  # the same tap again
    again = api.post(f"/api/v1/service/{record['id']}/sign-out", json={}, user=member)
    assert again.status_code == 409 and again.get_json()["code"] == "not_open"
    assert api.post("/api/v1/service/2147483648/sign-out", json={}, user=member).status_code == 404


def test_event_sign_out_code_over_the_api(api, people, app):
    member, boss = people["member"], people["boss"]
    starts = timeutil.utcnow() - timedelta(minutes=30)
    created = api.post("/api/v1/events", json={"title": "反诈宣传", "starts_at": iso(starts),
                                                "ends_at": iso(starts + timedelta(hours=2)), "kind": "publicity",
                                                "credit": "scans"}, user=boss).get_json()
    assert (created["kind"], created["credit"]) == ("publicity", "scans")
    code_in = api.get(f"/api/v1/events/{created['id']}/code", user=boss).get_json()
    code_out = api.get(f"/api/v1/events/{created['id']}/code?purpose=out", user=boss).get_json()
    assert code_out["code"].startswith("O") and code_in["code"].startswith("E")
    assert api.get(f"/api/v1/events/{created['id']}/code?purpose=sideways", user=boss).status_code == 422
    early_out = api.post("/api/v1/checkins", json={"code": code_out["code"]}, user=member)
    assert early_out.status_code == 409 and early_out.get_json()["code"] == "not_open"
    signed_in = api.post("/api/v1/checkins", json={"code": code_in["code"]}, user=member).get_json()
    assert signed_in["service"]["status"] == "open" and signed_in["points_awarded"] == 10
    out = api.post("/api/v1/checkins", json={"code": code_out["code"]}, user=member)
    assert out.status_code == 201, out.get_json()
    assert out.get_json()["points_awarded"] == 0 and out.get_json()["service"]["status"] == "confirmed"
    assert out.get_json()["balance"] == 10
    bad = api.post("/api/v1/events", json={"title": "x", "starts_at": iso(starts), "ends_at": iso(starts + timedelta(
        hours=1)), "credit": "half"}, user=boss)
    assert bad.status_code == 422


def test_kinds_over_the_api(api, people):
    kinds = api.get("/api/v1/service/kinds", user=people["member"]).get_json()["kinds"]
    assert [kind["key"] for kind in kinds][:3] == ["patrol", "tea_room", "mediation"]
    assert api.post("/api/v1/service/kinds", json={"key": "tea_room", "points_per_hour": 20},
                    user=people["boss"]).status_code == 403
    changed = api.post("/api/v1/service/kinds", json={"key": "tea_room", "points_per_hour": 20,
                                                       "makeup_earns_points": True}, user=people["admin"])
    assert changed.status_code == 200 and changed.get_json()["points_per_hour"] == 20
    added = api.post("/api/v1/service/kinds", json={"key": "river_watch", "name": "护河巡查"}, user=people["admin"])
    assert added.status_code == 200 and added.get_json()["name"] == "护河巡查"
    assert api.post("/api/v1/service/kinds", json={"key": "new_one"}, user=people["admin"]).status_code == 422
    assert api.post("/api/v1/service/kinds", json={"key": "坏 key"}, user=people["admin"]).status_code == 422
