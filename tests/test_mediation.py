"""The mediation room (调解): every rule of services/mediation.py, and its API, on both engines."""
from __future__ import annotations


import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import AuditEntry, ServiceRecord, Station, User
from volunteer_app.services import mediation, service

from . import factories
from .conftest import ago, arrange, at_once, outcomes, refused


@pytest.fixture
def crew(session):
    team = factories.team(session)
    return {"boss": factories.coordinator(session, team), "amy": factories.user(session, team=team),
            "ben": factories.user(session, team=team), "cat": factories.user(session, team=team)}


def case(session, crew, actor="boss", **kwargs):
    values = {"started_at": ago(3), "ended_at": ago(1.5), "place": "调解室", "parties": ["张某", "李某"],
              "dispute_kind": "neighbour", "mediator_ids": [crew["amy"].id, crew["ben"].id], "outcome": "settled",
              "agreement_note": "赔偿 200 元"}
    values.update(kwargs)
    return mediation.log_case(session, crew[actor], **values)


def test_a_case_becomes_mediation_hours_for_each_mediator(session, crew):
    row = case(session, crew)
    records = session.exec(select(ServiceRecord).where(ServiceRecord.source == "mediation")
                           .order_by(ServiceRecord.user_id)).all()
    assert [(r.user_id, r.kind, r.status, r.minutes) for r in records] == [
        (crew["amy"].id, "mediation", "confirmed", 90), (crew["ben"].id, "mediation", "confirmed", 90)]
    session.expire_all()
    assert session.get(User, crew["amy"].id).minutes_served == 90
    assert service.check_integrity(session) == []
    assert row.parties == "张某、李某"
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "mediation.log")).one().target_id == row.id


@pytest.mark.parametrize("parties", [["110101199003074258"], ["张某 13800138000"], ["１２３４５６７"], [],
                                     ["x" * 21], ["甲"] * 7, "  "])
def test_parties_are_initials_or_pseudonyms_only(session, crew, parties):
    refused("validation_error", case, session, crew, parties=parties)
    assert session.exec(select(ServiceRecord)).all() == []


def test_parties_may_be_given_as_one_line(session, crew):
    assert case(session, crew, parties="王某、赵某, 小刘").parties == "王某、赵某、小刘"


def test_overlap_logs_nothing(session, crew):
    case(session, crew)
    refused("service_overlap", case, session, crew, started_at=ago(2), ended_at=ago(1),
            mediator_ids=[crew["cat"].id, crew["ben"].id])
    assert session.exec(select(ServiceRecord).where(ServiceRecord.user_id == crew["cat"].id)).all() == []


def test_a_volunteer_logs_and_sees_only_their_own_cases(session, crew):
    refused("forbidden", case, session, crew, actor="cat")
    mine = case(session, crew, actor="amy", mediator_ids=[crew["amy"].id])
    other = case(session, crew, started_at=ago(10), ended_at=ago(9), mediator_ids=[crew["ben"].id])
    assert [row.id for row in mediation.list_cases(session, crew["amy"])] == [mine.id]
    assert {row.id for row in mediation.list_cases(session, crew["boss"])} == {mine.id, other.id}
    refused("forbidden", mediation.get_case, session, crew["amy"], other.id)
    refused("forbidden", mediation.follow_up, session, crew["cat"], mine.id, satisfaction="satisfied")


def test_follow_up(session, crew):
    row = case(session, crew)
    mediation.follow_up(session, crew["amy"], row.id, satisfaction="fairly_satisfied", note="双方已履行")
    assert (row.satisfaction, row.followup_note) == ("fairly_satisfied", "双方已履行")
    refused("validation_error", mediation.follow_up, session, crew["amy"], row.id, satisfaction="meh")
    refused("validation_error", mediation.follow_up, session, crew["amy"], row.id, satisfaction="satisfied",
            at=ago(-5))
    refused("validation_error", mediation.follow_up, session, crew["amy"], row.id, satisfaction="satisfied",
            at=ago(100))


def test_a_dispute_tip_becomes_a_case_once(session, crew):
    tip = factories.tip(session, crew["cat"])
    hazard = factories.tip(session, crew["cat"], category="hazard", description="井盖缺失")
    refused("forbidden", case, session, crew, actor="amy", mediator_ids=[crew["amy"].id], tip_id=tip.id)
    refused("validation_error", case, session, crew, tip_id=hazard.id)
    row = case(session, crew, tip_id=tip.id)
    assert row.tip_id == tip.id
    refused("conflict", case, session, crew, started_at=ago(10), ended_at=ago(9), tip_id=tip.id)


def test_the_pool_counts_cases_and_settlements(session, crew):
    case(session, crew)
    case(session, crew, started_at=ago(10), ended_at=ago(9), mediator_ids=[crew["amy"].id], outcome="referred")
    case(session, crew, started_at=ago(20), ended_at=ago(19), mediator_ids=[crew["amy"].id])
    entries = {(e.user_id, e.cases, e.settled, e.minutes) for e in mediation.pool(session, crew["boss"])}
    assert entries == {(crew["amy"].id, 3, 2, 210), (crew["ben"].id, 1, 1, 90)}
    assert [e.user_id for e in mediation.pool(session, crew["boss"])][0] == crew["amy"].id
    assert [e.cases for e in mediation.pool(session, crew["boss"], since=ago(5))] == [1, 1]
    refused("forbidden", mediation.pool, session, crew["amy"])


def test_another_station_is_not_found(session, crew):
    row = case(session, crew)
    other = Station(name="灵隐派出所")
    session.add(other)
    session.flush()
    stranger = factories.user(session, roles=["admin"], station_row=other)
    refused("not_found", mediation.get_case, session, stranger, row.id)
    refused("not_found", case, session, crew, mediator_ids=[stranger.id], started_at=ago(30), ended_at=ago(29))
    assert mediation.list_cases(session, stranger) == [] and mediation.pool(session, stranger) == []


# -- the API --------------------------------------------------------------------------------------

def iso(hours_ago: float) -> str:
    return timeutil.local(ago(hours_ago)).isoformat()


@pytest.fixture
def people(app):
    with arrange(app) as s:
        team = factories.team(s)
        return {"boss": factories.coordinator(s, team), "amy": factories.user(s, team=team),
                "ben": factories.user(s, team=team), "cat": factories.user(s, team=team)}


def test_api_case_with_two_mediators_shows_as_hours(api, people):
    body = {"started_at": iso(3), "ended_at": iso(2), "place": "调解室", "parties": ["张某", "李某"],
            "dispute_kind": "family", "mediator_ids": [people["amy"].id, people["ben"].id], "outcome": "settled",
            "client_ref": "case-1"}
    first = api.post("/api/v1/mediation/cases", json=body, user=people["boss"])
    assert first.status_code == 201, first.get_json()
    again = api.post("/api/v1/mediation/cases", json=body, user=people["boss"])
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert first.get_json()["parties"] == ["张某", "李某"]
    for person in ("amy", "ben"):
        assert api.get(f"/api/v1/users/{people[person].id}/service", user=people["boss"]).get_json()["hours_served"] == 1
    case_id = first.get_json()["id"]
    assert api.get(f"/api/v1/mediation/cases/{case_id}", user=people["cat"]).status_code == 403
    followed = api.post(f"/api/v1/mediation/cases/{case_id}/follow-up", json={"satisfaction": "satisfied"},
                        user=people["amy"])
    assert followed.status_code == 200 and followed.get_json()["satisfaction"] == "satisfied"
    pool = api.get("/api/v1/mediation/pool", user=people["boss"]).get_json()["mediators"]
    assert {(e["user_id"], e["cases"], e["settled"], e["hours"]) for e in pool} == {
        (people["amy"].id, 1, 1, 1.0), (people["ben"].id, 1, 1, 1.0)}
    assert api.get("/api/v1/mediation/pool", user=people["amy"]).status_code == 403
    id_number = api.post("/api/v1/mediation/cases", json={**body, "parties": ["110101199003074258"],
                                                          "client_ref": "case-2"}, user=people["boss"])
    assert id_number.status_code == 422 and id_number.get_json()["errors"][0]["field"] == "parties"


@pytest.mark.parametrize("change", [{"parties": []}, {"parties": ["x" * 21]}, {"dispute_kind": "war"},
                                    {"outcome": "won"}, {"place": ""}, {"mediator_ids": []},
                                    {"started_at": "2026-01-01T09:00:00"}, {"agreement_note": "x" * 1001}])
def test_api_bad_case_bodies(api, people, change):
    body = {"started_at": iso(3), "ended_at": iso(2), "place": "调解室", "parties": ["甲"],
            "dispute_kind": "family", "outcome": "settled", **change}
    response = api.post("/api/v1/mediation/cases", json=body, user=people["amy"])
    assert response.status_code == 422, response.get_json()


def test_parallel_cases_for_one_mediator_count_once(app):
    """Two overlapping cases for one mediator logged at once: exactly one counts."""

    from volunteer_app import db
    with arrange(app) as s:
        team = factories.team(s)
        boss_id = factories.coordinator(s, team).id
        amy_id = factories.user(s, team=team).id
    start, end = ago(3), ago(2)

    def log(place):
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
            mediation.log_case(s, s.get(User, boss_id), started_at=start, ended_at=end, place=place,
                               parties=["甲"], dispute_kind="other", mediator_ids=[amy_id], outcome="settled")

    assert outcomes(at_once([lambda p=p: log(p) for p in ("一室", "二室")])) == ["ok", "service_overlap"]
    with arrange(app) as s:
        assert s.get(User, amy_id).minutes_served == 60 and service.check_integrity(s) == []
