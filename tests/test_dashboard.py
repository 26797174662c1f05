"""Dashboard figures against the same figures computed from the raw rows; SVG well-formed; scopes."""
from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from volunteer_app.errors import DomainError
from volunteer_app.models import (Checkin, Checkpoint, LedgerEntry, ServiceRecord, Shift, ShiftSignup, StoreItem, TeamMembership,
                                  User)
from volunteer_app.services import dashboard, ledger, svg

from . import factories
from .conftest import sign_in

TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
#: Wednesday 2026-11-25 10:30 in station time.
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ).astimezone(UTC)
SVG = "{http://www.w3.org/2000/svg}"


def checkin(session, user, checkpoint, at, points=5):
    row = Checkin(user_id=user.id, kind="checkpoint", checkpoint_id=checkpoint.id, points_awarded=points,
                  created_at=at)
    session.add(row)
    session.flush()
    ledger.mark_active(session, user.id, at, session.get(User, user.id).last_active_on)  # as a check-in does
    ledger.post(session, user.id, points, "checkin", f"checkin:{row.id}", now=at, checkins=1)
    return row


def shift_with_signups(session, team, starts_at, hours, capacity, signups, cancelled=False):
    """``signups``: list of (user, status, minutes_completed or None)."""
    row = Shift(station_id=team.station_id, team_id=team.id, title="夜巡", starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours), capacity=capacity, cancelled=cancelled)
    session.add(row)
    session.flush()
    for seq, (user, status, minutes) in enumerate(signups):
        session.add(ShiftSignup(shift_id=row.id, user_id=user.id, status=status, seq=seq,
                                completed_at=(starts_at + timedelta(hours=hours)) if minutes else None,
                                minutes_credited=minutes or 0))
        if minutes:
            factories.service_record(session, user, starts_at, minutes, shift_row=row)
    session.flush()
    return row


@pytest.fixture
def world(session):
    """Three teams, a dozen volunteers (one in two teams), checkpoints, six weeks of check-ins,
    points spent and refunded, shifts with sign-ups, a pending registration, a low store item."""
    rng = random.Random(7)
    station = factories.station(session)
    teams = [factories.team(session, name=name) for name in ("西湖巡逻队", "调解队", "反诈队")]
    admin = factories.admin(session)
    coordinator = factories.coordinator(session, teams[0])
    volunteers = [factories.user(session, team=teams[n % 3], display_name=f"志愿者<{n}>&") for n in range(12)]
    factories.membership(session, teams[1], volunteers[0])  # in teams 0 and 1
    factories.user(session, status="pending", display_name="新人")
    outsider_station = factories.station(session)  # same station (factories reuse the first)
    assert outsider_station.id == station.id
    checkpoints = [Checkpoint(station_id=station.id, team_id=teams[0].id, name="湖滨<亭>&\x01"),
                   Checkpoint(station_id=station.id, team_id=teams[1].id, name="茶室"),
                   Checkpoint(station_id=station.id, team_id=None, name="警务亭"),
                   Checkpoint(station_id=station.id, team_id=teams[0].id, name="断桥"),
                   Checkpoint(station_id=station.id, team_id=teams[2].id, name="从未巡查")]
    session.add_all(checkpoints)
    session.flush()
    for _ in range(400):
        user = rng.choice(volunteers)
        at = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 45))
        cp = rng.choice(checkpoints[:3])  # 断桥 only long ago, 从未巡查 never
        checkin(session, user, cp, at)
    checkin(session, volunteers[0], checkpoints[3], NOW - timedelta(days=3))
    talk = factories.event(session, team=teams[2], title="反诈讲座", starts_at=NOW - timedelta(hours=3))
    for n in (4, 5, 7):  # at an event, not a checkpoint
        at = NOW - timedelta(hours=3, minutes=-n)
        session.add(Checkin(user_id=volunteers[n].id, kind="event", event_id=talk.id, points_awarded=10, created_at=at))
        ledger.mark_active(session, volunteers[n].id, at, session.get(User, volunteers[n].id).last_active_on)
        ledger.post(session, volunteers[n].id, 10, "event", f"event:{talk.id}:{n}", now=at, checkins=1)
    checkin(session, volunteers[3], checkpoints[0], NOW - timedelta(minutes=1))
    for user in volunteers:  # spending and refunds
        for _ in range(3):
            at = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 40))
            amount = rng.randrange(1, 6)
            entry = ledger.post(session, user.id, -amount, "redemption", f"redemption:{user.id}:{at.timestamp()}", now=at)
            if rng.random() < 0.3:
                ledger.post(session, user.id, amount, "refund", f"refund:{entry.id}",
                            now=min(at + timedelta(minutes=5), NOW))
    ledger.post(session, volunteers[1].id, 7, "award", "award:test", now=NOW - timedelta(hours=2))
    ledger.post(session, volunteers[3].id, -4, "redemption", "redemption:today", now=NOW - timedelta(hours=1))
    today = NOW.astimezone(TZ).replace(hour=8, minute=0).astimezone(UTC)
    shift_with_signups(session, teams[0], today, 2, 3, [(volunteers[0], "confirmed", 120),
                                                        (volunteers[3], "confirmed", None),
                                                        (volunteers[6], "waitlisted", None)])
    shift_with_signups(session, teams[0], today - timedelta(days=1), 4, 2,
                       [(volunteers[3], "confirmed", 240), (volunteers[9], "no_show", None)])
    shift_with_signups(session, teams[1], today - timedelta(days=2), 3, 5, [(volunteers[1], "confirmed", 180)])
    shift_with_signups(session, teams[0], today, 2, 9, [(volunteers[0], "cancelled", None)], cancelled=True)
    shift_with_signups(session, teams[2], today - timedelta(days=9), 3, 4, [(volunteers[2], "confirmed", 180)])
    session.add(StoreItem(station_id=station.id, name="帽子", cost=10, stock=2, low_stock_threshold=3))
    session.add(StoreItem(station_id=station.id, name="水杯", cost=10, stock=20, low_stock_threshold=3))
    session.commit()
    return {"station": station, "teams": teams, "admin": admin, "coordinator": coordinator,
            "volunteers": volunteers, "checkpoints": checkpoints}


# -- the same figures from the raw rows ----------------------------------------------------------

def raw_members(session, team_ids):
    if team_ids is None:
        return {user.id for user in session.exec(select(User))}
    return {m.user_id for m in session.exec(select(TeamMembership)) if m.team_id in team_ids}


def raw_figures(session, team_ids, start, end):
    members = raw_members(session, team_ids)
    checkins = [c for c in session.exec(select(Checkin)) if c.user_id in members and start <= c.created_at < end]
    entries = [e for e in session.exec(select(LedgerEntry)) if e.user_id in members and start <= e.created_at < end]
    shifts = [s for s in session.exec(select(Shift)) if start <= s.starts_at < end and not s.cancelled
              and (team_ids is None or s.team_id in team_ids)]
    shift_ids = {s.id for s in shifts}
    signups = [u for u in session.exec(select(ShiftSignup)) if u.shift_id in shift_ids]
    minutes = sum(r.minutes for r in session.exec(select(ServiceRecord))
                  if r.user_id in members and r.status == "confirmed" and start <= r.started_at < end)
    return {
        "checkins": len(checkins),
        "active_volunteers": len({c.user_id for c in checkins}),
        "hours_served": round(minutes / 60, 1),
        "shifts_confirmed": sum(1 for u in signups if u.status in ("confirmed", "no_show")),
        "shifts_capacity": sum(s.capacity for s in shifts),
        "points_issued": sum(e.amount for e in entries if e.earned),
        "points_redeemed": -sum(e.amount for e in entries if e.kind in ("redemption", "refund")),
    }


def local_midnight(day):
    return datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)


def fig_dict(figures):
    return {key: getattr(figures, key) for key in ("checkins", "active_volunteers", "hours_served",
                                                    "shifts_confirmed", "shifts_capacity", "points_issued",
                                                    "points_redeemed")}


@pytest.mark.parametrize("who", ["admin", "coordinator"])
def test_figures_equal_raw_rows(app, session, world, who):
    actor = world[who]
    team_ids = None if who == "admin" else {world["teams"][0].id}
    board = dashboard.build(session, actor, now=NOW)
    today = NOW.astimezone(TZ).date()
    day_start = local_midnight(today)
    week_start = local_midnight(today - timedelta(days=today.weekday()))
    end = NOW + timedelta(microseconds=1)
    expected_today = raw_figures(session, team_ids, day_start, end)
    expected_week = raw_figures(session, team_ids, week_start, end)
    assert fig_dict(board.today) == expected_today
    assert fig_dict(board.week) == expected_week
    assert expected_week["checkins"] > expected_today["checkins"] > 0
    assert expected_week["points_redeemed"] > 0 and expected_week["hours_served"] > 0
    assert board.counters.pending_approvals == 1
    assert [item.name for item in board.low_stock] == ["帽子"]


@pytest.mark.parametrize("who", ["admin", "coordinator"])
def test_heatmap_and_flow_equal_raw_rows(app, session, world, who):
    """A team's from its people's rows; the whole station's from its day sums, checkpoints and
    events: the same figures."""
    actor = world[who]
    members = raw_members(session, None if who == "admin" else {world["teams"][0].id})
    board = dashboard.build(session, actor, now=NOW)
    first_day = NOW.astimezone(TZ).date() - timedelta(days=27)
    grid = [[0] * 7 for _ in range(24)]
    for c in session.exec(select(Checkin)):
        moment = c.created_at.astimezone(TZ)
        if c.user_id in members and moment.date() >= first_day and c.created_at <= NOW:
            grid[moment.hour][moment.weekday()] += 1
    assert board.heatmap == grid
    assert sum(map(sum, grid)) > 50

    monday = NOW.astimezone(TZ).date() - timedelta(days=NOW.astimezone(TZ).weekday())
    for back, week in enumerate(reversed(board.flow)):
        start = local_midnight(monday - timedelta(weeks=back))
        stop = local_midnight(monday - timedelta(weeks=back - 1))
        entries = [e for e in session.exec(select(LedgerEntry))
                   if e.user_id in members and start <= e.created_at < stop and e.created_at <= NOW]
        assert week.start == start
        assert week.issued == sum(e.amount for e in entries if e.earned)
        assert week.redeemed == -sum(e.amount for e in entries if e.kind in ("redemption", "refund"))
    assert len(board.flow) == 8 and sum(w.issued for w in board.flow) > 0


def test_coverage_last_scan_and_stale(app, session, world):
    board = dashboard.build(session, world["admin"], now=NOW)
    by_name = {row.checkpoint.name: row for row in board.coverage}
    assert set(by_name) == {cp.name for cp in world["checkpoints"]}
    for cp in world["checkpoints"]:
        scans = [c.created_at for c in session.exec(select(Checkin).where(Checkin.checkpoint_id == cp.id))]
        row = by_name[cp.name]
        assert row.last_scan == (max(scans) if scans else None)
        assert row.scans == sum(1 for at in scans if at >= NOW - timedelta(days=7))
        assert row.stale == (not scans or max(scans) < NOW - timedelta(hours=24))
    assert by_name["断桥"].stale and by_name["从未巡查"].stale and not by_name["茶室"].stale
    assert [row.stale for row in board.coverage] == sorted((row.stale for row in board.coverage), reverse=True)
    # a coordinator sees their team's checkpoints and the station-wide ones only
    mine = dashboard.build(session, world["coordinator"], now=NOW)
    assert {row.checkpoint.name for row in mine.coverage} == {"湖滨<亭>&\x01", "警务亭", "断桥"}


def test_svgs_are_well_formed_and_escape_names(app, session, world):
    from volunteer_app.web.pages.dashboard import plots

    with app.test_request_context():
        board = dashboard.build(session, world["admin"], now=NOW)
        drawn = plots(board)
    for name, markup in drawn.items():
        root = ET.fromstring(str(markup))
        assert root.tag == f"{SVG}svg", name
        assert root.find(f"{SVG}title").text
        assert "style" not in {key for element in root.iter() for key in element.attrib}
    texts = [element.text for element in ET.fromstring(str(drawn["coverage"])).iter(f"{SVG}text")]
    assert "湖滨<亭>&" in texts  # escaped on the way out, intact on the way back, control char gone
    assert sum(1 for text in texts if text and text.startswith("⚠ ")) == 2  # 断桥 and 从未巡查, said in words
    heat = ET.fromstring(str(drawn["heatmap"]))
    assert len([r for r in heat.iter(f"{SVG}rect")]) == 24 * 7


def test_svg_builder_rejects_nothing_a_user_can_type():
    nasty = "</text><script>alert(1)</script>\"'&\x00\x1f\ufffe名"
    canvas = svg.coverage([svg.CoverageRow(nasty, 3, "", True)], nasty, nasty, nasty, nasty)
    root = ET.fromstring(canvas.to_string())
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert root.find(f"{SVG}title").text == "</text><script>alert(1)</script>\"'&名"


def test_scopes_refuse_volunteers_and_foreign_teams(app, session, world):
    with pytest.raises(DomainError) as error:
        dashboard.build(session, world["volunteers"][0], now=NOW)
    assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        dashboard.build(session, world["coordinator"], team_id=world["teams"][1].id, now=NOW)
    assert error.value.code == "forbidden"
    board = dashboard.build(session, world["admin"], team_id=world["teams"][1].id, now=NOW)
    assert board.scope.team_ids == {world["teams"][1].id}


def test_dashboard_page(app, client, session, world):
    sign_in(client, world["coordinator"])
    page = client.get("/manage/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'style="' not in html
    assert "湖滨&lt;亭&gt;&amp;" in html
    assert client.get(f"/manage/dashboard?team={world['teams'][1].id}").status_code == 403
    partial = client.get(f"/manage/dashboard?team={world['teams'][0].id}", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)


def test_dashboard_page_refuses_volunteers(app, client, session, world):
    sign_in(client, world["volunteers"][0])
    assert client.get("/manage/dashboard").status_code == 403


def test_row_by_row_path_agrees_with_hour_buckets(app, session, world, monkeypatch):
    """Zones with half-hour offsets read rows one by one; both ways give the same plots."""
    grouped = dashboard.build(session, world["admin"], now=NOW)
    monkeypatch.setattr(dashboard, "_whole_hour_zone", lambda now: False)
    rowwise = dashboard.build(session, world["admin"], now=NOW)
    assert rowwise.heatmap == grouped.heatmap and sum(map(sum, grouped.heatmap)) > 100
    assert rowwise.flow == grouped.flow


def test_overdue_tips_and_understaffed_shifts_come_first(app, client, session, world):
    from volunteer_app.services import tips
    team, volunteers, coordinator = world["teams"][0], world["volunteers"], world["coordinator"]
    now = datetime.now(UTC)
    soon = shift_with_signups(session, team, now + timedelta(hours=5), 2, 3, [(volunteers[0], "confirmed", None)])
    shift_with_signups(session, team, now + timedelta(hours=6), 2, 1, [(volunteers[3], "confirmed", None)])  # full
    shift_with_signups(session, team, now + timedelta(hours=30), 2, 3, [])  # not within 24 h
    shift_with_signups(session, team, now + timedelta(hours=4), 2, 3, [], cancelled=True)
    late = factories.tip(session, volunteers[0])
    untrue = factories.tip(session, volunteers[0])
    fresh = factories.tip(session, volunteers[0])
    for tip in (late, untrue):
        tips.triage(session, coordinator, tip.id, level="blue", now=now - timedelta(days=20))
    tips.triage(session, coordinator, fresh.id, level="blue", now=now)
    tips.review(session, coordinator, untrue.id, valid=False, note="查无此事")
    session.commit()
    sign_in(client, coordinator)
    html = client.get("/manage/dashboard").get_data(as_text=True)
    assert html.index('class="alerts"') < html.index('id="h-figures"') < html.index('id="h-heat"')
    assert f'/shifts/{soon.id}"' in html
    cover = html[html.index('id="h-cover"'):html.index('id="h-flow"')]
    assert cover.index("<details") < cover.index("<table") < cover.index("</details>")  # folded under the chart
    board = dashboard.build(session, coordinator, now=now)
    assert board.counters.overdue_tips == 1
    assert [(shift.id, confirmed) for shift, confirmed in board.understaffed] == [(soon.id, 1)]


@pytest.mark.parametrize("who", ["admin", "coordinator"])
def test_the_dashboard_reads_each_source_once(app, session, world, who):
    """Today's and the week's figures come from one read of each source, the points of the
    eight weeks from one, and the station's counters from one: the whole page's statements are
    bounded, whatever the periods."""
    engine = app.extensions["db_engine"]
    statements = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            statements.append(statement)

    actor = world[who]
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        dashboard.build(session, actor, now=NOW)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 16, "\n\n".join(statements)
