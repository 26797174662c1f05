"""Shifts: creating (weekly repeats in station time), sign-up rules, the waitlist, no-shows,
route completion with night hours, reminders and the calendar feed."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from volunteer_app import db, timeutil
from volunteer_app.errors import DomainError
from volunteer_app.models import AuditEntry, Checkin, LedgerEntry, Notice, ServiceRecord, User, UserBadge
from volunteer_app.services import service, shifts

from . import factories
from .conftest import at_once, outcomes

CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CST)  # a Tuesday


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


@pytest.fixture
def crew(session):
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    cps = [factories.patrol_checkpoint(session, team_row=team) for _ in range(3)]
    return team, boss, cps


def _code(call) -> str:
    with pytest.raises(DomainError) as info:
        call()
    return info.value.code


# ------------------------------------------------------------------ creating

def test_create_one_shift_crossing_midnight(session, crew):
    team, boss, cps = crew
    [shift] = shifts.create_shifts(session, boss, team_id=team.id, title="夜巡", starts_at=at(2, 21),
                                   ends_at=at(3, 1), capacity=2, checkpoint_ids=[cps[2].id, cps[0].id], now=NOW)
    assert shifts.route_ids(session, shift.id) == [cps[2].id, cps[0].id]
    assert timeutil.isoformat(shift.starts_at) == "2026-12-02T21:00:00+08:00"
    assert timeutil.isoformat(shift.ends_at) == "2026-12-03T01:00:00+08:00"
    assert shift.points_per_hour == 10 and shifts.counts_for(session, [shift.id])[shift.id]["confirmed"] == 0
    assert shift.series_id is None


def test_weekly_repeat_until_is_a_station_date_inclusive(session, crew):
    team, boss, cps = crew
    # 01:00 in Shanghai is 17:00 UTC the day before: the 22nd (station) must not be included
    # when the last date is the 21st, even though that start falls on the 21st in UTC.
    made = shifts.create_shifts(session, boss, team_id=team.id, title="凌晨巡", starts_at=at(8, 1),
                                ends_at=at(8, 3), capacity=2, checkpoint_ids=[cps[0].id],
                                repeat_weekly_until=date(2026, 12, 21), now=NOW)
    assert [timeutil.local(s.starts_at).date() for s in made] == [date(2026, 12, 8), date(2026, 12, 15)]
    made = shifts.create_shifts(session, boss, team_id=team.id, title="早巡", starts_at=at(8, 1),
                                ends_at=at(8, 3), capacity=2, checkpoint_ids=[cps[0].id],
                                repeat_weekly_until=date(2026, 12, 22), now=NOW)
    assert [timeutil.local(s.starts_at).date() for s in made] == [date(2026, 12, 8), date(2026, 12, 15),
                                                               date(2026, 12, 22)]
    assert all(timeutil.local(s.starts_at).hour == 1 and (s.ends_at - s.starts_at) == timedelta(hours=2) for s in made)
    assert len({s.series_id for s in made}) == 1 and made[0].series_id


def test_create_refusals(session, crew):
    team, boss, cps = crew
    other_team = factories.team(session)
    volunteer = factories.user(session, team=team)
    base = dict(title="巡", starts_at=at(2, 9), ends_at=at(2, 11), capacity=2, checkpoint_ids=[cps[0].id], now=NOW)
    assert _code(lambda: shifts.create_shifts(session, boss, team_id=other_team.id, **base)) == "forbidden"
    assert _code(lambda: shifts.create_shifts(session, volunteer, team_id=team.id, **base)) == "forbidden"
    assert _code(lambda: shifts.create_shifts(session, boss, team_id=team.id, **{**base, "ends_at": at(2, 9)})) \
        == "validation_error"
    assert _code(lambda: shifts.create_shifts(session, boss, team_id=team.id,
                                              **{**base, "checkpoint_ids": [cps[0].id, cps[0].id]})) == "validation_error"
    assert _code(lambda: shifts.create_shifts(session, boss, team_id=team.id,
                                              **{**base, "checkpoint_ids": [999999]})) == "validation_error"


def test_copy_week_forward(session, crew):
    team, boss, cps = crew
    shifts.create_shifts(session, boss, team_id=team.id, title="周一夜巡", starts_at=at(7, 22), ends_at=at(8, 2),
                         capacity=4, checkpoint_ids=[cps[1].id, cps[0].id], now=NOW)
    shifts.create_shifts(session, boss, team_id=team.id, title="周日早巡", starts_at=at(13, 7), ends_at=at(13, 9),
                         capacity=2, checkpoint_ids=[cps[2].id], now=NOW)
    made = shifts.copy_week(session, boss, team.id, date(2026, 12, 10), now=NOW)
    assert [(s.title, timeutil.local(s.starts_at)) for s in made] == [("周一夜巡", at(14, 22)), ("周日早巡", at(20, 7))]
    assert shifts.route_ids(session, made[0].id) == [cps[1].id, cps[0].id]
    assert made[0].ends_at == at(15, 2) and made[0].capacity == 4
    assert shifts.copy_week(session, boss, team.id, date(2026, 12, 7), now=NOW) == []  # already there


# ------------------------------------------------------------------ signing up

def test_confirmed_until_capacity_then_waitlisted_in_order(session, crew):
    team, boss, cps = crew
    shift = factories.shift(session, team, starts_at=at(3, 9), ends_at=at(3, 11), capacity=2, route=cps)
    people = [factories.user(session, team=team) for _ in range(4)]
    rows = [shifts.signup(session, person, shift.id, now=NOW) for person in people]
    assert [r.status for r in rows] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [shifts.waitlist_position(session, r) for r in rows] == [None, None, 1, 2]
    assert shifts.counts_for(session, [shift.id])[shift.id]["waitlisted"] == 2


def test_cancel_promotes_first_waitlisted_with_notice(session, crew):
    team, boss, cps = crew
    shift = factories.shift(session, team, starts_at=at(3, 9), ends_at=at(3, 11), capacity=1, route=cps)
    first, second, third = (factories.user(session, team=team) for _ in range(3))
    for person in (first, second, third):
        shifts.signup(session, person, shift.id, now=NOW)
    shifts.cancel_signup(session, first, shift.id, now=NOW)
    assert shifts.signup_of(session, shift.id, second.id).status == "confirmed"
    third_row = shifts.signup_of(session, shift.id, third.id)
    assert third_row.status == "waitlisted" and shifts.waitlist_position(session, third_row) == 1
    kinds = session.exec(select(Notice.user_id, Notice.kind)).all()
    assert kinds == [(second.id, "shift_promoted")]
    # signing up again after cancelling goes to the back of the queue
    again = shifts.signup(session, first, shift.id, now=NOW)
    assert again.status == "waitlisted" and shifts.waitlist_position(session, again) == 2


def test_signup_refusals(session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    outsider = factories.user(session)
    shift = factories.shift(session, team, starts_at=at(3, 9), ends_at=at(3, 11), route=cps)
    assert _code(lambda: shifts.signup(session, outsider, shift.id, now=NOW)) == "not_team_member"
    shifts.signup(session, me, shift.id, now=NOW)
    assert _code(lambda: shifts.signup(session, me, shift.id, now=NOW)) == "already_signed_up"
    overlapping = factories.shift(session, team, starts_at=at(3, 10, 30), ends_at=at(3, 12), route=cps)
    with pytest.raises(DomainError) as info:
        shifts.signup(session, me, overlapping.id, now=NOW)
    assert info.value.code == "shift_overlap" and info.value.status == 409
    back_to_back = factories.shift(session, team, starts_at=at(3, 11), ends_at=at(3, 13), route=cps)
    assert shifts.signup(session, me, back_to_back.id, now=NOW).status == "confirmed"
    started = factories.shift(session, team, starts_at=at(1, 9, 59), ends_at=at(1, 12), route=cps)
    assert _code(lambda: shifts.signup(session, me, started.id, now=NOW)) == "shift_started"
    within = factories.shift(session, team, starts_at=NOW + timedelta(days=30), ends_at=NOW + timedelta(days=30, hours=2),
                             route=cps)
    beyond = factories.shift(session, team, starts_at=NOW + timedelta(days=30, minutes=1),
                             ends_at=NOW + timedelta(days=30, hours=3), route=cps)
    assert shifts.signup(session, me, within.id, now=NOW).status == "confirmed"
    with pytest.raises(DomainError) as info:
        shifts.signup(session, me, beyond.id, now=NOW)
    assert info.value.code == "beyond_signup_window" and info.value.status == 409
    assert _code(lambda: shifts.cancel_signup(session, outsider, shift.id, now=NOW)) == "not_found"
    cancelled = factories.shift(session, team, starts_at=at(5, 9), ends_at=at(5, 11), route=cps)
    shifts.cancel_shift(session, boss, cancelled.id, now=NOW)
    assert _code(lambda: shifts.signup(session, me, cancelled.id, now=NOW)) == "shift_cancelled"


def test_no_show_blocks_until_cleared(session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    for day in (2, 3, 4):
        past = factories.shift(session, team, starts_at=at(day, 9, month=11), ends_at=at(day, 11, month=11), route=cps)
        shifts.signup(session, me, past.id, now=at(1, 8, month=11))
        assert _code(lambda: shifts.mark_no_show(session, boss, past.id, me.id, "   ", now=NOW)) == "validation_error"
        shifts.mark_no_show(session, boss, past.id, me.id, "did not come, no answer on the phone", now=NOW)
    upcoming = factories.shift(session, team, starts_at=at(3, 9), ends_at=at(3, 11), route=cps)
    with pytest.raises(DomainError) as info:
        shifts.signup(session, me, upcoming.id, now=NOW)
    assert info.value.code == "too_many_no_shows" and info.value.status == 403
    assert [u.id for u, count in shifts.blocked_volunteers(session, boss, NOW)] == [me.id]
    volunteer = factories.user(session, team=team)
    assert _code(lambda: shifts.clear_no_shows(session, volunteer, me.id, now=NOW)) == "forbidden"
    shifts.clear_no_shows(session, boss, me.id, "talked it through", now=NOW)
    assert shifts.signup(session, me, upcoming.id, now=NOW + timedelta(minutes=1)).status == "confirmed"
    assert session.exec(select(AuditEntry.action).where(AuditEntry.action.like("shift.%"))
                        .order_by(AuditEntry.id)).all()[-1] == "shift.clear_no_shows"


def test_no_shows_older_than_the_window_do_not_block(session, crew, app):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    for day in (1, 2, 3):  # early August: more than 90 days before NOW
        past = factories.shift(session, team, starts_at=at(day, 9, month=8), ends_at=at(day, 11, month=8), route=cps)
        shifts.signup(session, me, past.id, now=at(1, 7, month=8))
        shifts.mark_no_show(session, boss, past.id, me.id, "absent", now=NOW)
    assert shifts.no_show_count(session, me.id, NOW) == 0
    app.config["NO_SHOW_WINDOW_DAYS"] = 200
    assert shifts.no_show_count(session, me.id, NOW) == 3 and shifts.is_blocked(session, me.id, NOW)


def test_cancel_shift_tells_everyone(session, crew):
    team, boss, cps = crew
    shift = factories.shift(session, team, starts_at=at(3, 9), ends_at=at(3, 11), capacity=1, route=cps)
    a, b = factories.user(session, team=team), factories.user(session, team=team)
    shifts.signup(session, a, shift.id, now=NOW)
    shifts.signup(session, b, shift.id, now=NOW)
    shifts.cancel_shift(session, boss, shift.id, reason="暴雨", now=NOW)
    rows = session.exec(select(Notice).order_by(Notice.user_id)).all()
    assert [(n.user_id, n.kind) for n in rows] == [(a.id, "shift_cancelled"), (b.id, "shift_cancelled")]
    assert "暴雨" in rows[0].body
    assert _code(lambda: shifts.cancel_shift(session, boss, shift.id, now=NOW)) == "already_cancelled"
    assert shifts.list_shifts(session, a, now=NOW) == []


def test_edit_capacity_promotes_and_time_change_notifies(session, crew):
    team, boss, cps = crew
    shift = factories.shift(session, team, starts_at=at(3, 9), ends_at=at(3, 11), capacity=1, route=cps)
    a, b = factories.user(session, team=team), factories.user(session, team=team)
    shifts.signup(session, a, shift.id, now=NOW)
    shifts.signup(session, b, shift.id, now=NOW)
    shifts.edit_shift(session, boss, shift.id, capacity=2, now=NOW)
    assert shifts.signup_of(session, shift.id, b.id).status == "confirmed"
    shifts.edit_shift(session, boss, shift.id, starts_at=at(3, 10), ends_at=at(3, 12), now=NOW)
    kinds = session.exec(select(Notice.user_id, Notice.kind).order_by(Notice.id)).all()
    assert kinds == [(b.id, "shift_promoted"), (a.id, "shift_changed"), (b.id, "shift_changed")]


# ------------------------------------------------------------------ completion

def _scan(session, user, checkpoint, when):
    row = Checkin(user_id=user.id, kind="checkpoint", checkpoint_id=checkpoint.id, created_at=when)
    session.add(row)
    session.flush()
    return row, shifts.after_checkin(session, user.id, row, when)


def test_night_minutes_and_points():
    class S:  # a plain stand-in for a shift
        def __init__(self, start, end, pph):
            self.starts_at, self.ends_at, self.points_per_hour = start, end, pph
    assert timeutil.night_minutes(at(2, 21), at(3, 1)) == 180
    assert timeutil.night_minutes(at(2, 5), at(2, 23)) == 60 + 60
    assert shifts.shift_points(S(at(2, 21), at(3, 1), 10), 1.5) == 10 + 15 + 15 + 15
    assert shifts.shift_points(S(at(2, 21), at(3, 1), 7), 1.5) == 38  # 7 + 31.5, rounded down
    assert shifts.shift_points(S(at(2, 9), at(2, 11), 10), 1.5) == 20
    assert shifts.shift_points(S(at(2, 4), at(2, 8), 10), 2) == 2 * 20 + 20  # 04-06 night, 06-08 day


def test_completion_at_the_last_scan_once_with_night_factor(session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    shift = factories.shift(session, team, starts_at=at(2, 21), ends_at=at(3, 1), route=cps, points_per_hour=10)
    shifts.signup(session, me, shift.id, now=NOW)
    early, progress = _scan(session, me, cps[0], at(2, 20, 40))  # before the grace: no shift
    assert progress is None and early.shift_id is None
    first, progress = _scan(session, me, cps[0], at(2, 20, 46))
    assert first.shift_id == shift.id
    assert progress == {"shift_id": shift.id, "completed": False, "next_checkpoint_id": cps[1].id, "points_awarded": 0}
    _scan(session, me, cps[2], at(2, 23, 30))  # out of order is fine
    last, progress = _scan(session, me, cps[1], at(3, 1, 14))  # within the grace after the end
    assert progress == {"shift_id": shift.id, "completed": True, "next_checkpoint_id": None, "points_awarded": 55}
    again, progress = _scan(session, me, cps[1], at(3, 1, 15))
    assert progress["completed"] is True and progress["points_awarded"] == 0 and again.shift_id == shift.id
    row = shifts.signup_of(session, shift.id, me.id)
    assert row.completed_at == at(3, 1, 14) and row.minutes_credited == 240 and row.points_awarded == 55
    user = session.get(User, me.id)
    session.refresh(user)
    assert user.minutes_served == 240 and user.balance == 55
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.kind == "shift")).all()
    assert [(e.ref, e.amount) for e in entries] == [(f"shift:{shift.id}:{me.id}", 55)]
    badges = session.exec(select(UserBadge.key).where(UserBadge.user_id == me.id)).all()
    assert "first_shift" in badges  # recognition's hook ran in the same transaction
    report = shifts.attendance(session, boss, shift.id)
    assert report["volunteers"] == [{"user_id": me.id, "status": "confirmed", "checkpoints_visited": [c.id for c in cps],
                                     "completed": True, "hours": 4.0, "points_awarded": 55, "confirmed_by_id": None,
                                     "no_show_comment": None}]


def test_scans_of_waitlisted_or_outside_the_route_do_not_complete(session, crew):
    team, boss, cps = crew
    other = factories.patrol_checkpoint(session)
    a, b = factories.user(session, team=team), factories.user(session, team=team)
    shift = factories.shift(session, team, starts_at=at(2, 9), ends_at=at(2, 11), capacity=1, route=cps[:1])
    shifts.signup(session, a, shift.id, now=NOW)
    shifts.signup(session, b, shift.id, now=NOW)
    assert _scan(session, b, cps[0], at(2, 9, 30))[1] is None  # waitlisted
    assert _scan(session, a, other, at(2, 9, 30))[1] is None  # not on the route
    assert _scan(session, a, cps[0], at(2, 11, 16))[1] is None  # after the grace
    progress = _scan(session, a, cps[0], at(2, 10))[1]
    assert progress["completed"] and progress["points_awarded"] == 0  # one scan: no time on the route yet
    assert _scan(session, a, cps[0], at(2, 10, 45))[1]["points_awarded"] == 7  # extended: 45 minutes


def test_credit_is_the_time_on_the_route_never_the_schedule(session, crew):
    """A route walked in the first half hour of a four-hour shift credits that half hour; a
    later scan in the window extends it (points paid as the difference, never twice); a route
    walked wholly before the start is a record of 0 minutes at the start."""
    team, boss, cps = crew
    me, early = factories.user(session, team=team), factories.user(session, team=team)
    shift = factories.shift(session, team, starts_at=at(2, 9), ends_at=at(2, 13), route=cps[:2], capacity=2)
    for person in (me, early):
        shifts.signup(session, person, shift.id, now=NOW)
    _scan(session, me, cps[0], at(2, 9, 5))
    assert _scan(session, me, cps[1], at(2, 9, 35))[1] == {"shift_id": shift.id, "completed": True,
                                                           "next_checkpoint_id": None, "points_awarded": 5}
    record = session.exec(select(ServiceRecord).where(ServiceRecord.user_id == me.id)).one()
    assert (record.source, record.kind, record.status, record.minutes) == ("route", "patrol", "confirmed", 30)
    assert _scan(session, me, cps[0], at(2, 13, 10))[1]["points_awarded"] == 34  # to 13:00, not 13:10: 39 in all
    session.refresh(record)
    assert (record.minutes, record.ended_at) == (235, at(2, 13))
    assert session.get(User, me.id).minutes_served == 235
    paid = session.exec(select(LedgerEntry.amount).where(LedgerEntry.kind == "shift", LedgerEntry.user_id == me.id))
    assert sorted(paid) == [5, 34]
    assert shifts.check_integrity(session) == [] and service.check_integrity(session) == []
    _scan(session, early, cps[0], at(2, 8, 46))
    assert _scan(session, early, cps[1], at(2, 8, 50))[1]["completed"]
    record = session.exec(select(ServiceRecord).where(ServiceRecord.user_id == early.id)).one()
    assert (record.minutes, record.started_at, record.ended_at) == (0, at(2, 9), at(2, 9))


def test_route_in_order_setting(app, session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    shift = factories.shift(session, team, starts_at=at(2, 9), ends_at=at(2, 11), route=cps[:2])
    shifts.signup(session, me, shift.id, now=NOW)
    app.config["ROUTE_IN_ORDER"] = True
    try:
        assert not _scan(session, me, cps[1], at(2, 9, 5))[1]["completed"]  # the second stop first
        assert not _scan(session, me, cps[0], at(2, 9, 20))[1]["completed"]
        assert _scan(session, me, cps[1], at(2, 9, 50))[1]["completed"]  # now in order
    finally:
        app.config["ROUTE_IN_ORDER"] = False


def test_completion_exactly_once_when_the_last_checkpoint_is_scanned_twice_at_once(app, session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    shift = factories.shift(session, team, starts_at=at(2, 9), ends_at=at(2, 11), route=cps[:2])
    shifts.signup(session, me, shift.id, now=NOW)
    _scan(session, me, cps[0], at(2, 9, 10))
    session.commit()

    def scan(meet):
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
            meet()
            row = Checkin(user_id=me.id, kind="checkpoint", checkpoint_id=cps[1].id, created_at=at(2, 10))
            s.add(row)
            s.flush()
            return shifts.after_checkin(s, me.id, row, at(2, 10))

    results = at_once([scan, scan], meet_inside=True)
    assert outcomes(results) == ["ok", "ok"], results
    assert sorted(r["points_awarded"] for r in results) == [0, 8]  # 09:10 to 10:00
    session.expire_all()
    assert session.get(User, me.id).minutes_served == 50
    assert len(session.exec(select(LedgerEntry).where(LedgerEntry.kind == "shift")).all()) == 1


def test_manual_confirmation_counts_as_completed_and_is_audited(session, crew):
    team, boss, cps = crew
    me, late = factories.user(session, team=team), factories.user(session, team=team)
    shift = factories.shift(session, team, starts_at=at(1, 22, month=11), ends_at=at(2, 6, month=11), route=cps)
    shifts.signup(session, me, shift.id, now=at(1, 8, month=11))
    shifts.signup(session, late, shift.id, now=at(1, 8, month=11))
    assert _code(lambda: shifts.confirm_attendance(session, boss, shift.id, me.id, now=at(1, 8, month=11))) \
        == "shift_not_started"
    shifts.mark_no_show(session, boss, shift.id, late.id, "sick", now=NOW)
    shifts.confirm_attendance(session, boss, shift.id, me.id, now=NOW)
    row = shifts.signup_of(session, shift.id, me.id)
    assert row.completed_at is not None and row.confirmed_by_id == boss.id
    assert row.points_awarded == 120 and row.minutes_credited == 480  # 8 night hours x 10 x 1.5
    assert _code(lambda: shifts.confirm_attendance(session, boss, shift.id, me.id, now=NOW)) == "already_completed"
    assert _code(lambda: shifts.mark_no_show(session, boss, shift.id, me.id, "x", now=NOW)) == "already_completed"
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "shift.confirm_attendance")).one()
    assert audit.actor_id == boss.id and audit.target_id == shift.id
    statuses = {v["user_id"]: (v["status"], v["completed"], v["no_show_comment"])
                for v in shifts.attendance(session, boss, shift.id)["volunteers"]}
    assert statuses == {me.id: ("confirmed", True, None), late.id: ("no_show", False, "sick")}
    volunteer = factories.user(session, team=team)
    assert _code(lambda: shifts.attendance(session, volunteer, shift.id)) == "forbidden"


# ------------------------------------------------------------------ reminders and the feed

def test_reminders_for_shifts_within_12_hours_once(session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    soon = factories.shift(session, team, starts_at=NOW + timedelta(hours=11), ends_at=NOW + timedelta(hours=13),
                           route=cps)
    later = factories.shift(session, team, starts_at=NOW + timedelta(hours=13), ends_at=NOW + timedelta(hours=14),
                            route=cps)
    shifts.signup(session, me, soon.id, now=NOW)
    shifts.signup(session, me, later.id, now=NOW)
    assert shifts.remind(session, user_id=me.id, now=NOW) == 1
    assert shifts.remind(session, now=NOW) == 0
    assert shifts.remind(session, now=NOW + timedelta(hours=2)) == 1
    assert [n.url for n in session.exec(select(Notice).order_by(Notice.id))] == [f"/shifts/{soon.id}",
                                                                               f"/shifts/{later.id}"]


def test_ical_feed_holds_my_shifts_at_the_right_times_and_revokes(session, crew):
    team, boss, cps = crew
    me = factories.user(session, team=team)
    night = factories.shift(session, team, starts_at=at(2, 21), ends_at=at(3, 1), route=cps, title="夜巡西湖")
    factories.shift(session, team, starts_at=at(4, 21), ends_at=at(4, 23), route=cps, title="别人的班")
    shifts.signup(session, me, night.id, now=NOW)
    token = shifts.feed_token(session, me)
    assert shifts.feed_user(session, token).id == me.id
    assert shifts.feed_user(session, token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    cal = Calendar.from_ical(shifts.ical(session, me, base_url="https://x.cn", now=NOW))
    events = cal.walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["夜巡西湖"]
    assert events[0].decoded("dtstart") == at(2, 21) and events[0].decoded("dtend") == at(3, 1)
    new = shifts.revoke_feed(session, me)
    assert new != token and shifts.feed_user(session, token) is None and shifts.feed_user(session, new).id == me.id


def test_a_coordinator_confirms_neither_their_own_shift_nor_lifts_their_own_no_shows(session, crew):
    team, boss, cps = crew
    other = factories.coordinator(session, team)
    shift = factories.shift(session, team, starts_at=at(1, 22, month=11), ends_at=at(2, 6, month=11), route=cps)
    shifts.signup(session, boss, shift.id, now=at(1, 8, month=11))
    assert _code(lambda: shifts.confirm_attendance(session, boss, shift.id, boss.id, now=NOW)) == "forbidden"
    assert shifts.signup_of(session, shift.id, boss.id).completed_at is None
    assert _code(lambda: shifts.clear_no_shows(session, boss, boss.id, "me")) == "forbidden"
    shifts.confirm_attendance(session, other, shift.id, boss.id, now=NOW)  # another coordinator may
    assert shifts.signup_of(session, shift.id, boss.id).confirmed_by_id == other.id
