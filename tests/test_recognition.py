"""Badges by rule at their thresholds, once under parallel deeds, and awards (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from volunteer_app import db, timeutil
from volunteer_app.errors import DomainError
from volunteer_app.models import (Award, Checkin, Checkpoint, Event, LedgerEntry, Notice, Shift, ShiftSignup, Station, User,
                                  UserBadge)
from volunteer_app.services import recognition

from . import factories
from .conftest import arrange, at_once, outcomes

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=CST)


def _checkpoint(session, station, name=None, active=True) -> Checkpoint:
    row = Checkpoint(station_id=station.id, name=name or "湖滨路口", active=active)
    session.add(row)
    session.flush()
    return row


def _event(session, station) -> Event:
    row = Event(station_id=station.id, title="反诈宣传", starts_at=NOW, ends_at=NOW + timedelta(hours=2))
    session.add(row)
    session.flush()
    return row


def _checkin(session, user, *, checkpoint=None, event=None, at=NOW) -> Checkin:
    row = Checkin(user_id=user.id, kind="event" if event else "checkpoint",
                  checkpoint_id=checkpoint.id if checkpoint else None, event_id=event.id if event else None,
                  created_at=at)
    session.add(row)
    session.flush()
    return row


def _keys(session, user) -> set[str]:
    return set(session.exec(select(UserBadge.key).where(UserBadge.user_id == user.id)))


def _deed(session, user, **kwargs) -> set[str]:
    """Record a check-in and run the hook, as the check-in service does."""
    row = _checkin(session, user, **kwargs)
    return {badge.key for badge in recognition.after_checkin(session, user.id, row, row.created_at)}


def test_first_checkin_earns_one_badge_with_a_notice(session, station):
    user = factories.user(session)
    point = _checkpoint(session, station)
    assert _deed(session, user, checkpoint=point) >= {"first_checkin"}
    assert "first_checkin" not in _deed(session, user, checkpoint=point, at=NOW + timedelta(hours=1))
    notes = list(session.exec(select(Notice).where(Notice.user_id == user.id, Notice.kind == "badge")))
    assert len([n for n in notes if "First patrol" in n.title]) == 1


@pytest.mark.parametrize("count,key", [(10, "patrols_10"), (50, "patrols_50"), (100, "patrols_100")])
def test_patrol_badges_at_their_threshold(session, station, count, key):
    user = factories.user(session)
    point = _checkpoint(session, station)
    session.add_all([Checkin(user_id=user.id, kind="checkpoint", checkpoint_id=point.id,
                             created_at=NOW - timedelta(hours=i + 2)) for i in range(count - 2)])
    session.flush()
    assert key not in _deed(session, user, checkpoint=point, at=NOW - timedelta(minutes=30))  # count - 1
    assert key in _deed(session, user, checkpoint=point)  # count
    event = _event(session, station)
    assert "first_event" in _deed(session, user, event=event)


def test_event_checkins_do_not_count_as_patrols(session, station):
    user = factories.user(session)
    session.add_all([Checkin(user_id=user.id, kind="event", event_id=None, created_at=NOW - timedelta(days=i))
                     for i in range(1, 10)])
    session.flush()
    event = _event(session, station)
    earned = _deed(session, user, event=event)
    assert {"first_event", "events_10"} <= earned and "patrols_10" not in earned


def test_night_owl_only_between_22_and_6(session, station):
    user = factories.user(session)
    point = _checkpoint(session, station)
    assert "first_night" not in _deed(session, user, checkpoint=point, at=datetime(2026, 11, 23, 21, 59, tzinfo=CST))
    assert "first_night" in _deed(session, user, checkpoint=point, at=datetime(2026, 11, 23, 22, 0, tzinfo=CST))


def test_every_checkpoint_of_the_station(session, station):
    user = factories.user(session)
    points = [_checkpoint(session, station, f"点{i}") for i in range(3)]
    _checkpoint(session, station, "停用点", active=False)
    assert "all_checkpoints" not in _deed(session, user, checkpoint=points[0])
    assert "all_checkpoints" not in _deed(session, user, checkpoint=points[1], at=NOW + timedelta(hours=1))
    assert "all_checkpoints" not in _deed(session, user, checkpoint=points[1], at=NOW + timedelta(hours=2))
    assert "all_checkpoints" in _deed(session, user, checkpoint=points[2], at=NOW + timedelta(hours=3))


def test_four_weeks_running(session, station):
    user = factories.user(session)
    point = _checkpoint(session, station)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=CST)  # a Monday
    # weeks -3 and -1 and this one: a gap at week -2
    for weeks in (3, 1):
        _checkin(session, user, checkpoint=point, at=monday - timedelta(weeks=weeks) + timedelta(days=6, hours=14))
    assert "four_weeks" not in _deed(session, user, checkpoint=point, at=monday)
    # Sunday 23:30 of week -2 (station time) fills the gap
    _checkin(session, user, checkpoint=point, at=monday - timedelta(weeks=1, hours=9, minutes=30))
    assert "four_weeks" in _deed(session, user, checkpoint=point, at=monday + timedelta(hours=1))


@pytest.mark.parametrize("hours,key", [(24, "hours_24"), (100, "hours_100"), (500, "hours_500")])
def test_hour_badges_at_their_threshold(session, hours, key):
    user = factories.user(session, minutes_served=hours * 60 - 1)
    team = factories.team(session)
    shift = Shift(station_id=user.station_id, team_id=team.id, title="巡逻", starts_at=NOW,
                  ends_at=NOW + timedelta(hours=1))
    session.add(shift)
    session.flush()
    earned = {b.key for b in recognition.after_shift_completed(session, user.id, shift, None, NOW)}
    assert "first_shift" in earned and key not in earned
    user.minutes_served += 1
    session.add(user)
    session.flush()
    assert key in {b.key for b in recognition.after_shift_completed(session, user.id, shift, None, NOW)}


def test_ten_night_shifts(session):
    user = factories.user(session)
    team = factories.team(session)

    def shift(day: int, hour: int, hours: int = 4, completed: bool = True) -> Shift:
        start = datetime(2026, 10, day, hour, 0, tzinfo=CST)
        row = Shift(station_id=user.station_id, team_id=team.id, title="夜巡", starts_at=start,
                    ends_at=start + timedelta(hours=hours))
        session.add(row)
        session.flush()
        session.add(ShiftSignup(shift_id=row.id, user_id=user.id, completed_at=start if completed else None))
        session.flush()
        return row

    for day in range(1, 10):
        last = shift(day, 22)  # 22:00-02:00: night
    shift(11, 9)  # a day shift
    shift(12, 22, completed=False)  # not completed
    assert "night_shifts_10" not in {b.key for b in recognition.after_shift_completed(session, user.id, last)}
    last = shift(13, 2, hours=3)  # 02:00-05:00: night
    assert "night_shifts_10" in {b.key for b in recognition.after_shift_completed(session, user.id, last)}


def test_night_minutes_cross_midnight():
    start = datetime(2026, 11, 23, 20, 0, tzinfo=CST)
    assert timeutil.night_minutes(start, start + timedelta(hours=12)) == 8 * 60
    assert timeutil.night_minutes(start, start + timedelta(hours=2)) == 0
    assert not recognition.is_night_shift(start, start + timedelta(hours=2, minutes=59))
    assert recognition.is_night_shift(start, start + timedelta(hours=3))


def test_a_badge_is_never_given_twice_under_parallel_deeds(app):
    with arrange(app) as s:
        user = factories.user(s)
        point = _checkpoint(s, factories.station(s))
        user_id, point_id = user.id, point.id

    def deed(i: int, meet):
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
            row = Checkin(user_id=user_id, kind="checkpoint", checkpoint_id=point_id,
                          created_at=NOW + timedelta(minutes=i))
            s.add(row)
            meet()
            s.flush()
            recognition.after_checkin(s, user_id, row, row.created_at)

    assert outcomes(at_once([lambda meet, i=i: deed(i, meet) for i in range(6)], meet_inside=True)) == ["ok"] * 6
    with arrange(app) as s:
        keys = list(s.exec(select(UserBadge.key).where(UserBadge.user_id == user_id)))
        assert keys.count("first_checkin") == 1
        assert len(list(s.exec(select(Checkin.id).where(Checkin.user_id == user_id)))) == 6
        notes = list(s.exec(select(Notice.title).where(Notice.user_id == user_id, Notice.kind == "badge")))
        assert len(notes) == len(keys)


# -- awards ---------------------------------------------------------------------------------------

def test_award_posts_points_notifies_person_and_team_and_earns_a_badge(session):
    team = factories.team(session)
    coordinator = factories.coordinator(session, team)
    person = factories.user(session, team=team)
    mate = factories.user(session, team=team)
    award = recognition.grant_award(session, coordinator, user_id=person.id, template_key="builtin:monthly_star",
                                    note="十一月巡逻 40 小时")
    assert (award.title, award.points) == ("月度之星", 50)
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"award:{award.id}")).one()
    assert (entry.kind, entry.amount, entry.user_id) == ("award", 50, person.id)
    session.refresh(person)
    assert person.lifetime_points == 50
    assert session.exec(select(Notice).where(Notice.user_id == person.id, Notice.kind == "award")).first()
    assert session.exec(select(Notice).where(Notice.user_id == mate.id, Notice.kind == "team_award")).first()
    assert "first_award" in _keys(session, person)


def test_award_with_zero_points_has_no_entry_and_rules_hold(session):
    team = factories.team(session)
    coordinator = factories.coordinator(session, team)
    person = factories.user(session, team=team)
    outsider = factories.user(session)
    award = recognition.grant_award(session, coordinator, user_id=person.id, title="巡逻能手", points=0)
    assert session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"award:{award.id}")).first() is None
    with pytest.raises(Exception) as refused:
        recognition.grant_award(session, coordinator, user_id=outsider.id, title="x", points=1)
    assert refused.value.code == "forbidden"
    with pytest.raises(Exception) as refused:
        recognition.grant_award(session, person, user_id=person.id, title="x", points=1)
    assert refused.value.code == "forbidden"
    with pytest.raises(Exception) as refused:
        recognition.grant_award(session, coordinator, user_id=person.id, title="  ", points=1)
    assert refused.value.code == "validation_error"


def test_station_templates(session):
    admin = factories.admin(session)
    row = recognition.create_template(session, admin, title="护学岗之星", default_points=20)
    keys = [item["key"] for item in recognition.templates(session, admin.station_id)]
    assert keys[:4] == [t["key"] for t in recognition.BUILTIN_TEMPLATES] and keys[-1] == f"own:{row.id}"
    with pytest.raises(Exception) as refused:
        recognition.create_template(session, admin, title="月度之星")
    assert refused.value.code == "validation_error"


# -- API ------------------------------------------------------------------------------------------

def test_api_award_and_badges(app, api):
    with arrange(app) as s:
        team = factories.team(s)
        coordinator = factories.coordinator(s, team)
        person = factories.user(s, team=team)
        other_team = factories.team(s)
        other_coordinator = factories.coordinator(s, other_team)
    body = {"user_id": person.id, "title": "金牌调解员", "points": 30, "note": "调解邻里纠纷 12 起"}
    answer = api.post("/api/v1/awards", json=body, user=coordinator)
    assert answer.status_code == 201, answer.get_json()
    award = answer.get_json()
    assert award["points"] == 30 and award["certificate_url"].endswith(f"/awards/{award['id']}/certificate")
    ledger_page = api.get(f"/api/v1/users/{person.id}/ledger", user=person)
    if ledger_page.status_code == 200:
        assert any(e["ref"] == f"award:{award['id']}" and e["kind"] == "award" for e in ledger_page.get_json()["entries"])
    assert api.post("/api/v1/awards", json=body, user=other_coordinator).status_code == 403
    assert api.post("/api/v1/awards", json=body, user=person).status_code == 403
    assert api.post("/api/v1/awards", json={**body, "points": -1}, user=coordinator).status_code == 422
    assert api.post("/api/v1/awards", json={**body, "title": ""}, user=coordinator).status_code == 422
    assert api.post("/api/v1/awards", json={**body, "user_id": 99999}, user=coordinator).status_code == 404
    assert api.post("/api/v1/awards", json=body).status_code == 401
    badges = api.get(f"/api/v1/users/{person.id}/badges", user=other_coordinator).get_json()["badges"]
    assert [b["key"] for b in badges] == ["first_award"] and badges[0]["earned_at"]
    fresh = api.get(f"/api/v1/users/{coordinator.id}/badges", user=person)
    assert fresh.status_code == 200 and fresh.get_json() == {"badges": []}
    assert api.get("/api/v1/users/99999/badges", user=person).status_code == 404


def test_api_award_client_ref_is_idempotent(app, api):
    with arrange(app) as s:
        admin = factories.admin(s)
        person = factories.user(s)
    body = {"user_id": person.id, "title": "反诈先锋", "points": 10, "client_ref": "grant-1"}
    first = api.post("/api/v1/awards", json=body, user=admin)
    again = api.post("/api/v1/awards", json=body, user=admin)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]
    with arrange(app) as s:
        assert len(list(s.exec(select(Award).where(Award.user_id == person.id)))) == 1
        assert s.get(User, person.id).balance == 10


def test_award_picker_finds_by_name_username_or_member_number_within_the_coordinators_teams(app):
    with arrange(app) as s:
        east, west, elsewhere = factories.team(s, "东巡逻队"), factories.team(s, "西巡逻队"), factories.team(s, "南巡逻队")
        coord = factories.coordinator(s, east, display_name="罗队长")
        factories.membership(s, west, coord, "coordinator")
        one = factories.user(s, team=east, display_name="罗静", username="luojing1")
        two = factories.user(s, team=west, display_name="罗静", username="luojing_w")
        factories.membership(s, east, two)
        factories.user(s, team=elsewhere, display_name="罗静", username="luojing_s")  # not the coordinator's team
        factories.user(s, team=east, display_name="罗静", status="pending")  # not yet approved
        factories.user(s, display_name="罗静")  # in no team
        far = Station(name="远方派出所")
        s.add(far)
        s.flush()
        factories.user(s, display_name="罗静", station_row=far, team=factories.team(s, "远方队", station_row=far))
        admin = factories.admin(s)

        people, more = recognition.search_candidates(s, coord, "罗静")
        assert [(p["id"], p["teams"]) for p in people] == [(one.id, ["东巡逻队"]), (two.id, ["东巡逻队", "西巡逻队"])]
        assert not more
        assert [p["id"] for p in recognition.search_candidates(s, coord, "LUOJING_W")[0]] == [two.id]
        assert [p["id"] for p in recognition.search_candidates(s, coord, str(two.id))[0]][0] == two.id
        assert [p["id"] for p in recognition.search_candidates(s, coord, f"{one.id}-123456")[0]][0] == one.id
        assert recognition.search_candidates(s, coord, "罗队长") == ([], False)  # never oneself
        assert recognition.search_candidates(s, coord, "") == ([], False)
        assert recognition.search_candidates(s, coord, "%") == ([], False)  # a wildcard is a character
        # An admin: anyone active of the station (not another station's, not the pending one).
        assert len(recognition.search_candidates(s, admin, "罗静")[0]) == 4
        assert recognition.candidate(s, coord, two.id)["teams"] == ["东巡逻队", "西巡逻队"]
        assert recognition.candidate(s, coord, admin.id) is None
        with pytest.raises(DomainError) as refused:
            recognition.search_candidates(s, one, "罗")
        assert refused.value.code == "forbidden"


def test_award_picker_lists_a_limited_number(app):
    with arrange(app) as s:
        team = factories.team(s)
        coord = factories.coordinator(s, team)
        for number in range(5):
            factories.user(s, team=team, display_name=f"王{number}")
        people, more = recognition.search_candidates(s, coord, "王", limit=3)
        assert [p["display_name"] for p in people] == ["王0", "王1", "王2"] and more
        assert len(recognition.search_candidates(s, coord, "王", limit=5)[0]) == 5
        assert not recognition.search_candidates(s, coord, "王", limit=5)[1]
