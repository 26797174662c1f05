"""The check-in operation and the places it happens at, at the service level (clock injected)."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import event as sa_event
from sqlmodel import select

from volunteer_app.models import AuditEntry, Checkin, LedgerEntry, Notice, Station, User
from volunteer_app.services import checkins, checkpoints, codes, geo, ledger, recognition

from . import factories
from .factories import HANGZHOU, T0, checkpoint, event
from .conftest import refused

#: Every test runs with db.Prepared on its direct path and on its plain fallback.
pytestmark = pytest.mark.usefixtures("prepared_path")

URL = "https://patrol.example.cn/c/"


def code_of(cp) -> str:
    return URL + checkpoints.token(cp)


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + math.degrees(metres / geo.EARTH_RADIUS_M), lon


# -- codes ------------------------------------------------------------------------------------------

def test_poster_url_and_bare_token_both_check_in(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, points=7, cooldown_minutes=0)
    first = checkins.check_in(session, volunteer, code_of(cp), now=T0)
    second = checkins.check_in(session, volunteer, checkpoints.token(cp) + "  ", now=T0 + timedelta(seconds=1))
    assert (first.checkin.points_awarded, first.balance, second.balance) == (7, 7, 14)
    assert first.checkin.kind == "checkpoint" and first.checkin.checkpoint_id == cp.id


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),      # tampered signature
    lambda token: "WzIsMV0" + token[token.index("."):],                  # payload swapped, old signature
    lambda token: URLSafeSerializer("another-key", salt="checkpoint-poster").dumps([1, 1]),  # forged
    lambda token: URLSafeSerializer("test-secret-key", salt="other").dumps([1, 1]),          # wrong salt
    lambda token: "",
    lambda token: "E1-12345",
    lambda token: "not a code at all",
])
def test_forged_and_tampered_tokens_are_invalid(session, mangle):
    volunteer = factories.user(session)
    cp = checkpoint(session)
    refused("invalid_code", checkins.check_in, session, volunteer, URL + mangle(checkpoints.token(cp)), now=T0)
    assert session.exec(select(Checkin)).all() == []


def test_signed_token_of_unknown_checkpoint_is_invalid(session):
    volunteer = factories.user(session)
    refused("invalid_code", checkins.check_in, session, volunteer, codes.checkpoint_token(999, 1), now=T0)


def test_rotated_poster_is_invalid_and_new_one_works(session):
    coordinator = factories.admin(session)
    volunteer = factories.user(session)
    cp = checkpoint(session)
    old = code_of(cp)
    checkpoints.rotate_code(session, coordinator, cp.id)
    refused("invalid_code", checkins.check_in, session, volunteer, old, now=T0)
    assert checkins.check_in(session, volunteer, code_of(cp), now=T0).checkin.id
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "checkpoint.rotate_code")).first()


def _elsewhere(session) -> User:
    """A volunteer of another station."""
    far = Station(name="北山派出所")
    session.add(far)
    session.flush()
    return factories.user(session, station_row=far)


def test_preview_shows_the_place_and_refuses_as_the_tap_would(session):
    coordinator = factories.admin(session)
    volunteer = factories.user(session)
    cp = checkpoint(session, name="西湖边", points=7, require_location=True)
    assert checkins.preview(session, volunteer, code_of(cp)) == {
        "kind": "checkpoint", "name": "西湖边", "points": 7, "need_location": True, "where": ""}
    old = code_of(cp)
    checkpoints.rotate_code(session, coordinator, cp.id)
    for call in (checkins.preview, checkins.check_in):  # a replaced poster, both before and at the tap
        assert "replaced" in str(refused("invalid_code", call, session, volunteer, old).message)
    elsewhere = _elsewhere(session)
    refused("invalid_code", checkins.preview, session, elsewhere, code_of(cp))
    refused("invalid_code", checkins.preview, session, volunteer, "not a code at all")


def test_preview_of_an_event_code(session):
    volunteer = factories.user(session)
    row = event(session, title="反诈茶话会", points=10, starts_at=T0)
    code, _expires = codes.event_code(row.id, checkins.timeutil.utcnow())
    assert checkins.preview(session, volunteer, code) == {
        "kind": "event", "name": "反诈茶话会", "points": 10, "need_location": False, "where": "社区活动室"}
    elsewhere = _elsewhere(session)
    refused("invalid_code", checkins.preview, session, elsewhere, code)


def test_a_repeated_client_ref_answers_with_the_first_checkin(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, points=7, cooldown_minutes=0)
    first = checkins.check_in(session, volunteer, code_of(cp), now=T0, client_ref="tap-1")
    again = checkins.check_in(session, volunteer, code_of(cp), now=T0 + timedelta(seconds=1), client_ref="tap-1")
    assert not first.repeated and again.repeated
    assert again.checkin.id == first.checkin.id and (again.balance, again.place_name) == (7, cp.name)
    assert checkins.earlier_checkin_id(session, volunteer.id, "tap-1") == first.checkin.id
    other = checkins.check_in(session, volunteer, code_of(cp), now=T0 + timedelta(seconds=2), client_ref="tap-2")
    assert not other.repeated and other.balance == 14
    assert len(session.exec(select(Checkin).where(Checkin.user_id == volunteer.id)).all()) == 2


def test_inactive_checkpoint_is_invalid(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, active=False)
    error = refused("invalid_code", checkins.check_in, session, volunteer, code_of(cp), now=T0)
    assert "no longer in use" in str(error.message)


# -- cooldown ---------------------------------------------------------------------------------------

def test_cooldown_boundaries(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, cooldown_minutes=30)
    checkins.check_in(session, volunteer, code_of(cp), now=T0)
    error = refused("cooldown", checkins.check_in, session, volunteer, code_of(cp),
                    now=T0 + timedelta(minutes=30) - timedelta(microseconds=1))
    # T0 is 16:00 station time: the message names 16:30 in station time.
    assert error.details["retry_at"] == "2026-11-23T16:30:00+08:00"
    assert "16:30" in str(error.message)
    again = checkins.check_in(session, volunteer, code_of(cp), now=T0 + timedelta(minutes=30))
    assert again.balance == 10
    refused("cooldown", checkins.check_in, session, volunteer, code_of(cp), now=T0 + timedelta(minutes=31))


def test_cooldown_message_rounds_up_to_a_minute_it_is_allowed(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, cooldown_minutes=30)
    checkins.check_in(session, volunteer, code_of(cp), now=T0 + timedelta(seconds=20))
    error = refused("cooldown", checkins.check_in, session, volunteer, code_of(cp), now=T0 + timedelta(minutes=5))
    assert "16:31" in str(error.message)


def test_cooldown_is_per_person_and_per_checkpoint(session):
    one, two = factories.user(session), factories.user(session)
    a, b = checkpoint(session), checkpoint(session)
    checkins.check_in(session, one, code_of(a), now=T0)
    checkins.check_in(session, one, code_of(b), now=T0)
    checkins.check_in(session, two, code_of(a), now=T0)
    assert len(session.exec(select(Checkin)).all()) == 3


# -- geofence ---------------------------------------------------------------------------------------

def test_haversine_is_right():
    # One degree of latitude is 111.2 km on the mean sphere.
    assert geo.distance_m(30, 120, 31, 120) == pytest.approx(111_195, rel=1e-4)
    assert geo.distance_m(*HANGZHOU, *HANGZHOU) == 0


def test_geofence_edge(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, latitude=HANGZHOU[0], longitude=HANGZHOU[1], radius_m=150, cooldown_minutes=0)
    inside = north_of(*HANGZHOU, 149.5)
    assert checkins.check_in(session, volunteer, code_of(cp), latitude=inside[0], longitude=inside[1], now=T0)
    outside = north_of(*HANGZHOU, 151)
    error = refused("outside_geofence", checkins.check_in, session, volunteer, code_of(cp),
                    latitude=outside[0], longitude=outside[1], now=T0)
    assert "151 m" in str(error.message) and "150 m" in str(error.message)
    far = north_of(*HANGZHOU, 420.4)
    error = refused("outside_geofence", checkins.check_in, session, volunteer, code_of(cp),
                    latitude=far[0], longitude=far[1], now=T0)
    assert "You are 420 m from this checkpoint (limit 150 m)" in str(error.message)
    assert error.details["distance_m"] == 420


def test_position_required_and_missing(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, latitude=HANGZHOU[0], longitude=HANGZHOU[1], require_location=True)
    refused("outside_geofence", checkins.check_in, session, volunteer, code_of(cp), now=T0)
    assert checkins.check_in(session, volunteer, code_of(cp), latitude=HANGZHOU[0], longitude=HANGZHOU[1], now=T0)


def test_position_optional_is_still_checked_when_given(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, latitude=HANGZHOU[0], longitude=HANGZHOU[1], require_location=False)
    far = north_of(*HANGZHOU, 5000)
    refused("outside_geofence", checkins.check_in, session, volunteer, code_of(cp), latitude=far[0],
            longitude=far[1], now=T0)
    assert checkins.check_in(session, volunteer, code_of(cp), now=T0)


def test_half_a_position_is_a_field_error(session):
    volunteer = factories.user(session)
    cp = checkpoint(session)
    refused("validation_error", checkins.check_in, session, volunteer, code_of(cp), latitude=30.0, now=T0)


# -- events -----------------------------------------------------------------------------------------

def test_event_code_window_with_injected_clock(session):
    volunteer = factories.user(session)
    ev = event(session, starts_at=T0 + timedelta(hours=1), hours=2, points=10)
    opens = T0 + timedelta(minutes=30)
    early = opens - timedelta(seconds=1)
    code, _ = codes.event_code(ev.id, early)
    error = refused("event_closed", checkins.check_in, session, volunteer, code, now=early)
    assert error.details["opens_at"] == "2026-11-23T16:30:00+08:00"
    code, _ = codes.event_code(ev.id, opens)
    result = checkins.check_in(session, volunteer, URL + code, now=opens)
    assert (result.checkin.kind, result.checkin.event_id, result.balance) == ("event", ev.id, 10)
    refused("already_checked_in", checkins.check_in, session, volunteer, code, now=opens)
    late_user = factories.user(session)
    ends = ev.ends_at
    code, _ = codes.event_code(ev.id, ends)
    assert checkins.check_in(session, late_user, code, now=ends)
    after = ends + timedelta(seconds=1)
    code, _ = codes.event_code(ev.id, after)
    refused("event_closed", checkins.check_in, session, factories.user(session), code, now=after)


def test_event_code_current_previous_and_expired(session):
    ev = event(session, starts_at=T0, hours=3)
    code, expires_at = codes.event_code(ev.id, T0 + timedelta(seconds=5))
    assert expires_at == T0 + timedelta(seconds=30)
    assert checkins.check_in(session, factories.user(session), code, now=T0 + timedelta(seconds=29))
    assert checkins.check_in(session, factories.user(session), code, now=T0 + timedelta(seconds=59))  # previous
    error = refused("expired_code", checkins.check_in, session, factories.user(session), code,
                    now=T0 + timedelta(seconds=60))
    assert "scan the screen again" in str(error.message)
    refused("invalid_code", checkins.check_in, session, factories.user(session),
            f"E{ev.id}-000000" if not code.endswith("000000") else f"E{ev.id}-000001", now=T0)
    refused("invalid_code", checkins.check_in, session, factories.user(session), code.replace(f"E{ev.id}-", "E999-"),
            now=T0 + timedelta(seconds=5))


# -- ledger and statements --------------------------------------------------------------------------

def test_points_go_through_the_ledger(session):
    volunteer = factories.user(session)
    cp = checkpoint(session, points=5)
    result = checkins.check_in(session, volunteer, code_of(cp), now=T0)
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"checkin:{result.checkin.id}")).one()
    assert (entry.amount, entry.kind, entry.balance_after, entry.reason) == (5, "checkin", 5, cp.name)
    assert ledger.check_integrity(session) == [] and checkins.check_integrity(session) == []
    assert "first_checkin" in [badge.key for badge in result.badges]


def test_a_steady_state_check_in_takes_at_most_eleven_statements(app, session):
    """The whole check-in, badge rules and hours included: lock and load with the badge facts,
    the cooldown-guarded insert, the balance, the ledger entry, the period totals and the
    station's day (on PostgreSQL the last four are one statement), then the patrol outing it
    extends: its read, its new end, the person's minutes with the station's day (one
    statement on PostgreSQL), the person's day total of hours by kind and the person's teams
    (the station's and the teams' day totals are written at the commit). The person was
    active that day already: nothing to mark."""
    volunteer = factories.user(session)
    places = [checkpoint(session) for _ in range(3)]
    checkins.check_in(session, volunteer, code_of(places[0]), now=T0)  # earns the first badge
    session.commit()
    statements = []
    engine = app.extensions["db_engine"]

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            statements.append(statement)

    session.expunge_all()
    volunteer = session.get(User, volunteer.id)
    session.commit()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        result = checkins.check_in(session, volunteer, code_of(places[1]), now=T0 + timedelta(minutes=1))
        session.flush()
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert result.balance == 10 and result.badges == [] and result.service.minutes == 11
    assert len(statements) <= (8 if engine.dialect.name == "postgresql" else 11), "\n\n".join(statements)


def test_badges_earned_together_take_one_statement_and_their_notices_one_more(app, session):
    """A first patrol at night at the station's only checkpoint earns "first patrol", "night owl"
    and "every corner": one badge INSERT and one notice INSERT for them all, and each is there
    afterwards with its notice."""
    volunteer = factories.user(session)
    place = checkpoint(session)
    session.commit()
    statements = []
    engine = app.extensions["db_engine"]

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()[:3]).upper())

    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        result = checkins.check_in(session, volunteer, code_of(place), now=T0.replace(hour=15))  # 23:00 in China
        session.flush()
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert sorted(badge.key for badge in result.badges) == ["all_checkpoints", "first_checkin", "first_night"]
    assert statements.count("INSERT INTO USER_BADGES") == 1, statements
    assert statements.count("INSERT INTO NOTICES") == 1, statements
    notices = session.exec(select(Notice.title).where(Notice.user_id == volunteer.id)).all()
    names = [str(recognition.BADGES_BY_KEY[key].name) for key in ("first_checkin", "first_night", "all_checkpoints")]
    assert len(notices) == 3 and all(title.endswith(name) for title, name in zip(notices, names)), notices


def test_badges_count_the_check_in_being_made(session):
    """The badge facts are read with the lock, before the check-in is written, and count it in:
    the 10th patrol earns "10 patrols" (not the 11th), the first event check-in "first event",
    and the fourth week in a row "four weeks running"."""
    volunteer = factories.user(session)
    places = [checkpoint(session) for _ in range(11)]
    start = T0 - timedelta(weeks=3)
    earned = []
    for n, place in enumerate(places):
        at = start + timedelta(weeks=min(n, 3), minutes=n)
        earned.append({badge.key for badge in checkins.check_in(session, volunteer, code_of(place), now=at).badges})
    assert "first_checkin" in earned[0]
    assert [n for n, keys in enumerate(earned) if "four_weeks" in keys] == [3]
    assert [n for n, keys in enumerate(earned) if "patrols_10" in keys] == [9]
    ev = event(session, starts_at=T0)
    code, _ = codes.event_code(ev.id, T0 + timedelta(minutes=20))
    result = checkins.check_in(session, volunteer, code, now=T0 + timedelta(minutes=20))
    assert {badge.key for badge in result.badges} == {"first_event"}


# -- leader check-in --------------------------------------------------------------------------------

def test_leader_checks_in_a_member_without_a_phone(session):
    team = factories.team(session)
    leader = factories.coordinator(session, team)
    member = factories.user(session, team=team)
    ev = event(session, team=team, starts_at=T0)
    result = checkins.check_in_for(session, leader, user_id=member.id, event_id=ev.id, now=T0)
    assert (result.checkin.user_id, result.checkin.recorded_by_id, result.balance) == (member.id, leader.id, 10)
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "checkin.on_behalf")).one()
    assert (audit.actor_id, audit.target_id) == (leader.id, member.id)
    refused("already_checked_in", checkins.check_in_for, session, leader, user_id=member.id, event_id=ev.id, now=T0)


def test_leader_check_in_by_member_card(session):
    team = factories.team(session)
    leader = factories.coordinator(session, team)
    member = factories.user(session, team=team)
    cp = checkpoint(session, team=team, latitude=HANGZHOU[0], longitude=HANGZHOU[1], require_location=True)
    card, _ = codes.member_code(member.id, T0)
    result = checkins.check_in_for(session, leader, member_code=card, checkpoint_id=cp.id, now=T0)
    assert result.checkin.user_id == member.id and result.checkin.recorded_by_id == leader.id


def test_leader_check_in_authorization(session):
    team, other_team = factories.team(session), factories.team(session)
    leader = factories.coordinator(session, team)
    outsider = factories.user(session, team=other_team)
    volunteer = factories.user(session, team=team)
    ev = event(session, team=team, starts_at=T0)
    refused("forbidden", checkins.check_in_for, session, leader, user_id=outsider.id, event_id=ev.id, now=T0)
    refused("forbidden", checkins.check_in_for, session, volunteer, user_id=volunteer.id, event_id=ev.id, now=T0)
    foreign_event = event(session, team=other_team, starts_at=T0)
    member = factories.user(session, team=team)
    refused("forbidden", checkins.check_in_for, session, leader, user_id=member.id, event_id=foreign_event.id, now=T0)


def test_list_is_own_unless_coordinating(session):
    team = factories.team(session)
    leader = factories.coordinator(session, team)
    one, two = factories.user(session, team=team), factories.user(session)
    cp = checkpoint(session)
    checkins.check_in(session, one, code_of(cp), now=T0)
    assert [row.user_id for row, _name in checkins.list_for(session, one)] == [one.id]
    assert [name for _row, name in checkins.list_for(session, leader, user_id=one.id)] == [cp.name]
    refused("forbidden", checkins.list_for, session, two, user_id=one.id)


def test_gcj02_pairs_from_chinese_map_apps_convert_back_to_wgs84():
    import math
    wgs = (30.2590, 120.1500)  # by West Lake, Hangzhou
    gcj = checkpoints.wgs84_to_gcj02(*wgs)
    metres = math.hypot((gcj[0] - wgs[0]) * 111_320, (gcj[1] - wgs[1]) * 111_320 * math.cos(math.radians(wgs[0])))
    assert 200 < metres < 1000  # the offset a map app's pair carries
    back = checkpoints.gcj02_to_wgs84(*gcj)
    assert abs(back[0] - wgs[0]) < 1e-7 and abs(back[1] - wgs[1]) < 1e-7  # about a centimetre
    assert checkpoints.gcj02_to_wgs84(48.8566, 2.3522) == (48.8566, 2.3522)  # outside China: no shift
