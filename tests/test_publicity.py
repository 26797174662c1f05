"""Anti-fraud publicity sessions (反诈宣传): reports, series, reach; service and API."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import Event
from volunteer_app.services import events, publicity

from . import factories
from .conftest import ago, arrange, refused


@pytest.fixture
def crew(session):
    team = factories.team(session)
    return {"team": team, "boss": factories.coordinator(session, team), "amy": factories.user(session, team=team)}


def test_a_session_reports_its_reach(session, crew):
    boss = crew["boss"]
    event = events.create(session, boss, title="村口反诈宣传", starts_at=ago(3), ends_at=ago(1))
    row = publicity.save_report(session, boss, event.id, audience=120, materials=300, summary="发放传单")
    again = publicity.save_report(session, boss, event.id, audience=150, materials=300)
    assert again.id == row.id and again.audience == 150
    assert publicity.reach(session, boss.station_id, ago(24), ago(0)) == publicity.Reach(1, 150, 300)
    refused("forbidden", publicity.save_report, session, crew["amy"], event.id, audience=5)
    refused("validation_error", publicity.save_report, session, boss, event.id, audience=-1)
    later = events.create(session, boss, title="下周宣传", starts_at=ago(-48), ends_at=ago(-49))
    refused("validation_error", publicity.save_report, session, boss, later.id, audience=5)
    patrol = events.create(session, boss, title="巡逻培训", starts_at=ago(3), ends_at=ago(1), kind="training")
    refused("validation_error", publicity.save_report, session, boss, patrol.id, audience=5)


def test_a_series_repeats_every_two_weeks(session, crew):
    start = ago(-24)
    made = publicity.create_series(session, crew["boss"], title="反诈宣传", starts_at=start,
                                   ends_at=start + timedelta(hours=2), until=start + timedelta(days=60))
    assert [event.starts_at - start for event in made] == [timedelta(days=14 * n) for n in range(5)]
    assert all(event.service_kind == "publicity" for event in made)
    refused("validation_error", publicity.create_series, session, crew["boss"], title="x", starts_at=start,
            ends_at=start + timedelta(hours=1), until=start + timedelta(days=400))
    refused("validation_error", publicity.create_series, session, crew["boss"], title="x", starts_at=start,
            ends_at=start + timedelta(hours=1), until=start - timedelta(days=1))
    refused("forbidden", publicity.create_series, session, crew["amy"], title="x", starts_at=start,
            ends_at=start + timedelta(hours=1), until=start + timedelta(days=20))


def test_api(api, app):
    with arrange(app) as session:
        team = factories.team(session)
        boss = factories.coordinator(session, team)
        amy = factories.user(session, team=team)
        event = events.create(session, boss, title="反诈宣传", starts_at=ago(3), ends_at=ago(1))
    saved = api.post(f"/api/v1/events/{event.id}/publicity", json={"audience": 80, "materials": 200}, user=boss)
    assert saved.status_code == 200 and saved.get_json()["audience"] == 80
    assert api.post(f"/api/v1/events/{event.id}/publicity", json={"audience": 8}, user=amy).status_code == 403
    assert api.post(f"/api/v1/events/{event.id}/publicity", json={"audience": "many"}, user=boss).status_code == 422
    since, until = timeutil.local(ago(24)).isoformat(), timeutil.local(ago(0)).isoformat()
    reach = api.get("/api/v1/publicity/reach", query_string={"since": since, "until": until}, user=boss).get_json()
    assert reach == {"sessions": 1, "people": 80, "materials": 200}
    start = timeutil.local(ago(-24))
    series = api.post("/api/v1/publicity/series", user=boss, json={
        "title": "半月宣传", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "until": (start + timedelta(days=28)).isoformat()})
    assert series.status_code == 201 and len(series.get_json()["events"]) == 3
    with arrange(app) as session:
        assert len(session.exec(select(Event).where(Event.title == "半月宣传")).all()) == 3


def test_the_person_record_counts_the_people_reached(session, crew):
    from volunteer_app.models import Checkin
    from volunteer_app.services import assessment
    event = events.create(session, crew["boss"], title="反诈宣传", starts_at=ago(3), ends_at=ago(1))
    session.add(Checkin(user_id=crew["amy"].id, kind="event", event_id=event.id, created_at=ago(2.5),
                        received_at=ago(2.5)))
    session.flush()
    publicity.save_report(session, crew["boss"], event.id, audience=90)
    record = assessment.person_record(session, crew["boss"], crew["amy"].id, ago(24), ago(0))
    assert record.publicity_reached == 90
    assert assessment.person_record(session, crew["boss"], crew["boss"].id, ago(24), ago(0)).publicity_reached == 0


def test_pages_report_a_session_and_make_a_series(app):
    from .conftest import csrf_token, signed_in
    with arrange(app) as session:
        team = factories.team(session)
        boss = factories.coordinator(session, team)
        event = events.create(session, boss, title="村口反诈宣传", starts_at=ago(3), ends_at=ago(1))
    client = signed_in(app, boss)
    listing = client.get("/manage/events").get_data(as_text=True)
    assert f"/manage/events/{event.id}/publicity" in listing
    token = csrf_token(client, f"/manage/events/{event.id}/publicity")
    bad = client.post(f"/manage/events/{event.id}/publicity", data={"csrf_token": token, "audience": "很多"})
    assert bad.status_code == 422
    saved = client.post(f"/manage/events/{event.id}/publicity", data={"csrf_token": token, "audience": "800",
                                                                      "materials": "1200", "summary": "村民踊跃"})
    assert saved.status_code == 302
    assert 'id="publicity-reach"' in client.get("/manage/dashboard").get_data(as_text=True)
    day = timeutil.local(ago(-24)).date()
    made = client.post("/manage/events", data={
        "csrf_token": csrf_token(client, "/manage/events"), "title": "半月宣传", "day": day.isoformat(),
        "start": "09:00", "end": "10:00", "points": "5", "kind": "publicity", "credit": "scans",
        "repeat_until": (day + timedelta(days=30)).isoformat()})
    assert made.status_code == 302
    with arrange(app) as session:
        assert len(session.exec(select(Event).where(Event.title == "半月宣传")).all()) == 3
    refused_series = client.post("/manage/events", data={
        "csrf_token": csrf_token(client, "/manage/events"), "title": "巡逻", "day": day.isoformat(),
        "start": "09:00", "end": "10:00", "points": "5", "kind": "patrol", "credit": "scans",
        "repeat_until": (day + timedelta(days=30)).isoformat()})
    assert refused_series.status_code == 422
