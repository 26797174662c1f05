"""Tips and hazards: every status transition and its refusals, points once, visibility, notices."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from volunteer_app import db
from volunteer_app.errors import DomainError
from volunteer_app.models import AuditEntry, LedgerEntry, Notice, Tip, User
from volunteer_app.services import ledger, tips

from . import factories
from .conftest import at_once, outcomes

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Hangzhou


@pytest.fixture
def people(session):
    team = factories.team(session)
    return {
        "team": team,
        "coordinator": factories.coordinator(session, team),
        "reporter": factories.user(session, team=team),
        "teammate": factories.user(session, team=team),
        "outsider": factories.user(session),
        "other_coordinator": factories.coordinator(session, factories.team(session)),
        "admin": factories.admin(session),
    }


def refused(code, call, *args, **kwargs):
    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value
    return info.value


# --- reporting ------------------------------------------------------------------------------

def test_submit_files_a_tip(session, people):
    tip, created = tips.submit(session, people["reporter"], category="fraud", description="  有人冒充公检法打电话  ",
                               place="文三路菜场", latitude=30.27, longitude=120.15, now=NOW)
    assert created
    assert (tip.status, tip.category, tip.description, tip.place) == ("submitted", "fraud", "有人冒充公检法打电话", "文三路菜场")
    assert (tip.latitude, tip.longitude, tip.level, tip.points_awarded) == (30.27, 120.15, None, 0)


@pytest.mark.parametrize("fields, field", [
    ({"category": "gossip", "description": "x"}, "category"),
    ({"category": "other", "description": "   "}, "description"),
    ({"category": "other", "description": "x" * 2001}, "description"),
    ({"category": "other", "description": "x", "latitude": 30.0}, "latitude"),
    ({"category": "other", "description": "x", "latitude": 91.0, "longitude": 1.0}, "latitude"),
    ({"category": "other", "description": "x", "latitude": float("nan"), "longitude": 1.0}, "latitude"),
    ({"category": "other", "description": "a\x00b"}, "description"),
    ({"category": "other", "description": "x", "place": "p" * 201}, "place"),
])
def test_submit_refuses_bad_input(session, people, fields, field):
    error = refused("validation_error", tips.submit, session, people["reporter"], **fields)
    assert error.details["errors"][0]["field"] == field
    assert session.exec(select(Tip)).first() is None


def test_same_client_ref_files_once(session, people):
    first, created = tips.submit(session, people["reporter"], category="hazard", description="井盖缺失",
                                 client_ref="form-1")
    again, created_again = tips.submit(session, people["reporter"], category="hazard", description="井盖缺失",
                                       client_ref="form-1")
    assert created and not created_again and again.id == first.id
    other, created_other = tips.submit(session, people["teammate"], category="hazard", description="井盖缺失",
                                       client_ref="form-1")
    assert created_other and other.id != first.id
    assert len(session.exec(select(Tip)).all()) == 2


def test_an_inactive_account_cannot_report(session, people):
    people["reporter"].status = "disabled"
    refused("forbidden", tips.submit, session, people["reporter"], category="other", description="x")


# --- transitions ----------------------------------------------------------------------------

def test_full_path_submitted_triaged_verified_closed(session, people):
    coordinator, reporter = people["coordinator"], people["reporter"]
    tip = factories.tip(session, reporter, category="fraud")
    tips.triage(session, coordinator, tip.id, level="red", note="马上处理", now=NOW)
    assert (tip.status, tip.level, tip.due_at, tip.follow_up_at) == ("triaged", "red", NOW + timedelta(days=1), None)
    tips.review(session, coordinator, tip.id, valid=True, note="属实", now=NOW)
    assert (tip.status, tip.points_awarded) == ("verified", tips.default_points("fraud"))
    tips.close(session, coordinator, tip.id, resolution="已劝阻，未受骗", now=NOW)
    assert (tip.status, tip.resolution, tip.closed_by) == ("closed", "已劝阻，未受骗", coordinator.id)
    actions = [row.action for row in session.exec(select(AuditEntry).where(AuditEntry.target_type == "tip")
                                                  .order_by(AuditEntry.id))]
    assert actions == ["tip.triage", "tip.review", "tip.close"]


def test_rejected_then_closed_pays_nothing(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.triage(session, people["coordinator"], tip.id, level="blue")
    tips.review(session, people["coordinator"], tip.id, valid=False, note="重复报告")
    assert (tip.status, tip.points_awarded) == ("rejected", 0)
    tips.close(session, people["coordinator"], tip.id, resolution="与 #1 合并")
    assert tip.status == "closed"
    assert session.exec(select(LedgerEntry).where(LedgerEntry.kind == "tip")).first() is None


def test_review_straight_from_submitted_is_allowed(session, people):
    tip = factories.tip(session, people["reporter"], category="ecology")
    tips.review(session, people["admin"], tip.id, valid=True, points=7, note="江边有人电鱼，已制止")
    assert (tip.status, tip.level, tip.points_awarded) == ("verified", None, 7)


def test_triaged_tip_may_be_closed_without_review(session, people):
    tip = factories.tip(session, people["reporter"], category="other")
    tips.triage(session, people["coordinator"], tip.id, level="blue")
    tips.close(session, people["coordinator"], tip.id, resolution="已答复政策咨询")
    assert (tip.status, tip.reviewed_at) == ("closed", None)


def test_closing_before_triage_is_refused(session, people):
    tip = factories.tip(session, people["reporter"])
    error = refused("conflict", tips.close, session, people["coordinator"], tip.id, resolution="done")
    assert error.status == 409 and tip.status == "submitted"


def test_retriage_changes_colour_and_follow_up(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.triage(session, people["coordinator"], tip.id, level="yellow", now=NOW)
    assert tip.follow_up_at == NOW.replace(month=12)  # a calendar month later, same local time
    due = datetime(2026, 11, 30, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    tips.triage(session, people["coordinator"], tip.id, level="blue", due_at=due, now=NOW)
    assert (tip.level, tip.follow_up_at, tip.due_at) == ("blue", None, due.astimezone(timezone.utc))


def test_follow_up_month_is_a_calendar_month_in_station_time():
    jan31 = datetime(2027, 1, 31, 1, 0, tzinfo=timezone.utc)  # 09:00 on 31 Jan in Hangzhou
    assert tips.add_month(jan31) == datetime(2027, 2, 28, 1, 0, tzinfo=timezone.utc)
    dec = datetime(2026, 12, 15, 20, 0, tzinfo=timezone.utc)  # 04:00 on 16 Dec local
    assert tips.add_month(dec) == datetime(2027, 1, 15, 20, 0, tzinfo=timezone.utc)


def test_review_twice_is_already_reviewed(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.review(session, people["coordinator"], tip.id, valid=True, note="ok")
    refused("already_reviewed", tips.review, session, people["coordinator"], tip.id, valid=False, note="again")
    refused("already_reviewed", tips.review, session, people["admin"], tip.id, valid=True, note="again")
    refused("already_reviewed", tips.triage, session, people["coordinator"], tip.id, level="red")
    tips.close(session, people["coordinator"], tip.id, resolution="done")
    refused("already_reviewed", tips.review, session, people["coordinator"], tip.id, valid=True, note="late")
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"tip:{tip.id}")).all()
    assert len(entries) == 1


def test_a_closed_tip_is_final(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.triage(session, people["coordinator"], tip.id, level="blue")
    tips.close(session, people["coordinator"], tip.id, resolution="done")
    refused("conflict", tips.close, session, people["coordinator"], tip.id, resolution="again")
    refused("conflict", tips.triage, session, people["coordinator"], tip.id, level="red")
    refused("conflict", tips.review, session, people["coordinator"], tip.id, valid=True, note="late")
    assert (tip.status, tip.resolution) == ("closed", "done")


@pytest.mark.parametrize("call, kwargs, field", [
    (tips.triage, {"level": "purple"}, "level"),
    (tips.review, {"valid": True, "note": "  "}, "note"),
    (tips.review, {"valid": True, "note": "ok", "points": -1}, "points"),
    (tips.review, {"valid": True, "note": "ok", "points": 1001}, "points"),
    (tips.review, {"valid": False, "note": "no", "points": 5}, "points"),
])
def test_staff_steps_refuse_bad_input(session, people, call, kwargs, field):
    tip = factories.tip(session, people["reporter"])
    error = refused("validation_error", call, session, people["coordinator"], tip.id, **kwargs)
    assert error.details["errors"][0]["field"] == field
    assert tip.status == "submitted"


def test_close_needs_a_resolution(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.triage(session, people["coordinator"], tip.id, level="red")
    refused("validation_error", tips.close, session, people["coordinator"], tip.id, resolution=" ")
    assert tip.status == "triaged"


def test_nobody_reviews_their_own_tip(session, people):
    tip = factories.tip(session, people["coordinator"])
    refused("forbidden", tips.review, session, people["coordinator"], tip.id, valid=True, note="me")
    tips.review(session, people["admin"], tip.id, valid=True, note="ok")


# --- who may do what ------------------------------------------------------------------------

def test_only_the_reporters_coordinators_and_admins_handle_a_tip(session, people):
    tip = factories.tip(session, people["reporter"])
    for who in ("reporter", "teammate", "outsider", "other_coordinator"):
        refused("forbidden", tips.triage, session, people[who], tip.id, level="red")
        refused("forbidden", tips.review, session, people[who], tip.id, valid=True, note="x")
    refused("not_found", tips.triage, session, people["coordinator"], 999_999, level="red")
    tips.triage(session, people["admin"], tip.id, level="red")


def test_visibility_of_tips(session, people):
    own = factories.tip(session, people["reporter"])
    mate = factories.tip(session, people["teammate"])
    outsider = factories.tip(session, people["outsider"])
    assert tips.get_tip(session, people["reporter"], own.id) is own
    refused("forbidden", tips.get_tip, session, people["reporter"], mate.id)
    refused("forbidden", tips.get_tip, session, people["other_coordinator"], own.id)
    refused("not_found", tips.get_tip, session, people["reporter"], 999_999)
    assert [t.id for t in tips.list_tips(session, people["reporter"])] == [own.id]
    assert [t.id for t in tips.list_tips(session, people["outsider"])] == [outsider.id]
    assert {t.id for t in tips.list_tips(session, people["coordinator"])} == {own.id, mate.id}
    assert {t.id for t in tips.list_tips(session, people["admin"])} == {own.id, mate.id, outsider.id}
    assert tips.list_tips(session, people["other_coordinator"]) == []


def test_another_stations_tip_is_not_found(session, people):
    from volunteer_app.models import Station
    far = Station(name="遵义派出所")
    session.add(far)
    session.flush()
    stranger = factories.user(session, station_row=far, roles=["admin"])
    tip = factories.tip(session, people["reporter"])
    refused("not_found", tips.get_tip, session, stranger, tip.id)
    refused("not_found", tips.triage, session, stranger, tip.id, level="red")
    assert tips.list_tips(session, stranger) == []


def test_inbox_lists_overdue_first_then_new_then_red_before_blue(session, people):
    coordinator = people["coordinator"]
    now = datetime.now(timezone.utc)
    red = factories.tip(session, people["reporter"])
    new_one = factories.tip(session, people["reporter"])
    newer = factories.tip(session, people["teammate"])
    closed = factories.tip(session, people["teammate"])
    blue_overdue = factories.tip(session, people["reporter"])
    red_overdue = factories.tip(session, people["reporter"])
    blue_later = factories.tip(session, people["reporter"])
    untrue = factories.tip(session, people["teammate"])
    tips.triage(session, coordinator, red.id, level="red", now=now)
    tips.triage(session, coordinator, closed.id, level="red")
    tips.close(session, coordinator, closed.id, resolution="done")
    tips.triage(session, coordinator, blue_overdue.id, level="blue", now=now - timedelta(days=20))  # due 6 days ago
    tips.triage(session, coordinator, red_overdue.id, level="red", now=now - timedelta(days=2))  # due yesterday
    tips.triage(session, coordinator, blue_later.id, level="blue", now=now)
    tips.triage(session, coordinator, untrue.id, level="blue", now=now - timedelta(days=20))
    tips.review(session, coordinator, untrue.id, valid=False, note="查无此事")
    listed = [t.id for t in tips.inbox(session, coordinator, now=now)]
    assert listed == [blue_overdue.id, red_overdue.id, newer.id, new_one.id, red.id, blue_later.id]
    assert [t.id for t in tips.done_tips(session, coordinator)] == [untrue.id, closed.id]
    refused("forbidden", tips.inbox, session, people["reporter"])


def test_follow_up_lists_yellow_items_whose_visit_is_due(session, people):
    coordinator = people["coordinator"]
    due = factories.tip(session, people["reporter"])
    later = factories.tip(session, people["reporter"])
    red = factories.tip(session, people["reporter"])
    tips.triage(session, coordinator, due.id, level="yellow", now=NOW - timedelta(days=40))
    tips.triage(session, coordinator, later.id, level="yellow", now=NOW - timedelta(days=5))
    tips.triage(session, coordinator, red.id, level="red", now=NOW - timedelta(days=40))
    assert [t.id for t in tips.follow_ups(session, coordinator, now=NOW)] == [due.id]
    assert tips.counts_for_staff(session, coordinator, now=NOW) == {"new": 0, "follow_up": 1}
    tips.review(session, coordinator, due.id, valid=True, note="回访完毕")
    tips.close(session, coordinator, due.id, resolution="双方和解")
    assert tips.follow_ups(session, coordinator, now=NOW) == []


# --- points and notices ---------------------------------------------------------------------

def test_valid_tip_pays_one_tip_entry_and_tells_the_reporter(session, people):
    reporter = people["reporter"]
    reporter.language = "en"
    tip = factories.tip(session, reporter, category="hazard")
    tips.review(session, people["coordinator"], tip.id, valid=True, points=12, note="thanks")
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"tip:{tip.id}")).one()
    assert (entry.kind, entry.amount, entry.user_id, entry.actor_id) == ("tip", 12, reporter.id, people["coordinator"].id)
    session.refresh(reporter)
    assert (reporter.balance, reporter.lifetime_points) == (12, 12)
    notice = session.exec(select(Notice).where(Notice.user_id == reporter.id)).one()
    assert notice.kind == "tip" and f"#{tip.id}" in notice.title and "12" in notice.body
    assert ledger.check_integrity(session) == [] and tips.check_integrity(session) == []
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "tip.review")).one()
    assert json.loads(audit.detail)["points"] == 12


def test_default_points_come_from_the_setting(app, session, people):
    app.config["TIP_POINTS"] = "dispute:3,fraud:30"
    assert (tips.default_points("fraud"), tips.default_points("dispute"), tips.default_points("other")) == (30, 3, 0)
    tip = factories.tip(session, people["reporter"], category="fraud")
    tips.review(session, people["coordinator"], tip.id, valid=True, note="ok")
    assert tip.points_awarded == 30


def test_valid_with_zero_points_writes_no_entry(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.review(session, people["coordinator"], tip.id, valid=True, points=0, note="thanks")
    assert tip.status == "verified"
    assert session.exec(select(LedgerEntry).where(LedgerEntry.kind == "tip")).first() is None
    assert tips.check_integrity(session) == []


def test_integrity_check_finds_a_missing_entry(session, people):
    tip = factories.tip(session, people["reporter"])
    tips.review(session, people["coordinator"], tip.id, valid=True, points=5, note="ok")
    tip.points_awarded = 6
    session.add(tip)
    session.flush()
    assert len(tips.check_integrity(session)) == 1


def test_parallel_reviews_pay_exactly_once(app, session, people):
    """Eight coordinators' clicks at the same moment: one review wins, seven get already_reviewed."""
    tip = factories.tip(session, people["reporter"], category="fraud")
    reviewers = [people["coordinator"], people["admin"]]
    session.commit()
    tip_id, reporter_id = tip.id, people["reporter"].id
    engine = app.extensions["db_engine"]

    def click(number: int) -> None:
        with app.app_context(), db.unit_of_work(engine) as worker:
            actor = worker.get(User, reviewers[number % 2].id)
            tips.review(worker, actor, tip_id, valid=True, points=10 + number, note=f"click {number}")

    assert outcomes(at_once([lambda n=n: click(n) for n in range(8)])) == ["already_reviewed"] * 7 + ["ok"]
    with app.app_context(), db.unit_of_work(engine, write=False) as check:
        entries = check.exec(select(LedgerEntry).where(LedgerEntry.kind == "tip")).all()
        assert len(entries) == 1 and entries[0].ref == f"tip:{tip_id}"
        assert check.get(User, reporter_id).balance == entries[0].amount == check.get(Tip, tip_id).points_awarded
        assert len(check.exec(select(Notice).where(Notice.user_id == reporter_id)).all()) == 1
        assert ledger.check_integrity(check) == [] and tips.check_integrity(check) == []


def test_demo_data_has_tips_in_every_state(app, session):
    from volunteer_app import demo
    demo.seed(session)
    states = {tip.status for tip in session.exec(select(Tip))}
    assert states == {"submitted", "triaged", "verified", "rejected", "closed"}
    assert {tip.level for tip in session.exec(select(Tip))} == {None, "red", "yellow", "blue"}
    coordinator = session.exec(select(User).where(User.username == "coordinator")).one()
    assert len(tips.follow_ups(session, coordinator)) == 1
    assert tips.check_integrity(session) == [] and ledger.check_integrity(session) == []


@pytest.mark.parametrize("mode, fmt, expected", [
    ("CMYK", "JPEG", ("image/jpeg", "RGB")),
    ("L", "JPEG", ("image/jpeg", "RGB")),
    ("P", "PNG", ("image/png", "RGBA")),
    ("LA", "PNG", ("image/png", "RGBA")),
    ("I;16", "PNG", ("image/png", "RGB")),
    ("1", "PNG", ("image/png", "RGB")),
    ("RGBA", "PNG", ("image/png", "RGBA")),
])
def test_every_kind_of_jpeg_and_png_is_read(mode, fmt, expected):
    import io

    from PIL import Image
    image = Image.new(mode, (2400, 1200))
    options = {"transparency": 0} if mode == "P" else {}
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    content, content_type, width, height = tips.process_photo(buffer.getvalue())
    with Image.open(io.BytesIO(content)) as stored:
        assert (content_type, stored.mode) == expected
        assert (width, height) == stored.size == (1600, 800)
