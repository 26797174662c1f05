"""Care visits (关爱走访): every rule of services/care.py, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from volunteer_app import db, timeutil
from volunteer_app.models import AuditEntry, CareHousehold, LedgerEntry, Notice, ServiceRecord, Station, User
from volunteer_app.services import care, service

from . import factories
from .conftest import ago, arrange, at_once, outcomes, refused


@pytest.fixture
def crew(session):
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    return {"team": team, "boss": boss, "amy": factories.user(session, team=team),
            "ben": factories.user(session, team=team), "cat": factories.user(session, team=team),
            "admin": factories.admin(session)}


def household(session, crew, **kwargs):
    values = {"kind": "elderly_alone", "label": "3组 独居老人 A", "grid": "3组", "name": "王阿婆",
              "address": "西湖区文三路 88 号 2 单元 301", "contact": "13800000000", "needs": "腿脚不便，需买药",
              "visit_every_days": 14, "volunteer_ids": [crew["amy"].id, crew["ben"].id]}
    values.update(kwargs)
    return care.create_household(session, crew["boss"], **values)


def test_personal_data_is_sealed_at_rest_and_opened_for_the_assigned(session, crew):
    home = household(session, crew)
    raw = session.execute(text("SELECT name_sealed, address_sealed, needs_sealed FROM care_households WHERE id = :id"),
                          {"id": home.id}).one()
    assert "王阿婆" not in " ".join(raw) and "文三路" not in " ".join(raw) and all(raw)
    opened = care.open_household(session, crew["amy"], home.id)
    assert (opened.name, opened.address, opened.needs) == ("王阿婆", "西湖区文三路 88 号 2 单元 301", "腿脚不便，需买药")
    assert {person.id for person in opened.assigned} == {crew["amy"].id, crew["ben"].id}


def test_only_the_assigned_and_staff_may_open_and_every_opening_is_audited(session, crew):
    home = household(session, crew)
    refused("forbidden", care.open_household, session, crew["cat"], home.id)
    care.open_household(session, crew["amy"], home.id)
    care.open_household(session, crew["boss"], home.id)
    care.open_household(session, crew["admin"], home.id)
    opened_by = [row.actor_id for row in session.exec(select(AuditEntry).where(AuditEntry.action == "care.open")
                                                      .order_by(AuditEntry.id))]
    assert opened_by == [crew["amy"].id, crew["boss"].id, crew["admin"].id]
    assert [row.household.id for row in care.list_households(session, crew["cat"])] == []
    assert [row.household.id for row in care.list_households(session, crew["amy"])] == [home.id]


def test_another_stations_household_is_not_found(session, crew):
    home = household(session, crew)
    other = Station(name="灵隐派出所")
    session.add(other)
    session.flush()
    stranger = factories.user(session, roles=["admin"], station_row=other)
    refused("not_found", care.open_household, session, stranger, home.id)
    refused("not_found", care.log_visit, session, stranger, home.id, started_at=ago(2), ended_at=ago(1))
    assert care.list_households(session, stranger) == []
    refused("not_found", care.create_household, session, crew["boss"], kind="other", label="x",
            volunteer_ids=[stranger.id])


def test_only_staff_register_households(session, crew):
    refused("forbidden", care.create_household, session, crew["amy"], kind="other", label="x")
    refused("validation_error", household, session, crew, kind="alien")
    refused("validation_error", household, session, crew, visit_every_days=0)
    refused("validation_error", household, session, crew, label=" ")


def test_a_visit_makes_a_care_visit_record_per_visitor(session, crew):
    home = household(session, crew)
    amy, ben = crew["amy"], crew["ben"]
    visit = care.log_visit(session, amy, home.id, started_at=ago(3), ended_at=ago(2), visitor_ids=[amy.id, ben.id],
                           condition="fair", note="精神还好")
    records = list(session.exec(select(ServiceRecord).where(ServiceRecord.source == "care_visit")
                                .order_by(ServiceRecord.user_id)))
    assert [(r.user_id, r.kind, r.status, r.minutes) for r in records] == [
        (amy.id, "care_visit", "confirmed", 60), (ben.id, "care_visit", "confirmed", 60)]
    assert {r.source_key for r in records} == {f"care_visit:{visit.id}:{amy.id}", f"care_visit:{visit.id}:{ben.id}"}
    session.expire_all()
    assert session.get(User, amy.id).minutes_served == 60 and session.get(User, ben.id).minutes_served == 60
    points = session.exec(select(LedgerEntry).where(LedgerEntry.user_id == amy.id, LedgerEntry.kind == "service")).one()
    assert points.amount == service.DEFAULT_POINTS_PER_HOUR
    assert service.check_integrity(session) == []
    assert session.get(CareHousehold, home.id).last_visited_at == visit.ended_at


def test_a_visit_overlapping_counted_time_logs_nothing(session, crew):
    home = household(session, crew)
    amy, ben = crew["amy"], crew["ben"]
    care.log_visit(session, ben, home.id, started_at=ago(3), ended_at=ago(2))
    refused("service_overlap", care.log_visit, session, amy, home.id, started_at=ago(2.5), ended_at=ago(1.5),
            visitor_ids=[amy.id, ben.id])


def test_a_volunteer_logs_only_visits_they_went_on(session, crew):
    home = household(session, crew)
    refused("forbidden", care.log_visit, session, crew["amy"], home.id, started_at=ago(3), ended_at=ago(2),
            visitor_ids=[crew["ben"].id])
    refused("forbidden", care.log_visit, session, crew["cat"], home.id, started_at=ago(3), ended_at=ago(2))
    visit = care.log_visit(session, crew["boss"], home.id, started_at=ago(3), ended_at=ago(2),
                           visitor_ids=[crew["ben"].id])
    assert care.visitor_ids(session, visit.id) == [crew["ben"].id]


def test_visit_input_is_checked(session, crew):
    home = household(session, crew)
    amy = crew["amy"]
    refused("validation_error", care.log_visit, session, amy, home.id, started_at=ago(1), ended_at=ago(2))
    refused("validation_error", care.log_visit, session, amy, home.id, started_at=ago(2), ended_at=ago(-2))
    refused("validation_error", care.log_visit, session, amy, home.id, started_at=ago(2), ended_at=ago(1),
            condition="great")
    refused("validation_error", care.log_visit, session, amy, home.id, started_at=ago(2), ended_at=ago(1),
            concern=True, concern_note=" ")
    assert session.exec(select(ServiceRecord)).all() == []


def test_a_concern_tells_the_coordinators_and_admins_not_others(session, crew):
    home = household(session, crew)
    outsider_team = factories.team(session)
    outsider = factories.coordinator(session, outsider_team)
    care.log_visit(session, crew["amy"], home.id, started_at=ago(3), ended_at=ago(2), condition="poor",
                   concern=True, concern_note="老人发烧了")
    told = {row.user_id for row in session.exec(select(Notice).where(Notice.url == f"/care/{home.id}"))}
    told -= {crew["amy"].id, crew["ben"].id}  # told of their assignment
    assert crew["boss"].id in told and crew["admin"].id in told and outsider.id not in told
    concerns = care.open_concerns(session, crew["boss"])
    assert [household_row.id for _visit, household_row in concerns] == [home.id]
    care.close_concern(session, crew["boss"], concerns[0][0].id)
    assert care.open_concerns(session, crew["boss"]) == []
    refused("not_open", care.close_concern, session, crew["boss"], concerns[0][0].id)


def test_a_visit_without_concern_tells_nobody(session, crew):
    home = household(session, crew)
    before = session.exec(select(Notice).where(Notice.user_id == crew["boss"].id)).all()
    care.log_visit(session, crew["amy"], home.id, started_at=ago(3), ended_at=ago(2))
    assert session.exec(select(Notice).where(Notice.user_id == crew["boss"].id)).all() == before


def test_due_and_overdue(session, crew):
    now = timeutil.utcnow()
    home = household(session, crew, visit_every_days=7)
    home.created_at = now - timedelta(days=10)
    soon = household(session, crew, label="B", visit_every_days=7)
    soon.created_at = now - timedelta(days=5)
    fine = household(session, crew, label="C", visit_every_days=30)
    session.flush()
    states = {row.household.id: row.state for row in care.list_households(session, crew["boss"], now=now)}
    assert states == {home.id: "overdue", soon.id: "due", fine.id: "ok"}
    assert care.overdue_count(session, crew["boss"].station_id, now) == 1
    care.log_visit(session, crew["amy"], home.id, started_at=ago(2), ended_at=ago(1))
    assert care.overdue_count(session, crew["boss"].station_id, now) == 0
    assert [row.household.id for row in care.list_households(session, crew["amy"], state="due", now=now)] == [soon.id]


def test_export_leaves_personal_data_out_unless_an_admin_asks(session, crew):
    household(session, crew)
    header, rows = care.export_rows(session, crew["boss"])
    assert "address" not in header and not any("文三路" in str(cell) for row in rows for cell in row)
    refused("forbidden", care.export_rows, session, crew["boss"], personal=True)
    refused("forbidden", care.export_rows, session, crew["amy"])
    header, rows = care.export_rows(session, crew["admin"], personal=True)
    assert rows[0][header.index("address")] == "西湖区文三路 88 号 2 单元 301"
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "care.export")).one().actor_id == crew["admin"].id


def test_reassigning_changes_who_may_open(session, crew):
    home = household(session, crew)
    care.update_household(session, crew["boss"], home.id, volunteer_ids=[crew["cat"].id], needs="送餐")
    refused("forbidden", care.open_household, session, crew["amy"], home.id)
    assert care.open_household(session, crew["cat"], home.id).needs == "送餐"
    refused("forbidden", care.update_household, session, crew["amy"], home.id, label="x")


def test_photo_is_reencoded_and_opened_by_the_allowed(session, crew, tmp_path):
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    home = household(session, crew)
    visit = care.log_visit(session, crew["amy"], home.id, started_at=ago(3), ended_at=ago(2))
    refused("forbidden", care.add_photo, session, crew["ben"], visit.id, buffer.getvalue(), folder=tmp_path)
    care.add_photo(session, crew["amy"], visit.id, buffer.getvalue(), folder=tmp_path)
    path = care.photo_path(session, crew["ben"], visit.id, folder=tmp_path)
    assert path.read_bytes()[:2] == b"\xff\xd8"
    refused("forbidden", care.photo_path, session, crew["cat"], visit.id, folder=tmp_path)
    refused("validation_error", care.add_photo, session, crew["amy"], visit.id, b"not a picture", folder=tmp_path)
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "care.photo")).one().actor_id == crew["ben"].id


def test_parallel_visits_by_one_volunteer_count_once(app):
    """Two logs of overlapping visits for one volunteer at once: exactly one counts."""
    with arrange(app) as session:
        team = factories.team(session)
        boss = factories.coordinator(session, team)
        amy = factories.user(session, team=team)
        homes = [care.create_household(session, boss, kind="other", label=f"H{n}", volunteer_ids=[amy.id]).id
                 for n in range(2)]
        amy_id = amy.id
    start, end = ago(3), ago(2)

    def log(household_id):
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
            care.log_visit(session, session.get(User, amy_id), household_id, started_at=start, ended_at=end)

    assert outcomes(at_once([lambda h=h: log(h) for h in homes])) == ["ok", "service_overlap"]
    with arrange(app) as session:
        assert session.get(User, amy_id).minutes_served == 60
        assert service.check_integrity(session) == []


def test_a_concern_reaches_the_webhooks_without_personal_data(app, session, crew):
    """A concern is a ``care.concern`` event for the station's webhooks that listen to it: the
    household's label and grid, never its name, address, contact, needs or the visit's notes."""
    from volunteer_app.models import Webhook, WebhookDelivery
    from volunteer_app.services import webhooks

    hook = Webhook(station_id=crew["team"].station_id, url="https://hooks.example.cn/a", events="care.concern",
                   secret="s" * 32)
    deaf = Webhook(station_id=crew["team"].station_id, url="https://hooks.example.cn/b", events="tip.created",
                   secret="s" * 32)
    session.add_all([hook, deaf])
    session.flush()
    home = household(session, crew)
    care.log_visit(session, crew["amy"], home.id, started_at=ago(6), ended_at=ago(5))  # no concern: nothing
    assert session.exec(select(WebhookDelivery)).all() == []
    care.log_visit(session, crew["amy"], home.id, started_at=ago(3), ended_at=ago(2), condition="poor",
                   concern=True, concern_note="老人发烧了")
    [delivery] = session.exec(select(WebhookDelivery)).all()
    assert (delivery.webhook_id, delivery.event) == (hook.id, "care.concern")
    assert "3组 独居老人 A" in delivery.payload and f'"household_id": {home.id}' in delivery.payload
    for private in ("王阿婆", "文三路", "13800000000", "腿脚不便", "老人发烧了"):
        assert private not in delivery.payload
    with app.app_context():  # as the delivery worker words it
        line = webhooks.chat_text("care.concern", {"label": home.label, "grid": home.grid, "household_id": home.id})
    assert line.startswith("【走访发现异常】3组 独居老人 A · 3组") and f"/care/{home.id}" in line
