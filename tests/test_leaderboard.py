"""Leaderboards: totals kept by the ledger, period edges in station time, ties, spending,
anonymity, teams, the shared cache and the totals check (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import select

from volunteer_app.models import LeaderboardCache, PointsTotal, User
from volunteer_app.services import accounts, ledger, recognition

from . import factories
from .conftest import arrange

CST = timezone(timedelta(hours=8))
#: "Anonymous volunteer" in English or in Chinese (the API speaks the station's language).
ANONYMOUS = ("Anonymous volunteer", "匿名志愿者")


def _board(session, viewer, period="month", team_id=None, now=None):
    return recognition.leaderboard(session, viewer, period, team_id, now=now)


def _ranks(board) -> list[tuple[int, int | None, int]]:
    return [(row["rank"], row["user_id"], row["points"]) for row in board["entries"]]


def test_a_checkin_at_2359_on_the_last_day_counts_in_that_month(session):
    user = factories.user(session)
    last_minute = datetime(2026, 11, 30, 23, 59, tzinfo=CST)  # 15:59 UTC
    ledger.post(session, user.id, 5, "checkin", "checkin:1", now=last_minute)
    ledger.post(session, user.id, 7, "checkin", "checkin:2", now=last_minute + timedelta(minutes=1))
    totals = {(row.period, row.period_start): row.points for row in
              session.exec(select(PointsTotal).where(PointsTotal.user_id == user.id))}
    assert totals[("month", date(2026, 11, 1))] == 5
    assert totals[("month", date(2026, 12, 1))] == 7
    assert totals[("day", date(2026, 11, 30))] == 5 and totals[("day", date(2026, 12, 1))] == 7
    assert totals[("week", date(2026, 11, 30))] == 12  # Monday 30 November to Sunday 6 December
    assert totals[("year", date(2026, 1, 1))] == 12
    november = _board(session, user, "month", now=last_minute)
    december = _board(session, user, "month", now=last_minute + timedelta(minutes=1))
    assert _ranks(november) == [(1, user.id, 5)] and november["period_start"] == "2026-11-01"
    assert _ranks(december) == [(1, user.id, 7)]


def test_year_and_week_edges_in_station_time(session):
    user = factories.user(session)
    sunday_night = datetime(2026, 12, 31, 23, 59, tzinfo=CST)  # a Thursday, the year's last minute
    ledger.post(session, user.id, 3, "event", "event:1", now=sunday_night)
    ledger.post(session, user.id, 4, "event", "event:2", now=sunday_night + timedelta(minutes=1))
    assert _board(session, user, "year", now=sunday_night)["me"] == {"rank": 1, "points": 3}
    assert _board(session, user, "year", now=sunday_night + timedelta(minutes=1))["me"] == {"rank": 1, "points": 4}
    assert _board(session, user, "week", now=sunday_night)["me"]["points"] == 7  # same week across New Year
    assert _board(session, user, "all", now=sunday_night)["me"]["points"] == 7


def test_ties_share_a_rank(session):
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    a, b, c, d = (factories.user(session) for _ in range(4))
    for person, points in ((a, 10), (b, 10), (c, 5), (d, 3)):
        ledger.post(session, person.id, points, "checkin", f"checkin:{person.id}", now=now)
    board = _board(session, c, now=now)
    assert [row["rank"] for row in board["entries"]] == [1, 1, 3, 4]
    assert {row["user_id"] for row in board["entries"][:2]} == {a.id, b.id}
    assert board["me"] == {"rank": 3, "points": 5}
    assert _board(session, b, now=now)["me"] == {"rank": 1, "points": 10}


def test_spending_and_negative_adjustments_do_not_move_a_rank(session):
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    a, b = factories.user(session), factories.user(session)
    ledger.post(session, a.id, 30, "shift", "shift:1:a", now=now)
    ledger.post(session, b.id, 20, "award", "award:1", now=now)
    before = _ranks(_board(session, a, now=now))
    ledger.post(session, a.id, -25, "redemption", "redemption:1", now=now + timedelta(hours=1))
    ledger.post(session, a.id, -5, "adjustment", "adjustment:1", now=now + timedelta(hours=1))
    ledger.post(session, a.id, 25, "refund", "refund:1", now=now + timedelta(hours=2))  # a refund earns nothing
    recognition.clear_cache(session)
    after = _board(session, a, now=now + timedelta(hours=3))
    assert _ranks(after) == before == [(1, a.id, 30), (2, b.id, 20)]
    for period in ("week", "month", "year", "all"):
        assert _board(session, a, period, now=now + timedelta(hours=3))["me"] == {"rank": 1, "points": 30}
    assert ledger.check_totals(session, now=now) == []


def test_anonymous_volunteer(session):
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    shy = factories.user(session, display_name="王秀英", leaderboard_anonymous=True)
    other = factories.user(session, display_name="李建国")
    ledger.post(session, shy.id, 9, "checkin", "checkin:1", now=now)
    ledger.post(session, other.id, 4, "checkin", "checkin:2", now=now)
    for viewer in (other, shy):
        board = _board(session, viewer, now=now)
        top = board["entries"][0]
        assert (top["user_id"], top["points"]) == (None, 9) and top["display_name"] in ANONYMOUS
        assert "王秀英" not in str(board)
    assert _board(session, shy, now=now)["entries"][0]["is_me"] is True
    # choosing anonymity takes effect at once, even with the board cached
    accounts.update_profile(session, other, leaderboard_anonymous=True)
    assert "李建国" not in str(_board(session, shy, now=now))


def test_disabled_accounts_leave_every_board_and_come_back_when_enabled(session):
    """Someone who left (disabled, or anonymised on request) is not on the station's board, a
    team's board, the teams' per-member ranking or in anyone's rank; enabled again, they are."""
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    admin = factories.admin(session)
    red = factories.team(session, "红袖章")
    gone, stays, third = (factories.user(session, team=red) for _ in range(3))
    for person, points in ((gone, 40), (stays, 20), (third, 10)):
        ledger.post(session, person.id, points, "checkin", f"checkin:{person.id}", now=now)
    accounts.disable(session, admin, gone.id)
    recognition.clear_cache(session)
    for period in ("week", "month", "year", "all"):
        for team_id in (None, red.id):
            board = _board(session, third, period, team_id, now=now)
            assert _ranks(board) == [(1, stays.id, 20), (2, third.id, 10)], (period, team_id)
            assert board["me"] == {"rank": 2, "points": 10}, (period, team_id)
    ranking = recognition.team_ranking(session, third, "month", now=now)
    assert [(row["name"], row["members"], row["per_member"]) for row in ranking] == [("红袖章", 2, 15.0)]
    assert ledger.check_totals(session, now=now) == []  # their points and totals are all still there
    accounts.enable(session, admin, gone.id)
    recognition.clear_cache(session)
    assert _board(session, third, "month", now=now)["me"] == {"rank": 3, "points": 10}
    assert _ranks(_board(session, third, "all", red.id, now=now))[0] == (1, gone.id, 40)


def test_team_boards_and_teams_ranked_per_member(session):
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    red, blue, empty = factories.team(session, "红袖章"), factories.team(session, "蓝马甲"), factories.team(session, "新队")
    r1, r2 = factories.user(session, team=red), factories.user(session, team=red)
    b1 = factories.user(session, team=blue)
    loner = factories.user(session)
    for person, points in ((r1, 10), (r2, 2), (b1, 8), (loner, 50)):
        ledger.post(session, person.id, points, "checkin", f"checkin:{person.id}", now=now)
    team_board = _board(session, r2, team_id=red.id, now=now)
    assert _ranks(team_board) == [(1, r1.id, 10), (2, r2.id, 2)] and team_board["me"] == {"rank": 2, "points": 2}
    assert _board(session, r2, "all", team_id=blue.id, now=now)["entries"][0]["user_id"] == b1.id
    ranking = recognition.team_ranking(session, r1, "month", now=now)
    assert [(row["name"], row["rank"], row["per_member"]) for row in ranking] == [
        ("蓝马甲", 1, 8.0), ("红袖章", 2, 6.0), ("新队", 3, 0.0)]
    other_station = factories.station(session)  # same station (factories reuse it): a missing team is 404
    try:
        _board(session, r1, team_id=999_999, now=now)
        raise AssertionError("no error")
    except Exception as error:  # noqa: BLE001
        assert getattr(error, "code", None) == "not_found", other_station


def test_team_ranking_cache_is_shared_and_follows_the_ledger(app):
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    with arrange(app) as s:
        red = factories.team(s, "红袖章")
        a = factories.user(s, team=red)
        ledger.post(s, a.id, 5, "checkin", "checkin:1", now=now)

    def points(at) -> int:
        with arrange(app, write=False) as s:  # a GET: a read transaction
            return recognition.team_ranking(s, a, "month", now=at)[0]["points"]

    assert points(now) == 5
    with arrange(app) as s:
        assert s.exec(select(LeaderboardCache)).first() is not None  # stored for every worker
        ledger.post(s, a.id, 4, "checkin", "checkin:2", now=now)
    later = now + timedelta(seconds=recognition.CACHE_FRESH_SECONDS + 1)
    assert points(now + timedelta(seconds=1)) == 5  # within a few seconds the cached ranking may be served
    assert points(later) == 9  # after that, a ledger that moved means a fresh ranking
    with arrange(app) as s:  # mark the stored ranking so that we can tell when it is served
        row = s.exec(select(LeaderboardCache).where(LeaderboardCache.key.like("teams:%"))).one()
        row.payload = row.payload.replace('"points": 9', '"points": 7')
        s.add(row)
    assert points(later + timedelta(seconds=30)) == 7  # the ledger has not moved: still valid
    assert points(later + timedelta(seconds=recognition.CACHE_MAX_SECONDS + 1)) == 9  # never older than that


def test_boards_are_never_stale(app):
    now = datetime(2026, 11, 10, 12, 0, tzinfo=CST)
    with arrange(app) as s:
        a, b = factories.user(s), factories.user(s)
        ledger.post(s, a.id, 5, "checkin", "checkin:1", now=now)
    with arrange(app, write=False) as s:
        assert _ranks(_board(s, a, now=now)) == [(1, a.id, 5)]
    with arrange(app) as s:
        ledger.post(s, b.id, 9, "checkin", "checkin:2", now=now)
    with arrange(app, write=False) as s:
        board = _board(s, a, now=now)
    assert _ranks(board) == [(1, b.id, 9), (2, a.id, 5)] and board["me"] == {"rank": 2, "points": 5}


def test_check_totals_finds_tampering(session):
    user = factories.user(session, balance=10)
    assert ledger.check_totals(session) == []
    row = session.exec(select(PointsTotal).where(PointsTotal.user_id == user.id, PointsTotal.period == "month")).one()
    row.points += 1
    session.add(row)
    session.flush()
    problems = ledger.check_totals(session)
    assert any("month totals add up to 11" in p for p in problems)
    assert any("month from" in p for p in problems)


def test_api_leaderboard(app, api):
    with arrange(app) as s:
        team = factories.team(s)
        a = factories.user(s, team=team, display_name="甲")
        b = factories.user(s, team=team, display_name="乙", leaderboard_anonymous=True)
        c = factories.user(s, display_name="丙")
        for person, points in ((a, 10), (b, 10), (c, 4)):
            ledger.post(s, person.id, points, "checkin", f"checkin:{person.id}")
        ledger.post(s, a.id, -8, "redemption", "redemption:1")
    answer = api.get("/api/v1/leaderboard?period=week", user=c)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["period"] == "week"
    rows = [(e["rank"], e["user_id"], e["display_name"], e["points"]) for e in body["entries"]]
    anonymous = [row for row in rows[:2] if row[1] is None]
    assert len(anonymous) == 1 and anonymous[0][2] in ANONYMOUS and anonymous[0][::3] == (1, 10)
    assert [row for row in rows[:2] if row[1] is not None] == [(1, a.id, "甲", 10)]
    assert rows[2:] == [(3, c.id, "丙", 4)]
    assert "乙" not in answer.get_data(as_text=True) and f'"user_id": {b.id}' not in answer.get_data(as_text=True)
    assert body["me"] == {"rank": 3, "points": 4}
    team_body = api.get(f"/api/v1/leaderboard?period=all&team_id={team.id}", user=c).get_json()
    assert [e["points"] for e in team_body["entries"]] == [10, 10] and team_body["me"] == {"rank": None, "points": 4}
    for bad in ("day", "decade", ""):
        problem = api.get(f"/api/v1/leaderboard?period={bad}", user=c)
        assert problem.status_code == 422 and problem.get_json()["code"] == "validation_error"
    assert api.get("/api/v1/leaderboard?team_id=abc", user=c).status_code == 422
    assert api.get("/api/v1/leaderboard?team_id=999999", user=c).status_code == 404
    assert api.get("/api/v1/leaderboard?period=month").status_code == 401
    default = api.get("/api/v1/leaderboard", user=a).get_json()
    assert default["period"] == "month" and default["me"] == {"rank": 1, "points": 10}
    with arrange(app) as s:
        assert s.get(User, a.id).balance == 2
