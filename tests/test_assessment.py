"""Each person's record for a period (个人考核): the service, the API, the member's page, the CSV."""
from __future__ import annotations


import pytest

from volunteer_app import timeutil
from volunteer_app.errors import DomainError
from volunteer_app.services import assessment, care, mediation, tips

from . import factories
from .conftest import ago, arrange, signed_in


def arrange_deeds(session):
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    amy = factories.user(session, team=team)
    ben = factories.user(session, team=team)
    home = care.create_household(session, boss, kind="elderly_alone", label="A", volunteer_ids=[amy.id])
    care.log_visit(session, amy, home.id, started_at=ago(5), ended_at=ago(4))
    care.log_visit(session, amy, home.id, started_at=ago(8), ended_at=ago(7.5))
    mediation.log_case(session, boss, started_at=ago(3), ended_at=ago(2), place="调解室", parties=["甲", "乙"],
                       dispute_kind="family", mediator_ids=[amy.id, ben.id], outcome="settled")
    mediation.log_case(session, boss, started_at=ago(12), ended_at=ago(11), place="调解室", parties=["丙"],
                       dispute_kind="family", mediator_ids=[amy.id], outcome="referred")
    verified = factories.tip(session, amy)
    tips.review(session, boss, verified.id, valid=True, note="属实")
    factories.tip(session, amy, category="hazard", description="电线裸露")
    return boss, amy, ben


def test_the_record_counts_each_deed(session):
    boss, amy, ben = arrange_deeds(session)
    start, end = ago(48), ago(-1)
    record = assessment.person_record(session, boss, amy.id, start, end)
    assert record.minutes_by_kind == {"care_visit": 90, "mediation": 120}
    assert (record.tips_reported, record.tips_verified, record.hazards_reported) == (2, 1, 1)
    assert (record.disputes_mediated, record.disputes_settled, record.households_visited) == (2, 1, 1)
    assert record.hours == 3.5
    other = assessment.person_record(session, ben, ben.id, start, end)
    assert (other.minutes_by_kind, other.disputes_settled, other.tips_reported) == ({"mediation": 60}, 1, 0)
    with pytest.raises(DomainError) as caught:
        assessment.person_record(session, ben, amy.id, start, end)
    assert caught.value.code == "forbidden"
    outside = assessment.person_record(session, boss, amy.id, ago(2000), ago(1000))
    assert (outside.minutes, outside.tips_reported, outside.households_visited) == (0, 0, 0)


def test_api_page_and_csv(app, api):
    with arrange(app) as session:
        boss, amy, _ben = arrange_deeds(session)
    first = timeutil.local(ago(48)).date().isoformat()
    last = timeutil.local(ago(0)).date().isoformat()
    answer = api.get(f"/api/v1/users/{amy.id}/record?first={first}&last={last}", user=boss)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["hours_by_kind"] == {"care_visit": 1.5, "mediation": 2.0} and body["disputes_settled"] == 1
    backwards = api.get(f"/api/v1/users/{amy.id}/record?first={last}&last={first}", user=boss)
    assert backwards.status_code == 422 and backwards.get_json()["code"] == "validation_error"
    client = signed_in(app, boss)
    page = client.get(f"/staff/users/{amy.id}/service?from={first}&to={last}").get_data(as_text=True)
    assert 'id="person-record"' in page
    csv = client.get(f"/reports/person-records.csv?from={first}&to={last}")
    assert csv.status_code == 200
    line = next(row for row in csv.get_data(as_text=True).splitlines() if row.startswith(f"{amy.id},"))
    assert ",3.50,0,2,1,1,2,1,1,0," in line
