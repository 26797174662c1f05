"""Care visits on the phone pages: register, my households, the household's page (audited),
logging a visit with a concern, the coordinator's list and dashboard."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import AuditEntry, CareHousehold, ServiceRecord

from . import factories
from .conftest import arrange, csrf_token, signed_in


@pytest.fixture
def crew(app):
    with arrange(app) as s:
        team = factories.team(s)
        return {"boss": factories.coordinator(s, team), "amy": factories.user(s, team=team),
                "cat": factories.user(s, team=team)}


def register(app, crew, **extra):
    boss = signed_in(app, crew["boss"])
    form = {"csrf_token": csrf_token(boss, "/care/new"), "kind": "elderly_alone", "label": "3组 A", "grid": "3组",
            "name": "王阿婆", "address": "文三路 88 号", "contact": "138", "needs": "买药", "visit_every_days": "7",
            "volunteer_ids": [str(crew["amy"].id)], **extra}
    response = boss.post("/care/new", data=form)
    return boss, response


def test_register_then_the_assigned_volunteer_logs_a_visit_with_a_concern(app, crew):
    boss, response = register(app, crew)
    assert response.status_code == 302
    with arrange(app) as s:
        home_id = s.exec(select(CareHousehold.id)).one()
    amy = signed_in(app, crew["amy"])
    mine = amy.get("/care").get_data(as_text=True)
    assert "3组 A" in mine and "文三路" not in mine
    page = amy.get(f"/care/{home_id}")
    assert page.status_code == 200 and "文三路 88 号" in page.get_data(as_text=True)
    day = timeutil.local(timeutil.utcnow() - timedelta(hours=3)).date().isoformat()
    start = timeutil.local(timeutil.utcnow() - timedelta(hours=3)).strftime("%H:%M")
    end = timeutil.local(timeutil.utcnow() - timedelta(hours=2)).strftime("%H:%M")
    logged = amy.post(f"/care/{home_id}/visits", data={
        "csrf_token": csrf_token(amy, f"/care/{home_id}"), "day": day, "start": start, "end": end,
        "visitor_ids": [str(crew["amy"].id)], "condition": "poor", "concern": "1", "concern_note": "老人发烧"})
    assert logged.status_code == 302
    with arrange(app) as s:
        records = s.exec(select(ServiceRecord).where(ServiceRecord.user_id == crew["amy"].id)).all()
        assert [(r.kind, r.status) for r in records] == [("care_visit", "confirmed")]
        assert len(s.exec(select(AuditEntry).where(AuditEntry.action == "care.open")).all()) >= 2
    register_list = boss.get("/care").get_data(as_text=True)
    assert "老人发烧" not in register_list and "3组 A" in register_list and "care/visits/" in register_list
    assert "老人发烧" in boss.get(f"/care/{home_id}").get_data(as_text=True)
    board = boss.get("/manage/dashboard").get_data(as_text=True)
    assert 'id="care-alert"' in board and "1 条走访关注" in board


def test_an_unassigned_volunteer_cannot_open_the_household(app, crew):
    register(app, crew)
    with arrange(app) as s:
        home_id = s.exec(select(CareHousehold.id)).one()
    cat = signed_in(app, crew["cat"])
    assert cat.get(f"/care/{home_id}").status_code == 403
    assert cat.get("/care/new").status_code == 403
    assert "3组 A" not in cat.get("/care").get_data(as_text=True)
    with arrange(app) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "care.open",
                                               AuditEntry.actor_id == crew["cat"].id)).all() == []


@pytest.mark.parametrize("extra", [{"visit_every_days": "x"}, {"visit_every_days": "٣"}, {"label": ""},
                                   {"kind": "alien"}, {"volunteer_ids": ["²"]}, {"volunteer_ids": ["99999999999"]}])
def test_bad_register_forms_are_refused(app, crew, extra):
    _boss, response = register(app, crew, **extra)
    assert response.status_code in (404, 409, 422)
    with arrange(app) as s:
        assert s.exec(select(CareHousehold)).all() == []


def test_bad_visit_forms_are_refused_without_a_500(app, crew):
    register(app, crew)
    with arrange(app) as s:
        home_id = s.exec(select(CareHousehold.id)).one()
    amy = signed_in(app, crew["amy"])
    token = csrf_token(amy, f"/care/{home_id}")
    for form in ({"day": "x"}, {"day": "2026-01-01", "start": "25:00", "end": "26:00"},
                 {"day": "2026-01-01", "start": "09:00", "end": "10:00", "visitor_ids": ["abc"]}, {}):
        response = amy.post(f"/care/{home_id}/visits", data={"csrf_token": token, **form})
        assert response.status_code == 302, form
    with arrange(app) as s:
        assert s.exec(select(ServiceRecord)).all() == []
