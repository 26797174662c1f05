"""Service records (服务记录) and hours: every rule of services/service.py, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import AuditEntry, LedgerEntry, Notice, ServiceRecord, Station, User
from volunteer_app.services import checkins, checkpoints, codes, service

from . import factories
from .factories import HANGZHOU, T0, checkpoint, event
from .conftest import at_once, outcomes, refused

URL = "https://patrol.example.cn/c/"


def code_of(cp) -> str:
    return URL + checkpoints.token(cp)


def confirmed_minutes(session, user_id: int) -> int:
    return sum(r.minutes for r in session.exec(select(ServiceRecord).where(
        ServiceRecord.user_id == user_id, ServiceRecord.status == "confirmed")))


def assert_hours_hold(session, *users) -> None:
    """``hours_served`` is the sum of the confirmed records, and the books balance."""
    session.expire_all()
    for user in users:
        fresh = session.get(User, user.id)
        assert fresh.minutes_served == confirmed_minutes(session, user.id)
        assert fresh.hours_served == round(confirmed_minutes(session, user.id) / 60, 2)
    assert service.check_integrity(session) == []


@pytest.fixture
def crew(session):
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    member = factories.user(session, team=team)
    return team, boss, member


# -- kinds ----------------------------------------------------------------------------------------

def test_default_kinds_and_a_station_of_its_own(session, crew):
    team, boss, member = crew
    keys = [kind.key for kind in service.kinds(session, member.station_id)]
    assert keys == ["patrol", "tea_room", "mediation", "publicity", "care_visit", "civility", "neighbour_help",
                    "training", "other"]
    assert all(kind.points_per_hour == 10 and not kind.makeup_earns_points
               for kind in service.kinds(session, member.station_id))
    admin = factories.admin(session)
    refused("forbidden", service.set_kind, session, boss, "tea_room", points_per_hour=20)
    service.set_kind(session, admin, "tea_room", points_per_hour=20, makeup_earns_points=True)
    service.set_kind(session, admin, "river_watch", name="护河巡查", points_per_hour=12)
    kinds = {kind.key: kind for kind in service.kinds(session, member.station_id)}
    assert (kinds["tea_room"].points_per_hour, kinds["tea_room"].makeup_earns_points) == (20, True)
    assert kinds["river_watch"].name == "护河巡查"
    other_station = Station(name="北山派出所")
    session.add(other_station)
    session.flush()
    stranger = factories.user(session, station_row=other_station)
    refused("validation_error", service.kind_of, session, stranger.station_id, "river_watch")  # not theirs
    assert service.kind_of(session, stranger.station_id, "tea_room").points_per_hour == 10
    refused("validation_error", service.set_kind, session, admin, "bad key!", name="x")
    refused("validation_error", service.set_kind, session, admin, "new_kind")  # a new kind needs a name


# -- duty posts -----------------------------------------------------------------------------------

def test_duty_post_signs_in_then_out_and_pays_the_kind(session, crew):
    team, boss, member = crew
    post = checkpoint(session, name="断桥茶室", duty_post=True, service_kind="tea_room", points=5)
    first = checkins.check_in(session, member, code_of(post), now=T0)
    assert first.checkin.points_awarded == 5 and first.service.status == "open"
    assert (first.service.source, first.service.kind, first.service.place) == ("duty_post", "tea_room", "断桥茶室")
    assert service.running(session, member, T0 + timedelta(minutes=130))["hours"] == 2
    # the next scan at the post signs out: within the cooldown, no points of its own
    out = checkins.check_in(session, member, code_of(post), now=T0 + timedelta(minutes=10))
    assert out.checkin.direction == "out" and out.checkin.points_awarded == 0
    assert out.service.id == first.service.id and out.service.status == "confirmed"
    assert (out.service.minutes, out.service.points) == (10, 1)
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"service:{out.service.id}")).one()
    assert (entry.kind, entry.amount) == ("service", 1)
    assert out.balance == 5 + 1
    assert_hours_hold(session, member)
    # signed out: the next scan signs in again (cooldown applies to signing in)
    refused("cooldown", checkins.check_in, session, member, code_of(post), now=T0 + timedelta(minutes=20))
    again = checkins.check_in(session, member, code_of(post), now=T0 + timedelta(minutes=45))
    assert again.service.status == "open" and again.service.id != first.service.id


def test_a_duty_left_open_closes_at_its_limit_as_pending(session, crew):
    team, boss, member = crew
    post = checkpoint(session, duty_post=True, max_duty_hours=4)
    opened = checkins.check_in(session, member, code_of(post), now=T0).service
    assert service.settle(session, now=T0 + timedelta(hours=3)) == 0
    assert service.settle(session, now=T0 + timedelta(hours=5)) == 1
    session.refresh(opened)
    assert (opened.status, opened.ended_at, opened.minutes) == ("pending", T0 + timedelta(hours=4), 240)
    assert_hours_hold(session, member)  # pending counts for nothing yet
    assert session.get(User, member.id).minutes_served == 0
    # a scan after the limit signs in anew (it does not close the stale duty as served)
    fresh = checkins.check_in(session, member, code_of(post), now=T0 + timedelta(hours=6))
    assert fresh.service.status == "open" and fresh.service.id != opened.id
    # the coordinator corrects the stale one to two hours and confirms it: the kind's points
    confirmed = service.confirm(session, boss, opened.id, ended_at=T0 + timedelta(hours=2), note="下午两点走的",
                                now=T0 + timedelta(hours=7))
    assert (confirmed.status, confirmed.minutes, confirmed.points) == ("confirmed", 120, 20)
    assert session.exec(select(Notice).where(Notice.user_id == member.id, Notice.kind == "service")).first()
    assert_hours_hold(session, member)


def test_sign_out_from_the_phone_inside_the_geofence(session, crew):
    team, boss, member = crew
    post = checkpoint(session, duty_post=True, latitude=HANGZHOU[0], longitude=HANGZHOU[1], require_location=True)
    record = checkins.check_in(session, member, code_of(post), latitude=HANGZHOU[0], longitude=HANGZHOU[1],
                               now=T0).service
    refused("outside_geofence", service.sign_out, session, member, record.id, now=T0 + timedelta(hours=1))
    refused("outside_geofence", service.sign_out, session, member, record.id, latitude=HANGZHOU[0] + 0.01,
            longitude=HANGZHOU[1], now=T0 + timedelta(hours=1))
    other = factories.user(session, team=team)
    refused("forbidden", service.sign_out, session, other, record.id, latitude=HANGZHOU[0], longitude=HANGZHOU[1])
    done = service.sign_out(session, member, record.id, latitude=HANGZHOU[0], longitude=HANGZHOU[1],
                            now=T0 + timedelta(hours=1))
    assert (done.status, done.minutes, done.points) == ("confirmed", 60, 10)
    refused("not_open", service.sign_out, session, member, record.id, latitude=HANGZHOU[0], longitude=HANGZHOU[1])
    assert_hours_hold(session, member)


def test_a_second_duty_post_closes_the_first(session, crew):
    team, boss, member = crew
    tea, mediation = checkpoint(session, duty_post=True), checkpoint(session, duty_post=True, service_kind="mediation")
    first = checkins.check_in(session, member, code_of(tea), now=T0).service
    second = checkins.check_in(session, member, code_of(mediation), now=T0 + timedelta(minutes=90)).service
    session.refresh(first)
    assert (first.status, first.minutes) == ("confirmed", 90)
    assert (second.status, second.kind, second.started_at) == ("open", "mediation", T0 + timedelta(minutes=90))


def test_two_phones_signing_out_at_once_close_the_duty_once(app, session, crew):
    team, boss, member = crew
    post = checkpoint(session, duty_post=True)
    record = checkins.check_in(session, member, code_of(post), now=T0).service
    session.commit()

    def sign_out():
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
            service.sign_out(s, s.get(User, member.id), record.id, now=T0 + timedelta(hours=2))

    assert outcomes(at_once([sign_out, sign_out])) == ["not_open", "ok"]
    assert session.exec(select(LedgerEntry).where(LedgerEntry.kind == "service")).all().__len__() == 1
    assert_hours_hold(session, member)


# -- patrol outings -------------------------------------------------------------------------------

def test_patrol_scans_form_outings(session, crew):
    team, boss, member = crew
    a, b = checkpoint(session, cooldown_minutes=0), checkpoint(session, cooldown_minutes=0)
    one = checkins.check_in(session, member, code_of(a), now=T0).service
    assert (one.source, one.kind, one.status, one.minutes) == ("outing", "patrol", "confirmed", 10)
    checkins.check_in(session, member, code_of(b), now=T0 + timedelta(minutes=40))
    last = checkins.check_in(session, member, code_of(a), now=T0 + timedelta(minutes=95)).service
    assert last.id == one.id and (last.started_at, last.ended_at, last.minutes) == (
        T0, T0 + timedelta(minutes=105), 105)
    later = checkins.check_in(session, member, code_of(b), now=T0 + timedelta(minutes=160)).service  # 65 min gap
    assert later.id != one.id and later.minutes == 10
    assert_hours_hold(session, member)


def test_an_outing_extends_from_its_row_or_from_the_object_the_session_holds(app, session, crew, prepared_path):
    """A scan finds the outing a former request left (built from its row) or the one this
    transaction holds (with a change not yet written), and leaves the object equal to its row."""
    team, boss, member = crew
    a, b = checkpoint(session, cooldown_minutes=0), checkpoint(session, cooldown_minutes=0)
    outing_id = checkins.check_in(session, member, code_of(a), now=T0).service.id
    session.commit()
    session.expunge_all()
    member = session.get(User, member.id)
    extended = checkins.check_in(session, member, code_of(b), now=T0 + timedelta(minutes=30)).service
    assert (extended.id, extended.minutes, extended.last_scan_at) == (outing_id, 40, T0 + timedelta(minutes=30))
    assert session.get(ServiceRecord, outing_id) is extended and extended not in session.dirty
    extended.note = "沿湖"  # unwritten when the next scan reads the outing
    again = checkins.check_in(session, member, code_of(a), now=T0 + timedelta(minutes=50)).service
    assert again is extended and again.minutes == 60
    session.commit()
    session.expire_all()
    row = session.get(ServiceRecord, outing_id)
    assert (row.minutes, row.weighted_minutes, row.ended_at, row.note) == (60, 60, T0 + timedelta(minutes=60), "沿湖")
    assert_hours_hold(session, member)


def test_outing_settings_and_no_outing_while_on_duty(app, session, crew):
    team, boss, member = crew
    app.config.update(OUTING_GAP_MINUTES=20, OUTING_TAIL_MINUTES=0)
    try:
        a = checkpoint(session, cooldown_minutes=0)
        first = checkins.check_in(session, member, code_of(a), now=T0)
        assert first.service is None  # a single scan with no tail is no time at all
        second = checkins.check_in(session, member, code_of(a), now=T0 + timedelta(minutes=15)).service
        assert second.minutes == 15
        assert checkins.check_in(session, member, code_of(a), now=T0 + timedelta(minutes=40)).service is None
    finally:
        app.config.update(OUTING_GAP_MINUTES=60, OUTING_TAIL_MINUTES=10)
    post = checkpoint(session, duty_post=True)
    checkins.check_in(session, member, code_of(post), now=T0 + timedelta(hours=2))
    assert checkins.check_in(session, member, code_of(a), now=T0 + timedelta(hours=2, minutes=30)).service is None
    assert_hours_hold(session, member)


# -- events ---------------------------------------------------------------------------------------

def _event_code(ev, at, purpose="event"):
    return codes.event_code(ev.id, at, purpose=purpose)[0]


def test_event_sign_in_and_sign_out_clamped_to_the_window(session, crew):
    team, boss, member = crew
    ev = event(session, starts_at=T0, hours=2, points=10)
    early = T0 - timedelta(minutes=20)
    signed_in = checkins.check_in(session, member, _event_code(ev, early), now=early)
    assert signed_in.checkin.points_awarded == 10 and signed_in.service.status == "open"
    assert (signed_in.service.kind, signed_in.service.started_at) == ("publicity", T0)  # clamped to the start
    late = T0 + timedelta(hours=2, minutes=10)
    refused("event_closed", checkins.check_in, session, member, _event_code(ev, late, "event_out"), now=late)
    out_at = T0 + timedelta(minutes=100)
    out = checkins.check_in(session, member, _event_code(ev, out_at, "event_out"), now=out_at)
    assert out.checkin.points_awarded == 0 and out.checkin.direction == "out"
    assert (out.service.status, out.service.minutes, out.service.points) == ("confirmed", 100, 0)
    refused("not_open", checkins.check_in, session, member, _event_code(ev, out_at, "event_out"), now=out_at)
    stranger = factories.user(session, team=team)
    refused("not_open", checkins.check_in, session, stranger, _event_code(ev, out_at, "event_out"), now=out_at)
    refused("already_checked_in", checkins.check_in, session, member, _event_code(ev, out_at), now=out_at)
    assert_hours_hold(session, member, stranger)


def test_full_credit_event_counts_its_whole_length_once_ended(session, crew):
    team, boss, member = crew
    ev = event(session, starts_at=T0, hours=3, credit="full", service_kind="training")
    record = checkins.check_in(session, member, _event_code(ev, T0 + timedelta(minutes=50)),
                               now=T0 + timedelta(minutes=50)).service
    assert (record.status, record.minutes, record.kind) == ("open", 180, "training")
    assert session.get(User, member.id).minutes_served == 0
    assert service.settle(session, now=T0 + timedelta(hours=2)) == 0
    assert service.settle(session, now=T0 + timedelta(hours=3, minutes=1)) == 1
    session.refresh(record)
    assert record.status == "confirmed"
    assert_hours_hold(session, member)


def test_an_event_never_signed_out_waits_for_a_coordinator(session, crew):
    team, boss, member = crew
    ev = event(session, starts_at=T0, hours=1)
    record = checkins.check_in(session, member, _event_code(ev, T0), now=T0).service
    service.settle(session, now=T0 + timedelta(hours=2))
    session.refresh(record)
    assert (record.status, record.ended_at, record.minutes) == ("pending", T0 + timedelta(hours=1), 60)


# -- make-ups -------------------------------------------------------------------------------------

NOW = T0 + timedelta(days=1)


def makeup(session, user, start, end, **extra):
    fields = {"kind": "tea_room", "place": "断桥茶室", "note": "忘了签退", **extra}
    return service.request_makeup(session, user, started_at=start, ended_at=end, now=NOW, **fields)


def test_makeup_bad_times_are_refused(session, crew):
    team, boss, member = crew
    for start, end, field in ((T0, T0, "ended_at"), (T0, T0 - timedelta(hours=1), "ended_at"),
                              (T0, T0 + timedelta(hours=25), "ended_at"),
                              (NOW - timedelta(minutes=30), NOW + timedelta(minutes=30), "ended_at"),
                              (NOW - timedelta(days=61), NOW - timedelta(days=61) + timedelta(hours=1), "started_at")):
        error = refused("validation_error", makeup, session, member, start, end)
        assert error.details["errors"][0]["field"] == field
    refused("validation_error", makeup, session, member, T0, T0 + timedelta(hours=1), kind="somebody_elses")
    refused("validation_error", makeup, session, member, T0, T0 + timedelta(hours=1), note="  ")
    assert session.exec(select(ServiceRecord)).all() == []


def test_makeup_confirmed_or_rejected_with_a_notice(session, crew):
    team, boss, member = crew
    record = makeup(session, member, T0, T0 + timedelta(hours=3))
    assert (record.source, record.status, record.minutes) == ("makeup", "pending", 180)
    assert [r.id for r, _user in service.pending_for(session, boss)] == [record.id]
    refused("forbidden", service.confirm, session, member, record.id)  # not a coordinator
    outsider = factories.coordinator(session, factories.team(session))
    refused("forbidden", service.confirm, session, outsider, record.id)  # another team's
    done = service.confirm(session, boss, record.id, now=NOW)
    assert (done.status, done.points, done.confirmed_by_id) == ("confirmed", 0, boss.id)  # honour hours: no points
    refused("already_reviewed", service.reject, session, boss, record.id, note="重复")
    second = makeup(session, member, T0 + timedelta(hours=5), T0 + timedelta(hours=6))
    refused("validation_error", service.reject, session, boss, second.id, note="")
    rejected = service.reject(session, boss, second.id, note="当天茶室没有开门", now=NOW)
    assert (rejected.status, rejected.review_note) == ("rejected", "当天茶室没有开门")
    notices = session.exec(select(Notice.title).where(Notice.user_id == member.id, Notice.kind == "service")).all()
    assert len(notices) == 2
    assert_hours_hold(session, member)
    assert session.get(User, member.id).minutes_served == 180


def test_makeup_earns_points_when_its_kind_says_so(session, crew):
    team, boss, member = crew
    service.set_kind(session, factories.admin(session), "mediation", points_per_hour=15, makeup_earns_points=True)
    record = makeup(session, member, T0, T0 + timedelta(minutes=90), kind="mediation")
    assert service.confirm(session, boss, record.id, now=NOW).points == 22


def test_overlaps_are_refused_and_named(session, crew):
    team, boss, member = crew
    counted = makeup(session, member, T0, T0 + timedelta(hours=2))
    service.confirm(session, boss, counted.id, now=NOW)
    error = refused("service_overlap", makeup, session, member, T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    assert error.status == 409 and error.details["record_id"] == counted.id
    pending = makeup(session, member, T0 + timedelta(hours=2), T0 + timedelta(hours=3))  # touching is fine
    refused("service_overlap", service.confirm, session, boss, pending.id, started_at=T0 + timedelta(minutes=90),
            now=NOW)
    refused("service_overlap", service.record_entry, session, boss, user_id=member.id, kind="patrol",
            started_at=T0 - timedelta(minutes=30), ended_at=T0 + timedelta(minutes=30), place="湖滨", now=NOW)
    assert_hours_hold(session, member)


def test_scan_made_records_are_trimmed_never_refused(session, crew):
    team, boss, member = crew
    counted = makeup(session, member, T0, T0 + timedelta(hours=1))
    service.confirm(session, boss, counted.id, now=NOW)
    cp = checkpoint(session)
    outing = checkins.check_in(session, member, code_of(cp), now=T0 + timedelta(minutes=55)).service
    assert (outing.started_at, outing.ended_at, outing.minutes) == (T0 + timedelta(hours=1),
                                                                   T0 + timedelta(minutes=65), 5)
    assert_hours_hold(session, member)


# -- coordinator entries --------------------------------------------------------------------------

def test_coordinator_entry_is_confirmed_paid_and_audited(session, crew):
    team, boss, member = crew
    record = service.record_entry(session, boss, user_id=member.id, kind="care_visit", place="孤寡老人张奶奶家",
                                  started_at=T0, ended_at=T0 + timedelta(hours=2), note="没有智能手机", now=NOW)
    assert (record.source, record.status, record.points, record.confirmed_by_id) == ("entry", "confirmed", 20, boss.id)
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "service.entry")).one().target_id == member.id
    refused("forbidden", service.record_entry, session, boss, user_id=boss.id, kind="patrol", place="x",
            started_at=T0 - timedelta(hours=5), ended_at=T0 - timedelta(hours=4), now=NOW)
    refused("forbidden", service.record_entry, session, member, user_id=member.id, kind="patrol", place="x",
            started_at=T0 - timedelta(hours=5), ended_at=T0 - timedelta(hours=4), now=NOW)
    assert_hours_hold(session, member)


def test_records_of_another_person_are_refused(session, crew):
    team, boss, member = crew
    other = factories.user(session)
    refused("forbidden", service.records_of, session, other, member.id)
    assert service.records_of(session, boss, member.id)[0].id == member.id
    refused("not_found", service.records_of, session, member, 2**31)
