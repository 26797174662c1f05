"""Many stations, one county: stations, the county_admin, the station one acts in, join codes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app.models import Station, TeamMembership, User
from volunteer_app.services import stations
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, csrf_token, signed_in


@pytest.fixture
def county(session):
    first = factories.station(session)
    second = Station(name="灵隐派出所", short_name="灵隐")
    session.add(second)
    session.flush()
    boss = factories.user(session, roles="county_admin", station_row=first)
    admin_a = factories.admin(session, station_row=first)
    admin_b = factories.admin(session, station_row=second)
    team_b = factories.team(session, "灵隐巡逻队", station_row=second)
    session.commit()
    return {"first": first, "second": second, "boss": boss, "admin_a": admin_a, "admin_b": admin_b, "team_b": team_b}


def test_county_admin_creates_a_station_and_a_name_is_taken_once(api, county):
    answer = api.post("/api/v1/stations", user=county["boss"], json={"name": "北山派出所", "short_name": "北山"})
    assert answer.status_code == 201, answer.json
    assert answer.json["name"] == "北山派出所" and answer.json["timezone"] == "Asia/Shanghai"
    assert answer.json["member_count"] == 0
    again = api.post("/api/v1/stations", user=county["boss"], json={"name": "北山派出所"})
    assert again.status_code == 409 and again.json["code"] == "name_taken"
    bad_zone = api.post("/api/v1/stations", user=county["boss"], json={"name": "南山派出所", "timezone": "Mars/Base"})
    assert bad_zone.status_code == 422


def test_a_station_admin_may_not_create_stations_and_sees_only_its_own(api, county):
    refused = api.post("/api/v1/stations", user=county["admin_a"], json={"name": "北山派出所"})
    assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    own = api.get("/api/v1/stations", user=county["admin_b"]).json["stations"]
    assert [row["id"] for row in own] == [county["second"].id]
    every = api.get("/api/v1/stations", user=county["boss"]).json["stations"]
    assert [row["id"] for row in every] == [county["first"].id, county["second"].id]


def test_users_go_into_the_station_a_county_admin_names(api, county):
    made = api.post("/api/v1/users", user=county["boss"], json={
        "username": "lingyin-admin", "password": "a long pass 7", "display_name": "灵隐站长",
        "roles": ["admin"], "station_id": county["second"].id})
    assert made.status_code == 201, made.json
    assert made.json["station_id"] == county["second"].id
    refused = api.post("/api/v1/users", user=county["admin_a"], json={
        "username": "sneaky", "password": "a long pass 7", "display_name": "某人", "station_id": county["second"].id})
    assert refused.status_code == 403
    no_grant = api.post("/api/v1/users", user=county["admin_a"], json={
        "username": "boss2", "password": "a long pass 7", "display_name": "某人", "roles": ["county_admin"]})
    assert no_grant.status_code == 403
    nowhere = api.post("/api/v1/users", user=county["boss"], json={
        "username": "nowhere", "password": "a long pass 7", "display_name": "某人", "station_id": 999})
    assert nowhere.status_code == 404


def test_station_id_chooses_where_a_county_admin_acts_and_is_not_found_for_others(api, county):
    teams_b = api.get(f"/api/v1/teams?station_id={county['second'].id}", user=county["boss"])
    assert [row["name"] for row in teams_b.json["teams"]] == ["灵隐巡逻队"]
    assert api.get("/api/v1/teams", user=county["boss"]).json["teams"] == []
    other = api.get(f"/api/v1/teams?station_id={county['second'].id}", user=county["admin_a"])
    assert other.status_code == 404 and other.json["code"] == "not_found"
    assert api.get("/api/v1/teams?station_id=abc", user=county["boss"]).status_code == 404
    assert api.get(f"/api/v1/teams?station_id={county['first'].id}", user=county["admin_a"]).status_code == 200
    # acting elsewhere is never written back
    with arrange(api.app) as session:
        assert session.get(User, county["boss"].id).station_id == county["first"].id


def test_a_team_made_while_acting_in_a_station_belongs_to_it(api, county):
    made = api.post(f"/api/v1/teams?station_id={county['second'].id}", user=county["boss"], json={"name": "新队"})
    assert made.status_code == 201
    listed = api.get("/api/v1/teams", user=county["admin_b"]).json["teams"]
    assert "新队" in [row["name"] for row in listed]


def test_join_code_registers_pending_in_the_station_and_team(api, county):
    code = api.get(f"/api/v1/stations/{county['second'].id}/invite?team_id={county['team_b'].id}",
                   user=county["admin_b"])
    assert code.status_code == 200, code.json
    url = code.json["join_url"]
    assert url.startswith("https://patrol.example.cn/join/")
    joined = api.post("/api/v1/register", json={"username": "newbie", "password": "a long pass 7",
                                                "display_name": "新人", "join": url})
    assert joined.status_code == 201, joined.json
    assert joined.json["station_id"] == county["second"].id and joined.json["status"] == "pending"
    by_token = api.post("/api/v1/register", json={"username": "newbie2", "password": "a long pass 7",
                                                  "display_name": "新人", "join": url.rsplit("/", 1)[1]})
    assert by_token.json["station_id"] == county["second"].id
    with arrange(api.app) as session:
        member = session.exec(select(TeamMembership).where(TeamMembership.user_id == joined.json["id"])).one()
        assert member.team_id == county["team_b"].id


def test_join_codes_of_another_station_or_team_are_refused(api, county):
    assert api.get(f"/api/v1/stations/{county['second'].id}/invite", user=county["admin_a"]).status_code == 404
    foreign_team = api.get(f"/api/v1/stations/{county['first'].id}/invite?team_id={county['team_b'].id}",
                           user=county["admin_a"])
    assert foreign_team.status_code == 404
    volunteer = None
    with arrange(api.app) as session:
        volunteer = factories.user(session, station_row=session.get(Station, county["second"].id))
    assert api.get(f"/api/v1/stations/{county['second'].id}/invite", user=volunteer).status_code == 403


def test_a_revoked_forged_or_expired_join_code_is_invalid_code(api, county, monkeypatch):
    url = api.get(f"/api/v1/stations/{county['second'].id}/invite", user=county["boss"]).json["join_url"]
    body = {"username": "late", "password": "a long pass 7", "display_name": "迟到", "join": url + "x"}
    assert api.post("/api/v1/register", json=body).json["code"] == "invalid_code"
    later = utcnow() + timedelta(days=31)
    monkeypatch.setattr(stations, "utcnow", lambda: later)
    expired = api.post("/api/v1/register", json={**body, "join": url})
    assert expired.status_code == 400 and expired.json["code"] == "invalid_code"
    monkeypatch.undo()
    assert api.delete(f"/api/v1/stations/{county['second'].id}/invite", user=county["admin_b"]).status_code == 204
    revoked = api.post("/api/v1/register", json={**body, "join": url})
    assert revoked.status_code == 400 and revoked.json["code"] == "invalid_code"


def test_registration_chooses_a_station_without_a_join_code(api, county):
    chosen = api.post("/api/v1/register", json={"username": "chooser", "password": "a long pass 7",
                                                "display_name": "选站", "station_id": county["second"].id})
    assert chosen.status_code == 201 and chosen.json["station_id"] == county["second"].id
    missing = api.post("/api/v1/register", json={"username": "chooser2", "password": "a long pass 7",
                                                 "display_name": "选站", "station_id": 4242})
    assert missing.status_code == 422


def test_the_register_page_lists_the_stations_and_follows_a_join_code(app, county, client):
    page = client.get("/register").get_data(as_text=True)
    assert "灵隐派出所" in page and 'name="station_id"' in page
    with arrange(app) as session:
        admin_b = session.get(User, county["admin_b"].id)
        token, _ = stations.join_code(session, admin_b, county["second"].id)
    followed = client.get(f"/join/{token}", follow_redirects=True).get_data(as_text=True)
    assert "灵隐派出所" in followed and 'name="join"' in followed and 'name="station_id"' not in followed
    answer = client.post("/register", data={"csrf_token": csrf_token(client, "/register"), "join": token,
                                            "username": "pagejoin", "display_name": "扫码", "password": "a long pass 7",
                                            "password2": "a long pass 7"})
    assert answer.status_code == 302
    with arrange(app) as session:
        assert session.exec(select(User).where(User.username == "pagejoin")).one().station_id == county["second"].id
    bad = client.get("/register?join=forged").get_data(as_text=True)
    assert 'name="join"' not in bad


def test_a_county_admin_switches_station_in_the_header_and_titles_follow(app, county):
    browser = signed_in(app, county["boss"])
    home = browser.get("/").get_data(as_text=True)
    assert 'name="station_id"' in home and "西湖派出所</title>" in home
    switched = browser.post("/station", data={"csrf_token": csrf_token(browser, "/"), "station_id": county["second"].id,
                                              "next": "/"})
    assert switched.status_code == 302
    assert "灵隐派出所</title>" in browser.get("/").get_data(as_text=True)
    assert browser.post("/station", data={"csrf_token": csrf_token(browser, "/"), "station_id": 777}).status_code == 404
    admin = signed_in(app, county["admin_a"])
    assert 'id="station-switch"' not in admin.get("/").get_data(as_text=True)
    assert admin.post("/station", data={"csrf_token": csrf_token(admin, "/"), "station_id": county["second"].id}
                      ).status_code == 403


def test_the_join_code_page_prints_a_qr_code_that_decodes_to_the_join_url(app, county, tmp_path):
    import base64
    import re
    import shutil
    import subprocess
    browser = signed_in(app, county["admin_b"])
    page = browser.get(f"/stations/{county['second'].id}/invite").get_data(as_text=True)
    url = re.search(r"data-join-url>([^<]+)<", page).group(1)
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1))
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed")
    from volunteer_app.services import qr
    png = tmp_path / "join.png"
    png.write_bytes(qr.png(url))
    assert b"<svg" in svg
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, check=True)
    assert decoded.stdout.strip() == url
    assert browser.get(f"/stations/{county['first'].id}/invite").status_code == 404


# -- the county's view --------------------------------------------------------------------------

def _scan(api, user, checkpoint):
    from volunteer_app.services import checkpoints
    answer = api.post("/api/v1/checkins", user=user, json={"code": checkpoints.token(checkpoint)})
    assert answer.status_code == 201, answer.json
    return answer


def test_the_county_summary_is_kept_by_the_writes_and_equals_a_rebuild(api, county):
    from volunteer_app.services import county as county_service
    with arrange(api.app) as session:
        second = session.get(Station, county["second"].id)
        team = session.get(type(county["team_b"]), county["team_b"].id)
        vol = factories.user(session, station_row=second, team=team)
        idle = factories.user(session, station_row=second, team=team)
        checkpoint = factories.patrol_checkpoint(session, team_row=team, points=7, station_row=second)
        item = factories.store_item(session, cost=5, stock=3, station_row=second)
    _scan(api, vol, checkpoint)
    bought = api.post("/api/v1/store/redemptions", user=county["admin_b"], json={"user_id": vol.id, "item_id": item.id})
    assert bought.status_code == 201, bought.json
    from volunteer_app.timeutil import local
    day = local(utcnow() - timedelta(days=1)).date()
    entry = api.post("/api/v1/service/entries", user=county["admin_b"], json={
        "user_id": vol.id, "kind": "patrol", "started_at": f"{day}T09:00:00+08:00",
        "ended_at": f"{day}T10:30:00+08:00", "place": "灵隐", "note": "补录"})
    assert entry.status_code == 201, entry.json
    assert api.get("/api/v1/county/summary", user=county["admin_b"]).status_code == 403
    summary = api.get(f"/api/v1/county/summary?since={day}", user=county["boss"])
    assert summary.status_code == 200, summary.json
    rows = {row["station_id"]: row for row in summary.json["stations"]}
    mine = rows[county["second"].id]
    assert (mine["checkins"], mine["points_issued"], mine["points_redeemed"]) == (1, 7 + entry.json["points"], 5)
    assert mine["hours_served"] >= 1.5  # the entry, and the outing's first minutes
    assert mine["volunteers"] == 3 and mine["active_volunteers"] == 1  # admin_b, vol and idle; only vol scanned
    assert rows[county["first"].id]["checkins"] == 0
    with arrange(api.app) as session:
        kept = [tuple(row) for row in session.exec(select(
            county_service.StationDay.station_id, county_service.StationDay.day, county_service.StationDay.checkins,
            county_service.StationDay.points_issued,
            county_service.StationDay.points_redeemed))]
        county_service.rebuild(session)
    with arrange(api.app) as session:
        rebuilt = [tuple(row) for row in session.exec(select(
            county_service.StationDay.station_id, county_service.StationDay.day, county_service.StationDay.checkins,
            county_service.StationDay.points_issued,
            county_service.StationDay.points_redeemed))]
    assert sorted(kept) == sorted(rebuilt) and kept
    with arrange(api.app) as session:
        assert session.get(User, idle.id).last_active_on is None and session.get(User, vol.id).last_active_on


def test_the_summary_refuses_a_bad_period(api, county):
    backwards = api.get("/api/v1/county/summary?since=2026-12-10&until=2026-12-01", user=county["boss"])
    assert backwards.status_code == 422
    assert api.get("/api/v1/county/summary?since=nonsense", user=county["boss"]).status_code == 422


def test_the_county_dashboard_page_shows_every_station_with_a_plot_and_a_csv(app, county):
    browser = signed_in(app, county["boss"])
    page = browser.get("/county")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "灵隐派出所" in text and "西湖派出所" in text and "<svg" in text
    csv = browser.get("/county/summary.csv").get_data(as_text=True)
    assert "灵隐派出所" in csv
    admin = signed_in(app, county["admin_a"])
    assert admin.get("/county").status_code == 403
    assert admin.get("/county/summary.csv").status_code == 403
    assert browser.get("/county?since=2026-13-01").status_code in (400, 422)


def test_a_station_admin_neither_grants_nor_takes_the_county_role(api, county, session):
    from volunteer_app.errors import DomainError
    from volunteer_app.services import accounts
    admin = session.get(User, county["admin_a"].id)
    someone = factories.user(session, station_row=session.get(Station, county["first"].id))
    with pytest.raises(DomainError) as grant:
        accounts.set_roles(session, admin, someone.id, ["volunteer", "county_admin"])
    assert grant.value.code == "forbidden"
    with pytest.raises(DomainError) as take:
        accounts.set_roles(session, admin, county["boss"].id, ["volunteer"])
    assert take.value.code == "forbidden"
    with pytest.raises(DomainError) as disable:
        accounts.disable(session, admin, county["boss"].id)
    assert disable.value.code == "forbidden"
    boss = session.get(User, county["boss"].id)
    assert accounts.set_roles(session, boss, someone.id, ["county_admin"]).is_county_admin


def test_a_county_admin_reaches_another_station_by_choosing_it(api, county):
    path = f"/api/v1/users/{county['admin_b'].id}"
    assert api.get(path, user=county["boss"]).status_code == 404  # acting in the first station
    chosen = api.get(f"{path}?station_id={county['second'].id}", user=county["boss"])
    assert chosen.status_code == 200 and chosen.json["id"] == county["admin_b"].id
    assert api.get(f"{path}?station_id={county['second'].id}", user=county["admin_a"]).status_code == 404


def test_the_county_summary_counts_each_stations_publicity(api, county):
    """Publicity sessions begun in the period and the people their reports say they reached,
    per station, in the API, on the page and in the CSV."""
    from volunteer_app.services import publicity
    with arrange(api.app) as session:
        second = session.get(Station, county["second"].id)
        team = session.get(type(county["team_b"]), county["team_b"].id)
        admin_b = session.get(User, county["admin_b"].id)
        begun = utcnow().replace(microsecond=0) - timedelta(hours=3)
        for audience in (120, 80):
            talk = factories.event(session, team=team, title="反诈宣传进村", starts_at=begun, service_kind="publicity")
            talk.station_id = second.id
            session.add(talk)
            session.flush()
            publicity.save_report(session, admin_b, talk.id, audience=audience, now=begun + timedelta(hours=2))
        factories.event(session, team=team, title="往年的宣传", starts_at=begun - timedelta(days=400),
                        service_kind="publicity")
    summary = api.get("/api/v1/county/summary", user=county["boss"]).json
    rows = {row["station_id"]: row["publicity"] for row in summary["stations"]}
    assert rows[county["second"].id] == {"sessions": 2, "people_reached": 200}
    assert rows[county["first"].id] == {"sessions": 0, "people_reached": 0}
    browser = signed_in(api.app, county["boss"])
    assert "2 / 200" in browser.get("/county").get_data(as_text=True)
    csv_text = browser.get("/county/summary.csv").get_data(as_text=True)
    assert "宣传场次" in csv_text.splitlines()[0] and ",2,200" in csv_text


def test_the_county_hours_follow_a_record_whose_start_moves_to_the_day_before(app, county):
    """The county reads minutes from the service day totals, which move with a record's start
    (an outing extended back over midnight by a scan held on a phone)."""
    from datetime import date

    from volunteer_app.services import county as county_service, hours
    from .factories import T0

    day = date(2026, 11, 23)  # T0 is 16:00 in Hangzhou on this day
    with arrange(app) as session:
        second = session.get(Station, county["second"].id)
        member = factories.user(session, station_row=second)
        late = factories.service_record(session, member, T0 + timedelta(hours=8, minutes=30), 60)  # 00:30 next day
    with arrange(app) as session:
        boss = session.get(User, county["boss"].id)
        def hours_on(when):
            rows = county_service.summary(session, boss, county_service.Period(when, when),
                                          station_id=county["second"].id)
            return rows[0]["hours_served"]
        assert (hours_on(day), hours_on(day + timedelta(days=1))) == (0, 1.0)
        late, member = session.get(type(late), late.id), session.get(User, member.id)
        was = (late.started_at, late.minutes)
        late.started_at, late.minutes = late.started_at - timedelta(hours=1), 120
        member.minutes_served += 60
        session.add_all([late, member])
        hours.count(session, late, was=was)
    with arrange(app) as session:
        boss = session.get(User, county["boss"].id)
        assert (hours_on(day), hours_on(day + timedelta(days=1))) == (2.0, 0)
