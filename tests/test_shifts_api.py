"""The shifts API as API.md fixes it: create, list, sign up (in parallel too), withdraw, attendance."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from volunteer_app.models import Checkin
from volunteer_app.services import shifts
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once

CST = ZoneInfo("Asia/Shanghai")


def _soon(days: int = 2, hour: int = 9) -> datetime:
    """A station-local time a few days ahead of the real clock (the API uses it)."""
    day = (utcnow().astimezone(CST) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=CST)


@pytest.fixture
def crew(app):
    with arrange(app) as session:
        team = factories.team(session)
        boss = factories.coordinator(session, team)
        cps = [factories.patrol_checkpoint(session, team_row=team) for _ in range(2)]
        members = [factories.user(session, team=team) for _ in range(3)]
    return team, boss, cps, members


def _create(api, boss, team, cps, **extra):
    body = {"team_id": team.id, "title": "夜间巡逻", "starts_at": _soon().isoformat(),
            "ends_at": (_soon() + timedelta(hours=2)).isoformat(), "capacity": 2,
            "checkpoint_ids": [cp.id for cp in cps], **extra}
    return api.post("/api/v1/shifts", json=body, user=boss)


def test_create_and_list(api, crew):
    team, boss, cps, members = crew
    response = _create(api, boss, team, cps, repeat_weekly_until=(_soon() + timedelta(days=14)).date().isoformat())
    assert response.status_code == 201, response.get_json()
    made = response.get_json()["shifts"]
    assert len(made) == 3
    first = made[0]
    assert set(first) >= {"id", "team_id", "title", "starts_at", "ends_at", "capacity", "confirmed_count",
                          "waitlist_count", "checkpoint_ids", "points_per_hour"}
    assert first["points_per_hour"] == 10 and first["checkpoint_ids"] == [cps[0].id, cps[1].id]
    assert first["starts_at"] == _soon().isoformat()
    listed = api.get("/api/v1/shifts", user=members[0]).get_json()["shifts"]
    assert [s["id"] for s in listed] == [s["id"] for s in made]
    until = (_soon() + timedelta(days=8)).isoformat()
    assert len(api.get(f"/api/v1/shifts?until={until.replace('+', '%2B')}", user=members[0]).get_json()["shifts"]) == 2
    since = (_soon() + timedelta(days=20)).isoformat().replace("+", "%2B")
    assert api.get(f"/api/v1/shifts?since={since}", user=members[0]).get_json()["shifts"] == []
    assert api.get(f"/api/v1/shifts?team_id={team.id + 1000}", user=members[0]).get_json()["shifts"] == []


def test_create_errors(api, crew):
    team, boss, cps, members = crew
    assert _create(api, members[0], team, cps).status_code == 403
    naive = _create(api, boss, team, cps, starts_at="2026-12-01T09:00:00")
    assert naive.status_code == 422 and naive.get_json()["code"] == "validation_error"
    assert _create(api, boss, team, cps, capacity=0).status_code == 422
    assert _create(api, boss, team, cps, colour="red").status_code == 422
    assert api.post("/api/v1/shifts", json={"team_id": team.id}, user=None).status_code == 401
    backwards = _create(api, boss, team, cps, ends_at=_soon().isoformat())
    assert backwards.status_code == 422 and backwards.get_json()["errors"][0]["field"] == "ends_at"


def test_signup_codes_and_cancel(app, api, crew):
    team, boss, cps, members = crew
    with arrange(app) as session:
        outsider = factories.user(session)
    shift_id = _create(api, boss, team, cps, capacity=1).get_json()["shifts"][0]["id"]
    url = f"/api/v1/shifts/{shift_id}/signup"
    first = api.post(url, user=members[0])
    assert first.status_code == 201 and first.get_json()["status"] == "confirmed"
    second = api.post(url, user=members[1])
    assert second.status_code == 201 and second.get_json() | {} == {"shift_id": shift_id, "user_id": members[1].id,
                                                                   "status": "waitlisted", "position": 1}
    again = api.post(url, user=members[0])
    assert again.status_code == 409 and again.get_json()["code"] == "already_signed_up"
    stranger = api.post(url, user=outsider)
    assert stranger.status_code == 403 and stranger.get_json()["code"] == "not_team_member"
    assert api.post("/api/v1/shifts/999999/signup", user=members[0]).status_code == 404
    gone = api.delete(url, user=members[0])
    assert gone.status_code == 204 and gone.get_data() == b""
    listed = api.get("/api/v1/shifts", user=members[2]).get_json()["shifts"][0]
    assert (listed["confirmed_count"], listed["waitlist_count"]) == (1, 0)
    assert api.delete(url, user=members[0]).status_code == 404
    report = api.get(f"/api/v1/shifts/{shift_id}/attendance", user=boss).get_json()
    assert report["volunteers"][0]["user_id"] == members[1].id and report["volunteers"][0]["status"] == "confirmed"


def test_started_shift(app, api, crew):
    team, boss, cps, members = crew
    with arrange(app) as session:
        started = factories.shift(session, team, starts_at=utcnow() - timedelta(minutes=5),
                                  ends_at=utcnow() + timedelta(hours=1), route=cps)
    response = api.post(f"/api/v1/shifts/{started.id}/signup", user=members[0])
    assert response.status_code == 409 and response.get_json()["code"] == "shift_started"


def test_attendance_output_and_permissions(app, api, crew):
    team, boss, cps, members = crew
    with arrange(app) as session:
        shift = factories.shift(session, team, starts_at=_soon(days=-2, hour=9),  # daytime: no night hours
                                ends_at=_soon(days=-2, hour=11), route=cps)
        for person in members[:2]:
            shifts.signup(session, person, shift.id, now=shift.starts_at - timedelta(days=1))
        for number, cp in enumerate(cps):  # the route walked from 09:30 to 10:30: one hour served
            row = Checkin(user_id=members[0].id, kind="checkpoint", checkpoint_id=cp.id,
                          created_at=shift.starts_at + timedelta(minutes=30 + 60 * number))
            session.add(row)
            session.flush()
            shifts.after_checkin(session, members[0].id, row)
        session.add(Checkin(user_id=members[1].id, kind="checkpoint", checkpoint_id=cps[1].id,
                            created_at=shift.starts_at + timedelta(minutes=40)))
    response = api.get(f"/api/v1/shifts/{shift.id}/attendance", user=boss)
    assert response.status_code == 200
    assert response.get_json() == {"shift_id": shift.id, "checkpoint_ids": [cps[0].id, cps[1].id], "volunteers": [
        {"user_id": members[0].id, "status": "confirmed", "checkpoints_visited": [cps[0].id, cps[1].id],
         "completed": True, "hours": 1.0, "points_awarded": 10, "confirmed_by_id": None, "no_show_comment": None},
        {"user_id": members[1].id, "status": "confirmed", "checkpoints_visited": [cps[1].id],
         "completed": False, "hours": 0.0, "points_awarded": 0, "confirmed_by_id": None, "no_show_comment": None},
    ]}
    assert api.get(f"/api/v1/shifts/{shift.id}/attendance", user=members[0]).status_code == 403


@pytest.mark.parametrize("capacity,people", [(3, 8)])
def test_parallel_signups_leave_exactly_capacity_confirmed(app, api, crew, capacity, people):
    team, boss, cps, _members = crew
    with arrange(app) as session:
        volunteers = [factories.user(session, team=team) for _ in range(people)]
    shift_id = _create(api, boss, team, cps, capacity=capacity).get_json()["shifts"][0]["id"]
    clients = [factories.ApiClient(app) for _ in volunteers]
    for client, person in zip(clients, volunteers):
        client.headers(person)  # tokens issued before the race

    def go(client, person):
        response = client.post(f"/api/v1/shifts/{shift_id}/signup", user=person)
        return person.id, (response.status_code, response.get_json())

    answers = dict(at_once([lambda pair=pair: go(*pair) for pair in zip(clients, volunteers)]))
    assert all(code == 201 for code, _ in answers.values()), answers
    confirmed = [body for _, body in answers.values() if body["status"] == "confirmed"]
    waitlisted = sorted((body for _, body in answers.values() if body["status"] == "waitlisted"),
                        key=lambda body: body["position"])
    assert len(confirmed) == capacity and len(waitlisted) == people - capacity
    assert [body["position"] for body in waitlisted] == list(range(1, people - capacity + 1))
    listed = api.get("/api/v1/shifts", user=boss).get_json()["shifts"][0]
    assert (listed["confirmed_count"], listed["waitlist_count"]) == (capacity, people - capacity)
    # the waitlist is in order of arrival: cancelling a confirmed one promotes position 1
    leaver = next(user_id for user_id, (_, body) in answers.items() if body["status"] == "confirmed")
    first_waiting = waitlisted[0]["user_id"]
    assert api.delete(f"/api/v1/shifts/{shift_id}/signup", user=next(v for v in volunteers if v.id == leaver)) \
        .status_code == 204
    statuses = {v["user_id"]: v["status"] for v in
                api.get(f"/api/v1/shifts/{shift_id}/attendance", user=boss).get_json()["volunteers"]}
    assert statuses[first_waiting] == "confirmed" and leaver not in statuses


def test_route_completed_end_to_end_through_checkins(app, api, crew, monkeypatch):
    """Scanning every poster of the route via POST /api/v1/checkins completes the shift once:
    checkpoint points as usual, plus the shift's points for the time on the route (a day shift,
    09:05 to 09:50: 45 minutes x 10 an hour = 7); a later route scan extends it to 09:05-10:40
    (95 minutes: 15 points in all, the 8 more as a second entry)."""
    from volunteer_app import timeutil
    from volunteer_app.models import LedgerEntry, User
    from volunteer_app.services import codes
    from sqlmodel import select
    team, boss, cps, members = crew
    me = members[0]
    start = _soon(days=1, hour=9)  # 09:00-11:00 station time: no night hours
    with arrange(app) as session:
        shift = factories.shift(session, team, starts_at=start, ends_at=start + timedelta(hours=2), route=cps)
        shifts.signup(session, me, shift.id, now=start - timedelta(days=1))
        posters = [codes.checkpoint_token(cp.id, cp.code_version) for cp in cps]
    api.headers(me)  # the token is issued on the real clock
    clock = {"now": start + timedelta(minutes=5)}
    monkeypatch.setattr(timeutil, "utcnow", lambda: clock["now"])
    first = api.post("/api/v1/checkins", json={"code": posters[0]}, user=me)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["shift_id"] == shift.id
    clock["now"] = start + timedelta(minutes=50)
    last = api.post("/api/v1/checkins", json={"code": posters[1]}, user=me)
    assert last.status_code == 201 and last.get_json()["shift_id"] == shift.id
    assert last.get_json()["shift_completed"] is True
    assert last.get_json()["balance"] == 5 + 5 + 7  # the answer includes the shift's points
    clock["now"] = start + timedelta(minutes=100)
    again = api.post("/api/v1/checkins", json={"code": posters[1]}, user=me)
    assert again.status_code == 201 and again.get_json()["shift_id"] == shift.id
    with arrange(app) as session:
        user = session.get(User, me.id)
        assert (user.minutes_served, user.balance) == (95, 5 + 5 + 7 + 5 + 8)
        refs = session.exec(select(LedgerEntry.ref).where(LedgerEntry.kind == "shift")).all()
        assert refs == [f"shift:{shift.id}:{me.id}", f"shift:{shift.id}:{me.id}:95"]
    report = api.get(f"/api/v1/shifts/{shift.id}/attendance", user=boss).get_json()["volunteers"][0]
    assert (report["completed"], report["hours"], report["points_awarded"]) == (True, 1.58, 15)


def test_create_with_client_ref_is_idempotent(api, crew):
    team, boss, cps, members = crew
    first = _create(api, boss, team, cps, client_ref="plan-42")
    again = _create(api, boss, team, cps, client_ref="plan-42")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(api.get("/api/v1/shifts", user=boss).get_json()["shifts"]) == 1


def test_list_query_is_validated(api, crew):
    team, boss, cps, members = crew
    assert api.get("/api/v1/shifts?since=2026-12-01T09:00:00", user=boss).status_code == 422  # no offset
    assert api.get("/api/v1/shifts?limit=0", user=boss).status_code == 422
    assert api.get("/api/v1/shifts?colour=red", user=boss).status_code == 422
    assert api.get("/api/v1/shifts").status_code == 401


def test_openapi_describes_the_shift_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/shifts"]) >= {"get", "post"}
    assert set(paths["/api/v1/shifts/{shift_id}/signup"]) >= {"post", "delete"}
    assert "get" in paths["/api/v1/shifts/{shift_id}/attendance"]
    params = {p["name"] for p in paths["/api/v1/shifts"]["get"]["parameters"]}
    assert params >= {"since", "until", "team_id", "limit"}
