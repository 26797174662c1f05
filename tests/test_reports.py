"""Reports and exports: CSV for Excel (BOM, Chinese intact), streaming with bounded memory,
service hours against raw rows, the certificate, and who may download what."""
from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from volunteer_app.errors import DomainError
from volunteer_app.models import Checkin, Checkpoint, LedgerEntry, Shift, ShiftSignup
from volunteer_app.services import ledger, reports

from . import factories
from .conftest import sign_in

TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
BOM = b"\xef\xbb\xbf"


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.fixture
def people(session):
    team_a, team_b = factories.team(session, name="西湖红袖章巡逻队"), factories.team(session, name="老兵调解队")
    data = {
        "team_a": team_a, "team_b": team_b,
        "admin": factories.admin(session),
        "coord_a": factories.coordinator(session, team_a),
        "alice": factories.user(session, team=team_a, display_name="王秀英", username="alice"),
        "bob": factories.user(session, team=team_b, display_name="李建国", username="bob"),
        "clerk": factories.user(session, roles="clerk"),
    }
    cp = Checkpoint(station_id=team_a.station_id, team_id=team_a.id, name="湖滨公园北门")
    session.add(cp)
    session.flush()
    data["checkpoint"] = cp
    session.commit()
    return data


def add_checkin(session, user, checkpoint, at, points=5):
    row = Checkin(user_id=user.id, kind="checkpoint", checkpoint_id=checkpoint.id, points_awarded=points,
                  created_at=at)
    session.add(row)
    session.flush()
    ledger.post(session, user.id, points, "checkin", f"checkin:{row.id}", reason="巡逻签到：湖滨", now=at)
    return row


def test_ledger_csv_opens_with_csv_module_and_keeps_chinese(app, client, session, people):
    now = datetime.now(UTC)
    add_checkin(session, people["alice"], people["checkpoint"], now - timedelta(hours=1))
    ledger.post(session, people["alice"].id, 3, "adjustment", "adj:1", reason="=HYPERLINK(\"x\") 补记", now=now)
    session.commit()
    sign_in(client, people["coord_a"])
    response = client.get("/reports/ledger.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert len(rows) == 3
    body = {row[0]: row for row in rows[1:]}
    assert {row[4] for row in rows[1:]} == {"王秀英"}
    assert any(row[8] == "巡逻签到：湖滨" for row in rows[1:])
    assert any(row[8] == "'=HYPERLINK(\"x\") 补记" for row in rows[1:])  # no formula in Excel
    assert sorted(int(row[6]) for row in body.values()) == [3, 5]


def test_checkin_csv(app, client, session, people):
    at = datetime(2026, 11, 20, 23, 59, tzinfo=TZ).astimezone(UTC)
    add_checkin(session, people["alice"], people["checkpoint"], at)
    add_checkin(session, people["bob"], people["checkpoint"], at)
    session.commit()
    sign_in(client, people["admin"])
    rows = read_csv(client.get("/reports/checkins.csv?from=2026-11-20&to=2026-11-20"))
    assert [row[4] for row in rows[1:]] == ["王秀英", "李建国"]
    assert rows[1][1] == "2026-11-20 23:59:00" and rows[1][6] == "湖滨公园北门"
    assert len(read_csv(client.get("/reports/checkins.csv?from=2026-11-21&to=2026-11-22"))) == 1


def test_hours_per_volunteer_and_team_equal_raw_rows(app, client, session, people):
    team_a, alice, bob = people["team_a"], people["alice"], people["bob"]
    day = datetime(2026, 10, 10, 20, 0, tzinfo=TZ).astimezone(UTC)
    shifts = []
    for offset, team, user, minutes, status in ((0, team_a, alice, 150, "confirmed"), (1, team_a, alice, 90, "confirmed"),
                                                (2, team_a, alice, 0, "no_show"), (0, people["team_b"], bob, 60, "confirmed"),
                                                (40, team_a, alice, 600, "confirmed")):
        shift = Shift(station_id=team.station_id, team_id=team.id, title="巡逻", starts_at=day + timedelta(days=offset),
                      ends_at=day + timedelta(days=offset, hours=3), capacity=3)
        session.add(shift)
        session.flush()
        session.add(ShiftSignup(shift_id=shift.id, user_id=user.id, status=status, minutes_credited=minutes,
                                completed_at=shift.ends_at if minutes else None))
        if minutes:
            factories.service_record(session, user, shift.starts_at, minutes, shift_row=shift)
        shifts.append(shift)
    add_checkin(session, alice, people["checkpoint"], day)
    alice.phone = "13800138000"
    session.add(alice)
    session.commit()
    sign_in(client, people["admin"])
    rows = read_csv(client.get("/reports/hours-volunteers.csv?from=2026-10-01&to=2026-10-31"))
    by_user = {row[1]: row for row in rows[1:]}
    assert rows[0][3:5] == ["队伍", "手机号"]
    assert by_user["alice"][5] == f"{(150 + 90) / 60:.2f}" and by_user["alice"][6] == "1"
    assert by_user["alice"][7] == "5" and by_user["bob"][5] == "1.00"
    assert by_user["alice"][2] == "王秀英"
    assert by_user["alice"][3:5] == ["西湖红袖章巡逻队", "13800138000"] and by_user["bob"][3:5] == ["老兵调解队", ""]
    teams = read_csv(client.get("/reports/hours-teams.csv?from=2026-10-01&to=2026-10-31"))
    by_team = {row[1]: row for row in teams[1:]}
    assert by_team["西湖红袖章巡逻队"][4] == "4.00" and by_team["老兵调解队"][4] == "1.00"
    assert by_team["西湖红袖章巡逻队"][3] == "1"  # one member checked in
    page = client.get("/reports?from=2026-10-01&to=2026-10-31").get_data(as_text=True)
    assert "王秀英" in page and "4.0" in page


def test_sign_outs_are_not_check_ins_in_either_table(app, client, session, people):
    """The hours table and the per-team rows count the same check-ins: sign-in scans only."""
    alice = people["alice"]
    day = datetime(2026, 10, 10, 9, 0, tzinfo=TZ).astimezone(UTC)
    add_checkin(session, alice, people["checkpoint"], day)
    session.add(Checkin(user_id=alice.id, kind="checkpoint", direction="out", checkpoint_id=people["checkpoint"].id,
                        points_awarded=0, created_at=day + timedelta(hours=2)))
    session.commit()
    sign_in(client, people["admin"])
    rows = {row[1]: row for row in read_csv(client.get("/reports/hours-volunteers.csv?from=2026-10-01&to=2026-10-31"))}
    teams = {row[1]: row for row in read_csv(client.get("/reports/hours-teams.csv?from=2026-10-01&to=2026-10-31"))}
    assert rows["alice"][6] == "1" == teams["西湖红袖章巡逻队"][5]


def test_certificate(app, client, session, people):
    alice = people["alice"]
    start = datetime(2026, 3, 1, 8, tzinfo=TZ).astimezone(UTC)
    shift = Shift(station_id=people["team_a"].station_id, team_id=people["team_a"].id, title="巡逻", starts_at=start,
                  ends_at=start + timedelta(hours=5), capacity=2)
    session.add(shift)
    session.flush()
    session.add(ShiftSignup(shift_id=shift.id, user_id=alice.id, minutes_credited=300, completed_at=shift.ends_at))
    factories.service_record(session, alice, start, 300, shift_row=shift)
    session.commit()
    cert = reports.certificate(session, alice, alice.id, reports.period("2026-01-01", "2026-06-30"))
    assert cert.hours == 5.0 and cert.shifts == 1 and cert.teams == ["西湖红袖章巡逻队"]
    session.commit()  # end the read (SQLite: let the app write)
    sign_in(client, alice)
    page = client.get(f"/reports/certificate/{alice.id}?from=2026-01-01&to=2026-06-30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "志愿服务时长证明" in html and "王秀英" in html and "2026 年 1 月 1 日" in html and ">5.0<" in html
    assert client.get(f"/reports/certificate/{people['bob'].id}").status_code == 403
    assert client.get(f"/reports/certificate/{alice.id}?from=2026-13-01").status_code == 200  # bad date: default


@pytest.mark.parametrize("path", ["/reports/ledger.csv?user={bob}", "/reports/checkins.csv?user={bob}",
                                  "/reports/certificate/{bob}", "/reports/hours-volunteers.csv",
                                  "/reports/hours-teams.csv", "/reports/ledger.csv", "/reports/checkins.csv",
                                  "/reports/store.csv", "/reports", "/manage/audit", "/manage/personal-data"])
def test_a_volunteer_cannot_reach_anothers_export(app, client, session, people, path):
    sign_in(client, people["alice"])
    assert client.get(path.format(bob=people["bob"].id)).status_code == 403


@pytest.mark.parametrize("path", ["/reports/ledger.csv?user={alice}", "/reports/checkins.csv?user={alice}",
                                  "/reports/certificate/{alice}", "/me/data.json", "/me/export"])
def test_a_volunteer_reaches_their_own(app, client, session, people, path):
    sign_in(client, people["alice"])
    assert client.get(path.format(alice=people["alice"].id)).status_code == 200


@pytest.mark.parametrize("path", ["/reports/ledger.csv?user={bob}", "/reports/checkins.csv?team={team_b}",
                                  "/reports/hours-volunteers.csv?team={team_b}", "/reports/certificate/{bob}",
                                  "/reports?team={team_b}", "/manage/dashboard?team={team_b}"])
def test_a_coordinator_cannot_reach_another_teams_export(app, client, session, people, path):
    sign_in(client, people["coord_a"])
    url = path.format(bob=people["bob"].id, team_b=people["team_b"].id)
    assert client.get(url).status_code == 403
    ok = path.format(bob=people["alice"].id, team_b=people["team_a"].id)
    assert client.get(ok).status_code == 200


def test_unknown_user_and_bad_period(app, client, session, people):
    sign_in(client, people["admin"])
    assert client.get("/reports/ledger.csv?user=999999").status_code == 404
    assert client.get("/reports/ledger.csv?from=2026-02-30").status_code == 422
    assert client.get("/reports/ledger.csv?from=2026-05-01&to=2026-04-01").status_code == 422
    with pytest.raises(DomainError) as error:
        reports.period("2026-05-01", "2026-04-01")
    assert error.value.code == "validation_error"


def test_store_export_for_clerks(app, client, session, people):
    from volunteer_app.models import Redemption, StoreItem

    item = StoreItem(station_id=people["team_a"].station_id, name="反诈宣传帽", cost=25, stock=5)
    session.add(item)
    session.flush()
    ledger.post(session, people["alice"].id, 50, "adjustment", "seed:alice")
    session.add(Redemption(station_id=item.station_id, user_id=people["alice"].id, item_id=item.id, quantity=1,
                           points_spent=25, clerk_id=people["clerk"].id, status="cancelled", cancel_reason="扫错人"))
    session.commit()
    sign_in(client, people["clerk"])
    rows = read_csv(client.get("/reports/store.csv"))
    assert rows[1][2] == "已撤销" and rows[1][7] == "反诈宣传帽" and rows[1][11] == "扫错人"
    assert rows[1][6] == "王秀英" and rows[1][3] == people["clerk"].username


def test_export_of_100000_rows_streams_with_bounded_memory(app, client, session, people):
    alice = people["alice"]
    start = datetime(2026, 6, 1, tzinfo=TZ).astimezone(UTC)
    total = 100_000
    for base in range(0, total, 20_000):
        session.execute(insert(LedgerEntry), [
            {"user_id": alice.id, "amount": 1, "kind": "checkin", "reason": "巡逻签到 湖滨公园北门",
             "ref": f"bulk:{n}", "balance_after": n + 1, "earned": True,
             "created_at": start + timedelta(seconds=n)} for n in range(base, min(base + 20_000, total))])
        session.commit()
    sign_in(client, people["admin"])
    pool = app.extensions["db_engine"].pool
    checked_out = pool.checkedout()
    response = client.get("/reports/ledger.csv?from=2026-06-01&to=2026-06-30", buffered=False)
    assert response.status_code == 200
    tracemalloc.start()
    try:
        size = lines = 0
        first = None
        for chunk in response.iter_encoded():
            if first is None:
                first = chunk
            size += len(chunk)
            lines += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    assert first.startswith(BOM)
    assert lines == total + 1
    assert size > 6_000_000
    assert peak < size / 4, (peak, size)  # measured: about 1.6 MB for 10 MB of CSV
    assert pool.checkedout() == checked_out  # the streaming read gave its connection back


def test_an_abandoned_download_leaves_no_transaction_behind(app, client, session, people):
    """A download stopped half way (the phone lost signal) ends its read and frees the write lock."""
    from volunteer_app.services import reports as reports_service

    session.execute(insert(LedgerEntry), [
        {"user_id": people["alice"].id, "amount": 1, "kind": "checkin", "reason": "巡逻", "ref": f"a:{n}",
         "balance_after": n + 1, "earned": True, "created_at": datetime.now(UTC)} for n in range(3 * reports_service.BATCH)])
    session.commit()
    sign_in(client, people["admin"])
    pool = app.extensions["db_engine"].pool
    checked_out = pool.checkedout()
    for _ in range(2):
        response = client.get("/reports/ledger.csv", buffered=False)
        chunks = response.iter_encoded()
        assert next(chunks).startswith(BOM)
        response.close()
        assert pool.checkedout() == checked_out
    ledger.post(session, people["alice"].id, 1, "adjustment", "after-download")  # the write lock is free
    session.commit()


def test_hours_by_team_comes_from_the_shared_cache(app, session, people):
    """The per-team sums read every member's rows of the period: they are kept in the shared
    cache like the teams' leaderboard, recomputed once the ledger has moved and a few seconds
    have passed, never kept beyond the cache's time."""
    from volunteer_app.services import recognition
    from volunteer_app.services.dashboard import scope_for
    from .conftest import arrange
    alice, admin, team_a = people["alice"], people["admin"], people["team_a"]
    now = datetime.now(UTC)
    p = reports.period(now.astimezone(TZ).date().replace(day=1), now.astimezone(TZ).date())
    add_checkin(session, alice, people["checkpoint"], now - timedelta(minutes=5))
    session.commit()

    def checkins_of_team_a(at):
        with arrange(app, write=False) as s:  # a GET: a read transaction
            rows = reports.hours_by_team(s, scope_for(s, s.get(type(admin), admin.id)), p, now=at)
            return next(row.checkins for row in rows if row.team.id == team_a.id)

    assert checkins_of_team_a(now) == 1
    add_checkin(session, alice, people["checkpoint"], now - timedelta(minutes=1))
    session.commit()
    assert checkins_of_team_a(now + timedelta(seconds=1)) == 1  # just computed: kept
    assert checkins_of_team_a(now + timedelta(seconds=recognition.CACHE_FRESH_SECONDS + 1)) == 2  # the ledger moved
    session.add(Checkin(user_id=alice.id, kind="checkpoint", checkpoint_id=people["checkpoint"].id, points_awarded=0,
                        created_at=now - timedelta(seconds=30)))  # no ledger entry: the cache cannot tell
    session.commit()
    later = now + timedelta(seconds=recognition.CACHE_FRESH_SECONDS + 2)
    assert checkins_of_team_a(later) == 2
    assert checkins_of_team_a(later + timedelta(seconds=recognition.cache_seconds())) == 3  # never older than that


def test_each_team_row_is_the_sum_of_its_members_rows(app, session, people):
    """The per-team figures (read from the station's rows of the period) equal the sums of
    the hours table's rows of the team's members: minutes, check-ins at checkpoints and at
    events, members who checked in, points earned (a deduction is no earning); a person in
    two teams counts in both; what lies on the period's last instant counts, its end does not;
    with a sub-unit chosen, its members only."""
    from volunteer_app.services import units
    from volunteer_app.services.dashboard import scope_for, scope_people
    team_a, team_b, alice, bob = people["team_a"], people["team_b"], people["alice"], people["bob"]
    carol = factories.user(session, team=team_a, username="carol")
    factories.membership(session, team_b, carol)
    unit = units.create_unit(session, people["coord_a"], team_a.id, name="一分队", leader_ids=[carol.id])
    first, end = datetime(2026, 10, 1, tzinfo=TZ).astimezone(UTC), datetime(2026, 11, 1, tzinfo=TZ).astimezone(UTC)
    talk = factories.event(session, starts_at=first + timedelta(days=3))
    add_checkin(session, alice, people["checkpoint"], first)
    add_checkin(session, alice, people["checkpoint"], first + timedelta(days=2), points=7)
    add_checkin(session, carol, people["checkpoint"], end - timedelta(seconds=1))
    add_checkin(session, bob, people["checkpoint"], end)  # the next period
    row = Checkin(user_id=carol.id, kind="event", event_id=talk.id, points_awarded=10,
                  created_at=talk.starts_at + timedelta(minutes=5))
    session.add(row)
    session.flush()
    ledger.post(session, carol.id, 10, "checkin", f"checkin:{row.id}", reason="反诈", now=row.created_at)
    ledger.post(session, bob.id, 4, "adjustment", "adj:bob", reason="补记", now=first + timedelta(days=5))
    ledger.post(session, alice.id, -2, "adjustment", "adj:alice", reason="更正", now=first + timedelta(days=6))
    factories.service_record(session, alice, first + timedelta(days=1), 90)
    factories.service_record(session, carol, first + timedelta(days=4), 45, kind="tea_room")
    factories.service_record(session, bob, end + timedelta(hours=1), 600)  # the next period
    session.commit()
    p = reports.period(date_of(first), date_of(end - timedelta(days=1)))
    admin = people["admin"]
    for unit_id, teams in ((None, (team_a, team_b)), (unit.id, (team_a,))):
        scope = scope_for(session, admin, team_a.id if unit_id else None, unit_id)
        people_rows = {row.user_id: row for row in reports.hours_rows(session, scope_people(scope), p)}
        rows = {row.team.id: row for row in reports.hours_by_team(session, scope, p)}
        for team in teams:
            members = [person for person in people_rows.values() if team.name in person.teams]
            expected = (len(members), sum(1 for person in members if person.checkins),
                        sum(person.minutes for person in members), sum(person.checkins for person in members),
                        sum(person.points_earned for person in members))
            got = rows[team.id]
            assert (got.members, got.active, got.minutes, got.checkins, got.points_earned) == expected, team.name
    whole = {row.team.id: row for row in reports.hours_by_team(session, scope_for(session, admin), p)}
    assert (whole[team_a.id].checkins, whole[team_a.id].points_earned, whole[team_a.id].minutes) == (4, 5 + 7 + 5 + 10, 135)  # alice's -2 earns nothing
    assert (whole[team_b.id].active, whole[team_b.id].points_earned, whole[team_b.id].minutes) == (1, 5 + 10 + 4, 45)


def date_of(moment):
    return moment.astimezone(TZ).date()


def test_the_hours_of_many_teams_are_cached_under_a_key_that_fits(app, session, people):
    """An admin's hours by team names every team of the station in its cache key: with many
    teams the key is shortened to what the cache's column holds (PostgreSQL refused it)."""
    from volunteer_app.models import LeaderboardCache
    from volunteer_app.services.dashboard import scope_for
    from sqlmodel import select
    for number in range(40):
        factories.team(session, name=f"第{number}巡逻队")
    session.commit()
    app.config["LEADERBOARD_CACHE_SECONDS"] = 60
    from .conftest import arrange
    p = reports.period(datetime(2026, 10, 1).date(), datetime(2026, 10, 31).date())

    def teams_hours():
        with arrange(app, write=False) as s:  # a GET: a read transaction
            return [(row.team.id, row.minutes) for row in
                    reports.hours_by_team(s, scope_for(s, s.get(type(people["admin"]), people["admin"].id)), p)]

    first = teams_hours()
    assert len(first) == 42 and teams_hours() == first
    with arrange(app, write=False) as s:
        keys = [row.key for row in s.exec(select(LeaderboardCache))]
    assert len(keys) == 1 and keys[0].startswith("hours-teams:") and len(keys[0]) <= 96
