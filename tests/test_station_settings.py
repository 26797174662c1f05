"""A station's own settings: the API, their checks, the audit, and that each takes effect in its
own station only (two stations, different values, one process), in requests and in commands."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from volunteer_app import cli, per_station, settings
from volunteer_app.models import AuditEntry, PointsLot, Station
from volunteer_app.services import expiry, ledger, station_settings
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, csrf_token, signed_in


@pytest.fixture
def two(app):
    """Two stations, each with an admin, a team with a coordinator and a member."""
    with arrange(app) as session:
        first = factories.station(session)
        second = Station(name="灵隐派出所", short_name="灵隐")
        session.add(second)
        session.flush()
        people = {"first": first, "second": second,
                  "boss": factories.user(session, roles="county_admin", station_row=first)}
        for key, station in (("a", first), ("b", second)):
            team = factories.team(session, f"巡逻队{key}", station_row=station)
            people[f"admin_{key}"] = factories.admin(session, station_row=station)
            people[f"coord_{key}"] = factories.coordinator(session, team, station_row=station)
            people[f"member_{key}"] = factories.user(session, team=team, station_row=station)
            people[f"clerk_{key}"] = factories.user(session, roles="clerk", station_row=station)
        return people


def url(station) -> str:
    return f"/api/v1/stations/{station.id}/settings"


def own_json(app, station) -> str:
    with arrange(app, write=False) as session:
        return session.get(Station, station.id).settings_json


def test_an_admin_reads_every_setting_with_its_default_and_sets_some(api, two):
    got = api.get(url(two["first"]), user=two["admin_a"])
    assert got.status_code == 200, got.json
    rows = got.json["settings"]
    assert set(rows) == {spec.field for spec in station_settings.SPECS}
    assert rows["night_factor"] == {"value": 1.5, "default": 1.5, "station_set": False, "group": "service"}
    changed = api.patch(url(two["first"]), user=two["admin_a"],
                        json={"night_factor": 2, "level_thresholds": "新手:0, 老手：50", "route_in_order": True})
    assert changed.status_code == 200, changed.json
    rows = changed.json["settings"]
    assert rows["night_factor"] == {"value": 2.0, "default": 1.5, "station_set": True, "group": "service"}
    assert rows["level_thresholds"]["value"] == "新手:0,老手:50"
    assert rows["route_in_order"]["value"] is True and rows["no_show_limit"]["station_set"] is False
    cleared = api.patch(url(two["first"]), user=two["admin_a"], json={"night_factor": None})
    assert cleared.json["settings"]["night_factor"] == {"value": 1.5, "default": 1.5, "station_set": False,
                                                         "group": "service"}
    assert cleared.json["settings"]["route_in_order"]["station_set"] is True
    with arrange(api.app, write=False) as session:
        trail = [json.loads(row.detail) for row in session.exec(
            select(AuditEntry).where(AuditEntry.action == "station.settings").order_by(AuditEntry.id))]
    assert trail[0]["before"] == {"LEVEL_THRESHOLDS": None, "NIGHT_FACTOR": None, "ROUTE_IN_ORDER": None}
    assert trail[0]["after"] == {"LEVEL_THRESHOLDS": "新手:0,老手:50", "NIGHT_FACTOR": 2.0, "ROUTE_IN_ORDER": True}
    assert trail[1] == {"before": {"NIGHT_FACTOR": 2.0}, "after": {"NIGHT_FACTOR": None}}
    assert len(trail) == 2  # the same values again change nothing and are not audited
    api.patch(url(two["first"]), user=two["admin_a"], json={"route_in_order": True})
    with arrange(api.app, write=False) as session:
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "station.settings")).all()) == 2


def test_the_deployment_default_shown_is_the_apps_config(api, two):
    api.app.config["NO_SHOW_LIMIT"] = 7
    rows = api.get(url(two["second"]), user=two["admin_b"]).json["settings"]
    assert rows["no_show_limit"] == {"value": 7, "default": 7, "station_set": False, "group": "shifts"}


def test_other_stations_are_not_found_and_other_roles_forbidden(api, two):
    for who in ("admin_b",):
        assert api.get(url(two["first"]), user=two[who]).status_code == 404
        refused = api.patch(url(two["first"]), user=two[who], json={"night_factor": 2})
        assert refused.status_code == 404 and refused.json["code"] == "not_found"
    assert api.get("/api/v1/stations/999999/settings", user=two["boss"]).status_code == 404
    for who in ("member_a", "clerk_a", "coord_a"):
        assert api.get(url(two["first"]), user=two[who]).status_code == 403
        refused = api.patch(url(two["first"]), user=two[who], json={"night_factor": "bad"})
        assert refused.status_code == 403 and refused.json["code"] == "forbidden"
    for station in (two["first"], two["second"]):  # the county's admin: in every station
        assert api.patch(url(station), user=two["boss"], json={"no_show_limit": 5}).status_code == 200
    assert own_json(api.app, two["first"]) == own_json(api.app, two["second"]) == '{"NO_SHOW_LIMIT": 5}'


@pytest.mark.parametrize("body, field", [
    ({"night_factor": "2"}, "night_factor"),  # strict types over JSON
    ({"night_factor": True}, "night_factor"),
    ({"night_factor": 0.5}, "night_factor"),
    ({"night_factor": 6}, "night_factor"),
    ({"night_factor": 1e308}, "night_factor"),
    ({"night_factor": 1.23456}, "night_factor"),
    ({"no_show_limit": -1}, "no_show_limit"),
    ({"no_show_limit": 0}, "no_show_limit"),
    ({"no_show_limit": 10**30}, "no_show_limit"),
    ({"no_show_limit": "٣"}, "no_show_limit"),
    ({"no_show_limit": 2.5}, "no_show_limit"),
    ({"no_show_window_days": 3651}, "no_show_window_days"),
    ({"shift_signup_window_days": [30]}, "shift_signup_window_days"),
    ({"makeup_max_days": {"days": 3}}, "makeup_max_days"),
    ({"outing_gap_minutes": 0}, "outing_gap_minutes"),
    ({"outing_tail_minutes": -5}, "outing_tail_minutes"),
    ({"voucher_days": "30"}, "voucher_days"),
    ({"route_in_order": "yes"}, "route_in_order"),
    ({"route_in_order": 1}, "route_in_order"),
    ({"level_thresholds": ""}, "level_thresholds"),
    ({"level_thresholds": "一星:100"}, "level_thresholds"),  # none at 0
    ({"level_thresholds": "见习:0,一星:١٠٠"}, "level_thresholds"),
    ({"level_thresholds": "见习:0,一星:-5"}, "level_thresholds"),
    ({"level_thresholds": "见习:0,见习:10"}, "level_thresholds"),
    ({"level_thresholds": "见习:0,一星:99999999999999999999"}, "level_thresholds"),
    ({"level_thresholds": "见习"}, "level_thresholds"),
    ({"level_thresholds": "x" * 501}, "level_thresholds"),
    ({"level_thresholds": 5}, "level_thresholds"),
    ({"tip_points": "burglary:10"}, "tip_points"),
    ({"tip_points": "fraud:1001"}, "tip_points"),
    ({"tip_points": "fraud:²"}, "tip_points"),
    ({"tip_points": "fraud:5,fraud:6"}, "tip_points"),
    ({"points_expire": "always"}, "points_expire"),
    ({"points_expire": "months:0"}, "points_expire"),
    ({"points_expire": "months:١"}, "points_expire"),
    ({"points_expire": "year_end:101"}, "points_expire"),
    ({"points_expire": ["never"]}, "points_expire"),
    ({"station_name": "别的名字"}, "station_name"),  # not a setting a station sets here
    ({"SECRET_KEY": "x"}, "SECRET_KEY"),
    ({"night_factor": 2, "no_show_limit": -1}, "no_show_limit"),  # one bad value: nothing saved
])
def test_bad_values_of_every_shape_are_422_naming_the_field_and_nothing_is_saved(api, two, body, field):
    answer = api.patch(url(two["first"]), user=two["admin_a"], json=body)
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] == "validation_error"
    assert field in [error["field"] for error in answer.json["errors"]]
    assert own_json(api.app, two["first"]) == "{}"


def test_bad_bodies_are_refused_not_500(api, two):
    for raw in ("{}", "", "[]", "null", '"x"', "{", '{"night_factor": NaN}'):
        answer = api.request("PATCH", url(two["first"]), user=two["admin_a"], data=raw,
                             headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, raw


@pytest.mark.parametrize("changes, field", [
    ({"night_factor": "1.5x"}, "night_factor"), ({"no_show_limit": "３"}, "no_show_limit"),
    ({"route_in_order": "maybe"}, "route_in_order"), ({"nothing": "1"}, "nothing"), ({7: "1"}, "7"),
])
def test_the_service_refuses_form_text_the_same_way(app, two, changes, field):
    from volunteer_app.errors import DomainError
    with arrange(app) as session, pytest.raises(DomainError) as refused:
        station_settings.update(session, session.get(type(two["admin_a"]), two["admin_a"].id), two["first"].id, changes)
    assert refused.value.code == "validation_error"
    assert field in [error["field"] for error in refused.value.details["errors"]]


def test_form_text_is_read_by_the_same_parsers(app, two):
    with arrange(app) as session:
        admin = session.get(type(two["admin_a"]), two["admin_a"].id)
        station_settings.update(session, admin, two["first"].id, {
            "night_factor": " 1.75 ", "no_show_limit": "4", "route_in_order": "on", "points_expire": " Months:6 ",
            "tip_points": "fraud:30，other:1"})
    assert json.loads(own_json(app, two["first"])) == {
        "TIP_POINTS": "fraud:30,other:1", "NIGHT_FACTOR": 1.75, "NO_SHOW_LIMIT": 4, "ROUTE_IN_ORDER": True,
        "POINTS_EXPIRE": "months:6"}


# -- each setting takes effect in its own station -----------------------------------------------

def set_both(api, two, field, value_a, value_b):
    for station, value in ((two["first"], value_a), (two["second"], value_b)):
        answer = api.patch(url(station), user=two["boss"], json={field: value})
        assert answer.status_code == 200, answer.json


def test_level_names_and_thresholds_per_station(api, two):
    set_both(api, two, "level_thresholds", "新兵:0,老兵:10", "青铜:0,白银:5,黄金:10")
    with arrange(api.app) as session:
        for key in ("member_a", "member_b"):
            ledger.post(session, two[key].id, 10, "adjustment", f"seed:{key}", reason="test")
    # one process, requests one after the other: each sees its own station's levels
    for _ in range(2):
        assert api.get("/api/v1/me", user=two["member_a"]).json["level"] == "老兵"
        assert api.get("/api/v1/me", user=two["member_b"]).json["level"] == "黄金"
    with api.app.test_client() as client:
        from .conftest import sign_in
        sign_in(client, two["member_b"])
        assert "黄金" in client.get("/").get_data(as_text=True)


def test_a_tips_default_points_per_station(api, two):
    set_both(api, two, "tip_points", "fraud:33", "fraud:7")
    got = {}
    with arrange(api.app) as session:
        tip_a = factories.tip(session, two["member_a"], category="fraud")
        tip_b = factories.tip(session, two["member_b"], category="fraud")
        ids = {"a": tip_a.id, "b": tip_b.id}
    for key in ("a", "b"):
        answer = api.post(f"/api/v1/tips/{ids[key]}/review", user=two[f"admin_{key}"], json={"valid": True, "note": "属实"})
        assert answer.status_code == 200, answer.json
        got[key] = answer.json["points_awarded"]
    assert got == {"a": 33, "b": 7}


def test_the_night_factor_of_a_record_per_station(api, two):
    set_both(api, two, "night_factor", 2, 1)
    night = datetime.combine(utcnow().date() - timedelta(days=2), datetime.min.time(), UTC) + timedelta(hours=15)
    body = {"kind": "patrol", "started_at": night.isoformat(), "ended_at": (night + timedelta(hours=1)).isoformat(),
            "place": "湖滨"}  # 23:00 to 24:00 in the station
    weighted = {}
    for key in ("a", "b"):
        answer = api.post("/api/v1/service/entries", user=two[f"coord_{key}"], json={**body, "user_id": two[f"member_{key}"].id})
        assert answer.status_code == 201, answer.json
        weighted[key] = answer.json["weighted_minutes"]
    assert weighted == {"a": 120, "b": 60}


def test_points_expiry_of_a_new_entry_per_station_and_earned_points_keep_their_day(api, two):
    set_both(api, two, "points_expire", "months:1", "never")
    for key in ("a", "b"):
        answer = api.post("/api/v1/awards", user=two[f"admin_{key}"],
                          json={"user_id": two[f"member_{key}"].id, "title": "好人好事", "points": 10})
        assert answer.status_code == 201, answer.json

    def lots(key):
        with arrange(api.app, write=False) as session:
            return [(lot.amount, lot.expires_on is not None) for lot in session.exec(
                select(PointsLot).where(PointsLot.user_id == two[f"member_{key}"].id))]

    assert lots("a") == [(10, True)] and lots("b") == []
    # the rules change: points already earned keep the day they had (none revived, none killed)
    set_both(api, two, "points_expire", "never", "months:1")
    assert lots("a") == [(10, True)] and lots("b") == []
    with arrange(api.app, write=False) as session:
        before = {key: session.get(type(two[f"member_{key}"]), two[f"member_{key}"].id).balance for key in "ab"}
    late = utcnow() + timedelta(days=400)
    for station_id in per_station.each_station(api.app):
        expiry.sweep(api.app.extensions["db_engine"], now=late, station_id=station_id)
    with arrange(api.app, write=False) as session:
        after = {key: session.get(type(two[f"member_{key}"]), two[f"member_{key}"].id).balance for key in "ab"}
    assert after == {"a": before["a"] - 10, "b": before["b"]}


def test_commands_work_in_each_stations_own_time_zone(app, two, monkeypatch):
    """The sweep lapses a lot after its last day in its own station's time: at 00:30 in
    Shanghai one station's day is over, the other's (in Los Angeles) is not."""
    with arrange(app) as session:
        session.get(Station, two["second"].id).timezone = "America/Los_Angeles"
        for key, station in (("a", two["first"]), ("b", two["second"])):
            entry = ledger.post(session, two[f"member_{key}"].id, 10, "adjustment", f"seed:{key}", reason="test")
            session.add(PointsLot(station_id=station.id, user_id=two[f"member_{key}"].id, entry_id=entry.id,
                                  amount=10, remaining=10, expires_on=date(2026, 3, 9), created_at=entry.created_at))
    monkeypatch.setattr(cli, "create_app", lambda: app)
    monkeypatch.setattr(expiry, "utcnow", lambda: datetime(2026, 3, 9, 16, 30, tzinfo=UTC))  # 3-10 00:30 in Shanghai
    result = CliRunner().invoke(cli.main, ["expire-points"])
    assert result.exit_code == 0, result.output
    assert "10 points lapsed in 1 entries" in result.output
    with arrange(app, write=False) as session:
        remaining = {key: session.exec(select(PointsLot.remaining).where(
            PointsLot.user_id == two[f"member_{key}"].id)).one() for key in "ab"}
    assert remaining == {"a": 0, "b": 10}


def test_each_station_loop_uses_its_own_values_and_leaves_none_behind(app, two):
    with arrange(app) as session:
        session.get(Station, two["second"].id).settings_json = '{"VOUCHER_DAYS": 3}'
    seen = {}
    for station_id in per_station.each_station(app):
        seen[station_id] = settings.setting("VOUCHER_DAYS")
    assert seen == {two["first"].id: 30, two["second"].id: 3}
    with app.app_context():
        assert settings.setting("VOUCHER_DAYS") == 30


def test_a_stored_value_of_no_editable_setting_is_ignored(app, two):
    with arrange(app) as session:
        station = session.get(Station, two["first"].id)
        station.settings_json = '{"SECRET_KEY": "mine", "NO_SHOW_LIMIT": 9}'
        assert set(station_settings.values_of(station)) == {"NO_SHOW_LIMIT"}
        station.settings_json = "not json"
        assert station_settings.values_of(station) == {}


# -- the page 站点设置 --------------------------------------------------------------------------

def form_of(browser) -> dict:
    """The settings form as shown, ready to send back."""
    import re
    page = browser.get("/station/settings").get_data(as_text=True)
    data = {"csrf_token": csrf_token(browser, "/station/settings")}
    for name, value in re.findall(r'<input id="f-[a-z_]+" name="([a-z_]+)" type="text" value="([^"]*)"', page):
        data[name] = value.replace("&#39;", "'")
    data["route_in_order"] = "true" if 'value="true" selected' in page else "false"
    return data


def test_the_page_shows_each_group_the_defaults_and_is_for_admins(app, two):
    admin = signed_in(app, two["admin_a"])
    page = admin.get("/station/settings").get_data(as_text=True)
    for group in ("等级", "线索积分", "值班与缺勤", "服务时长", "积分有效期", "积分超市"):
        assert f"<h2>{group}</h2>" in page
    assert "默认：1.5" in page and page.count("恢复默认") == 1  # the explanation only: nothing set here
    assert "/station/settings" in admin.get("/manage").get_data(as_text=True)
    coordinator = signed_in(app, two["coord_a"])
    assert "/station/settings" not in coordinator.get("/manage").get_data(as_text=True)
    assert coordinator.get("/station/settings").status_code == 403
    assert signed_in(app, two["clerk_a"]).get("/station/settings").status_code == 403


def test_the_page_saves_what_changed_refuses_in_place_and_goes_back_to_default(app, two):
    admin = signed_in(app, two["admin_a"])
    data = form_of(admin)
    saved = admin.post("/station/settings", data={**data, "night_factor": "2", "route_in_order": "true"})
    assert saved.status_code == 303
    assert json.loads(own_json(app, two["first"])) == {"NIGHT_FACTOR": 2.0, "ROUTE_IN_ORDER": True}  # only these
    page = admin.get("/station/settings").get_data(as_text=True)
    assert page.count("恢复默认") == 1 + 2  # the page's explanation, then one button per value set here
    refused = admin.post("/station/settings", data={**form_of(admin), "no_show_limit": "٣", "voucher_days": "7"},
                         headers={"HX-Request": "true"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="e-no_show_limit"' in text and "<html" not in text and 'value="٣"' in text
    assert json.loads(own_json(app, two["first"])) == {"NIGHT_FACTOR": 2.0, "ROUTE_IN_ORDER": True}
    reset = admin.post("/station/settings", data={**form_of(admin), "reset": "night_factor"},
                       headers={"HX-Request": "true"})
    assert reset.status_code == 200 and "已保存" in reset.get_data(as_text=True)
    assert json.loads(own_json(app, two["first"])) == {"ROUTE_IN_ORDER": True}
    emptied = admin.post("/station/settings", data={**form_of(admin), "route_in_order": "", "voucher_days": ""})
    assert emptied.status_code == 303 and own_json(app, two["first"]) == "{}"
    unknown = admin.post("/station/settings", data={**form_of(admin), "reset": "secret_key"})
    assert unknown.status_code == 422 and "这不是站点可以自行设置的项目" in unknown.get_data(as_text=True)


def test_a_county_admin_sets_the_station_chosen_in_the_header(app, two):
    boss = signed_in(app, two["boss"])
    boss.post("/station", data={"csrf_token": csrf_token(boss, "/"), "station_id": two["second"].id, "next": "/"})
    assert boss.post("/station/settings", data={**form_of(boss), "voucher_days": "9"}).status_code == 303
    assert own_json(app, two["second"]) == '{"VOUCHER_DAYS": 9}' and own_json(app, two["first"]) == "{}"


# -- cost: a station's values come with the row every request reads ---------------------------

def test_a_stations_own_values_add_no_statement_to_a_request(api, two):
    """A request runs the same statements whether its station set values or not: they come
    with the station's row, which the token lookup reads anyway."""
    from sqlalchemy import event as sa_event
    engine = api.app.extensions["db_engine"]

    def statements_of(call) -> list[str]:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement.split()[0].upper())

        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            answer = call()
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code < 300, answer.json
        return seen

    def me():
        return api.get("/api/v1/me", user=two["member_a"])

    me()  # the token issued and the caches warm
    plain = statements_of(me)
    api.patch(url(two["first"]), user=two["admin_a"], json={"night_factor": 2, "level_thresholds": "新:0,老:5",
                                                             "points_expire": "months:12"})
    assert statements_of(me) == plain
    assert api.get("/api/v1/me", user=two["member_a"]).json["level"] == "新"


def test_remind_speaks_each_stations_own_time(app, two, monkeypatch):
    """``remind`` goes station by station: each reminder gives the shift's start in the time of
    the shift's own station."""
    from volunteer_app.models import Notice, ShiftSignup, Team
    start = (utcnow() + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    with arrange(app) as session:
        session.get(Station, two["second"].id).timezone = "America/Los_Angeles"
        for key, station in (("a", two["first"]), ("b", two["second"])):
            team = session.exec(select(Team).where(Team.station_id == station.id)).first()
            shift = factories.shift(session, team, starts_at=start, ends_at=start + timedelta(hours=2))
            session.add(ShiftSignup(shift_id=shift.id, user_id=two[f"member_{key}"].id, status="confirmed"))
    monkeypatch.setattr(cli, "create_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["remind"])
    assert result.exit_code == 0 and "2 reminders sent" in result.output, result.output
    with arrange(app, write=False) as session:
        said = {key: session.exec(select(Notice.body).where(Notice.user_id == two[f"member_{key}"].id)).one()
                for key in "ab"}
    from zoneinfo import ZoneInfo
    for key, zone in (("a", "Asia/Shanghai"), ("b", "America/Los_Angeles")):
        assert start.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") in said[key]


def test_changes_made_at_once_each_keep_the_others(api, two):
    """Six admins' changes of six settings at the same moment (real threads, one client each):
    every one is kept, none written over by another's older reading of the station."""
    from .conftest import at_once
    changes = [{"no_show_limit": 5}, {"voucher_days": 9}, {"night_factor": 2}, {"makeup_max_days": 10},
               {"outing_gap_minutes": 30}, {"route_in_order": True}]
    token = factories.token_for(api.app, two["admin_a"])
    clients = [api.app.test_client() for _ in changes]

    def patch(client, body):
        answer = client.patch(url(two["first"]), json=body, headers={"Authorization": f"Bearer {token}"})
        return answer.status_code

    assert at_once([lambda c=c, b=b: patch(c, b) for c, b in zip(clients, changes)]) == [200] * len(changes)
    assert json.loads(own_json(api.app, two["first"])) == {
        "NO_SHOW_LIMIT": 5, "VOUCHER_DAYS": 9, "NIGHT_FACTOR": 2.0, "MAKEUP_MAX_DAYS": 10, "OUTING_GAP_MINUTES": 30,
        "ROUTE_IN_ORDER": True}
