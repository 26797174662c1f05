"""The mediation room on the phone pages: a case with two mediators, the follow-up, the pool,
and a dispute tip made into a case."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import MediationCase, ServiceRecord

from . import factories
from .conftest import arrange, csrf_token, signed_in


@pytest.fixture
def crew(app):
    with arrange(app) as s:
        team = factories.team(s)
        boss = factories.coordinator(s, team)
        amy = factories.user(s, team=team)
        return {"boss": boss, "amy": amy, "ben": factories.user(s, team=team),
                "tip": factories.tip(s, amy).id}


def form(client, crew, **extra):
    start = timeutil.local(timeutil.utcnow() - timedelta(hours=3))
    return {"csrf_token": csrf_token(client, "/mediation/new"), "day": start.date().isoformat(),
            "start": start.strftime("%H:%M"), "end": (start + timedelta(minutes=45)).strftime("%H:%M"),
            "place": "调解室", "parties": "张某、李某", "dispute_kind": "neighbour", "outcome": "settled",
            "mediator_ids": [str(crew["amy"].id), str(crew["ben"].id)], "agreement_note": "互相道歉", **extra}


def test_a_case_with_two_mediators_from_a_tip(app, crew):
    boss = signed_in(app, crew["boss"])
    assert "/mediation/new?tip_id=" in boss.get(f"/tips/{crew['tip']}").get_data(as_text=True)
    response = boss.post("/mediation/new", data=form(boss, crew, tip_id=str(crew["tip"])))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with arrange(app) as s:
        case = s.exec(select(MediationCase)).one()
        assert case.tip_id == crew["tip"]
        records = s.exec(select(ServiceRecord).where(ServiceRecord.source == "mediation")).all()
        assert sorted((r.user_id, r.minutes) for r in records) == sorted([(crew["amy"].id, 45), (crew["ben"].id, 45)])
    page = boss.get(f"/mediation/{case.id}").get_data(as_text=True)
    assert "张某、李某" in page
    followed = boss.post(f"/mediation/{case.id}/follow-up", data={"csrf_token": csrf_token(boss, f"/mediation/{case.id}"),
                                                                 "satisfaction": "satisfied", "note": "已回访"})
    assert followed.status_code == 302
    assert crew["amy"].display_name in boss.get("/mediation/pool").get_data(as_text=True)
    amy = signed_in(app, crew["amy"])
    assert amy.get("/mediation/pool").status_code == 403
    assert "张某、李某" in amy.get("/mediation").get_data(as_text=True)


@pytest.mark.parametrize("extra", [{"parties": "110101199003074258"}, {"parties": ""}, {"day": "x"},
                                   {"mediator_ids": ["²"]}, {"outcome": "won"}, {"tip_id": "abc"},
                                   {"tip_id": "99999999999"}])
def test_bad_case_forms_are_refused(app, crew, extra):
    boss = signed_in(app, crew["boss"])
    response = boss.post("/mediation/new", data=form(boss, crew, **extra))
    assert response.status_code in (404, 409, 422)
    with arrange(app) as s:
        assert s.exec(select(MediationCase)).all() == []
