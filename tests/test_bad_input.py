"""Bad ids, numbers, days and times, fed to every endpoint and page that takes one.

Each row of the tables below gets every value of ``BAD``: years 1 and 9999, a time without an
offset, ``0.5``, Unicode digits (``²``, ``٣``), a number beyond any id, ``-1`` and nothing. The
API must answer 422 naming the field, a page a 4xx or its message, never a 500, and nothing may
be written. ``test_every_api_field_is_in_the_table`` walks the API's endpoints so that a new
id or time cannot be left out of the table; path segments are walked from the URL map.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel
from werkzeug.exceptions import NotFound

from volunteer_app import db, parsing
from volunteer_app.services import care, checkpoints, mediation, sponsors, units
from volunteer_app.models.base import MAX_ID
from volunteer_app.timeutil import utcnow
from volunteer_app.web.api.base import ENDPOINTS
from volunteer_app.web.pages.store import VISIT_KEY

from . import factories
from .conftest import csrf_token, sign_in

pytestmark = pytest.mark.usefixtures("english_pages")  # the page assertions read English

#: Every shape of bad input; each row is fed all of them.
BAD = [
    "0001-01-01T00:00:00+14:00",  # year 1: beyond the range of UTC once the offset is taken off
    "9999-12-31T23:59:59-12:00",  # year 9999: likewise, the other way
    "0001-01-01",
    "9999-12-31",
    "2026-11-23T08:00:00",  # no offset
    "0.5",  # lax parsing would take it as a timestamp
    "²",  # "²".isdigit() is True, int("²") raises
    "٣",  # "٣".isdigit() is True, int("٣") is 3
    "99999999999999999999",  # beyond any id (and any 64-bit integer)
    "-1",
    "",
]
#: Path segments that name no row: the ``id`` converter must not match them (404, never 500).
BAD_PATH = ["²", "٣", "99999999999999999999", str(MAX_ID + 1), "0", "-1"]


@pytest.fixture
def world(app):
    """A station with a team, its coordinator (also admin and clerk), a volunteer, a checkpoint,
    an event, a shift, a tip and a store item."""
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        team = factories.team(session)
        boss = factories.user(session, roles=["admin", "coordinator", "clerk"], team=team, team_role="coordinator")
        volunteer = factories.user(session, team=team, balance=50)
        checkpoint = factories.checkpoint(session, team=team)
        event = factories.event(session, team=team)
        start = utcnow().replace(microsecond=0) + timedelta(days=2)
        shift = factories.shift(session, team, starts_at=start, ends_at=start + timedelta(hours=2), route=[checkpoint])
        tip = factories.tip(session, volunteer)
        item = factories.store_item(session, cost=5, stock=5)
        sponsor = sponsors.create(session, boss, name="爱心超市")
        record = factories.service_record(session, volunteer, start - timedelta(days=5), 60, source="makeup",
                                          status="pending")
        household = care.create_household(session, boss, kind="other", label="1组 A", volunteer_ids=[volunteer.id])
        case = mediation.log_case(session, boss, started_at=start - timedelta(days=10),
                                  ended_at=start - timedelta(days=10, minutes=-30), place="调解室", parties=["甲", "乙"],
                                  dispute_kind="neighbour", mediator_ids=[volunteer.id], outcome="settled")
        unit = units.create_unit(session, boss, team.id, name="一分队")
        ids = {"team": team.id, "unit": unit.id, "boss": boss.id, "volunteer": volunteer.id, "checkpoint": checkpoint.id,
               "event": event.id, "shift": shift.id, "tip": tip.id, "item": item.id, "record": record.id,
               "sponsor": sponsor.id, "household": household.id, "case": case.id,
               "poster": checkpoints.token(checkpoint), "station": team.station_id}
    return {"ids": ids, "boss": boss, "volunteer": volunteer}


#: Tables a request may touch however it ends: a token's or session's last use, and the shared
#: cache of what was computed over many people (boards, hours by team), which a page refusing one
#: field may still fill for the rest it shows.
TOUCHED_BY_ANY_REQUEST = {"api_tokens", "leaderboard_cache"}


def snapshot(app) -> dict[str, list]:
    """Every row of every table (the database is small): equal before and after a refused
    request means nothing was written."""
    with app.extensions["db_engine"].connect() as conn:
        return {table.name: sorted(map(repr, conn.execute(select(table)).all()))
                for table in SQLModel.metadata.sorted_tables if table.name not in TOUCHED_BY_ANY_REQUEST}


# -- the API --------------------------------------------------------------------------------------

@dataclass
class ApiRow:
    method: str
    rule: str  # as registered (``/users/<id:user_id>/ledger``)
    field: str
    where: str  # "query" or "body"
    path: str = ""  # the rule with the world's ids (``/users/{volunteer}/ledger``); default: the rule
    body: dict = field(default_factory=dict)  # a body the field is put into

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule} {self.where}.{self.field}"


SHIFT = {"team_id": "{team}", "title": "夜巡", "starts_at": "2026-12-10T19:00:00+08:00",
         "ends_at": "2026-12-10T21:00:00+08:00", "capacity": 3, "checkpoint_ids": ["{checkpoint}"]}
EVENT = {"title": "反诈宣传", "starts_at": "2026-12-10T09:00:00+08:00", "ends_at": "2026-12-10T11:00:00+08:00",
         "team_id": "{team}"}
ON_BEHALF = {"user_id": "{volunteer}", "checkpoint_id": "{checkpoint}"}
MAKEUP = {"kind": "patrol", "started_at": "2026-12-01T09:00:00+08:00", "ended_at": "2026-12-01T10:00:00+08:00",
          "place": "湖滨", "note": "补录"}
ENTRY = {**MAKEUP, "user_id": "{volunteer}"}
CASE = {"started_at": "2026-12-01T09:00:00+08:00", "ended_at": "2026-12-01T10:00:00+08:00", "place": "调解室",
        "parties": ["甲"], "dispute_kind": "family", "outcome": "settled"}
SERIES = {**EVENT, "until": "2026-12-31T09:00:00+08:00"}
VISIT = {"started_at": "2026-12-01T09:00:00+08:00", "ended_at": "2026-12-01T10:00:00+08:00"}

API_ROWS = [
    ApiRow("GET", "/checkpoints", "team_id", "query"),
    ApiRow("GET", "/shifts", "since", "query"),
    ApiRow("GET", "/shifts", "until", "query"),
    ApiRow("GET", "/shifts", "team_id", "query"),
    ApiRow("GET", "/checkins", "user_id", "query"),
    ApiRow("GET", "/checkins", "since", "query"),
    ApiRow("GET", "/checkins", "until", "query"),
    ApiRow("GET", "/users/<id:user_id>/ledger", "before_id", "query", "/users/{volunteer}/ledger"),
    ApiRow("GET", "/leaderboard", "team_id", "query"),
    ApiRow("POST", "/users", "team_id", "body", body={"username": "newcomer", "password": "patrol-lantern-42",
                                                        "display_name": "新来的"}),
    ApiRow("POST", "/teams/<id:team_id>/members", "user_id", "body", "/teams/{team}/members", {"role": "member"}),
    ApiRow("POST", "/shifts", "team_id", "body", body=SHIFT),
    ApiRow("POST", "/shifts", "starts_at", "body", body=SHIFT),
    ApiRow("POST", "/shifts", "ends_at", "body", body=SHIFT),
    ApiRow("POST", "/shifts", "checkpoint_ids", "body", body=SHIFT),
    ApiRow("POST", "/shifts", "repeat_weekly_until", "body", body=SHIFT),
    ApiRow("POST", "/checkpoints", "team_id", "body", body={"name": "新巡逻点"}),
    ApiRow("PATCH", "/checkpoints/<id:checkpoint_id>", "team_id", "body", "/checkpoints/{checkpoint}"),
    ApiRow("POST", "/events", "starts_at", "body", body=EVENT),
    ApiRow("POST", "/events", "ends_at", "body", body=EVENT),
    ApiRow("POST", "/events", "team_id", "body", body=EVENT),
    ApiRow("POST", "/checkins", "scanned_at", "body", body={"code": "E1-123456"}),
    ApiRow("POST", "/checkins/on-behalf", "user_id", "body", body=ON_BEHALF),
    ApiRow("POST", "/checkins/on-behalf", "checkpoint_id", "body", body=ON_BEHALF),
    ApiRow("POST", "/checkins/on-behalf", "event_id", "body", body={"user_id": "{volunteer}"}),
    ApiRow("POST", "/store/redemptions", "user_id", "body", body={"item_id": "{item}"}),
    ApiRow("POST", "/store/redemptions", "item_id", "body", body={"user_id": "{volunteer}"}),
    ApiRow("POST", "/tips/<id:tip_id>/triage", "due_at", "body", "/tips/{tip}/triage", {"level": "red"}),
    ApiRow("POST", "/awards", "user_id", "body", body={"title": "好人好事", "points": 5}),
    ApiRow("GET", "/users/<id:user_id>/service", "since", "query", "/users/{volunteer}/service"),
    ApiRow("GET", "/users/<id:user_id>/service", "until", "query", "/users/{volunteer}/service"),
    ApiRow("POST", "/service/makeups", "started_at", "body", body=MAKEUP),
    ApiRow("POST", "/service/makeups", "ended_at", "body", body=MAKEUP),
    ApiRow("POST", "/service/makeups", "checkpoint_id", "body", body=MAKEUP),
    ApiRow("POST", "/service/entries", "user_id", "body", body=ENTRY),
    ApiRow("POST", "/service/entries", "started_at", "body", body=ENTRY),
    ApiRow("POST", "/service/entries", "ended_at", "body", body=ENTRY),
    ApiRow("POST", "/service/<id:record_id>/confirm", "started_at", "body", "/service/{record}/confirm"),
    ApiRow("POST", "/service/<id:record_id>/confirm", "ended_at", "body", "/service/{record}/confirm"),
    ApiRow("POST", "/callouts", "team_ids", "body", body={"title": "湖滨路需要支援", "needed": 2}),
    ApiRow("POST", "/callouts", "checkpoint_id", "body", body={"title": "湖滨路需要支援", "needed": 2}),
    ApiRow("POST", "/callouts/<id:callout_id>/arrived", "user_id", "body", "/callouts/1/arrived"),
    ApiRow("POST", "/store/items", "sponsor_id", "body", body={"name": "餐券", "cost": 10, "stock": 1}),
    ApiRow("PATCH", "/store/items/<id:item_id>", "sponsor_id", "body", "/store/items/{item}"),
    ApiRow("POST", "/sponsors/<id:sponsor_id>/gifts", "item_id", "body", "/sponsors/{sponsor}/gifts",
           {"quantity": 1}),
    ApiRow("POST", "/sponsors/<id:sponsor_id>/gifts", "received_on", "body", "/sponsors/{sponsor}/gifts",
           {"item_id": "{item}", "quantity": 1}),
    ApiRow("GET", "/sponsors/<id:sponsor_id>/report", "since", "query", "/sponsors/{sponsor}/report",
           {"until": "2026-12-31"}),
    ApiRow("GET", "/sponsors/<id:sponsor_id>/report", "until", "query", "/sponsors/{sponsor}/report",
           {"since": "2026-01-01"}),
    ApiRow("POST", "/users", "station_id", "body", body={"username": "newcomer", "password": "patrol-lantern-42",
                                                           "display_name": "新来的"}),
    ApiRow("POST", "/register", "station_id", "body", body={"username": "newcomer", "password": "patrol-lantern-42",
                                                              "display_name": "新来的"}),
    ApiRow("GET", "/stations/<id:station_id>/invite", "team_id", "query", "/stations/{station}/invite"),
    ApiRow("GET", "/county/summary", "since", "query"),
    ApiRow("GET", "/county/summary", "until", "query"),
    ApiRow("POST", "/mediation/cases", "started_at", "body", body=CASE),
    ApiRow("POST", "/mediation/cases", "ended_at", "body", body=CASE),
    ApiRow("POST", "/mediation/cases", "mediator_ids", "body", body=CASE),
    ApiRow("POST", "/mediation/cases", "tip_id", "body", body=CASE),
    ApiRow("GET", "/mediation/cases", "since", "query"),
    ApiRow("GET", "/mediation/cases", "until", "query"),
    ApiRow("POST", "/mediation/cases/<id:case_id>/follow-up", "at", "body", "/mediation/cases/{case}/follow-up",
           {"satisfaction": "satisfied"}),
    ApiRow("GET", "/users/<id:user_id>/record", "first", "query", "/users/{volunteer}/record"),
    ApiRow("GET", "/users/<id:user_id>/record", "last", "query", "/users/{volunteer}/record"),
    ApiRow("POST", "/publicity/series", "starts_at", "body", body=SERIES),
    ApiRow("POST", "/publicity/series", "ends_at", "body", body=SERIES),
    ApiRow("POST", "/publicity/series", "until", "body", body=SERIES),
    ApiRow("POST", "/publicity/series", "team_id", "body", body=SERIES),
    ApiRow("GET", "/publicity/reach", "since", "query"),
    ApiRow("GET", "/publicity/reach", "until", "query"),
    ApiRow("GET", "/mediation/pool", "since", "query"),
    ApiRow("GET", "/mediation/pool", "until", "query"),
    ApiRow("POST", "/care/households", "volunteer_ids", "body", body={"kind": "other", "label": "2组 B"}),
    ApiRow("PATCH", "/care/households/<id:household_id>", "volunteer_ids", "body", "/care/households/{household}"),
    ApiRow("POST", "/care/households/<id:household_id>/visits", "started_at", "body",
           "/care/households/{household}/visits", VISIT),
    ApiRow("POST", "/care/households/<id:household_id>/visits", "ended_at", "body",
           "/care/households/{household}/visits", VISIT),
    ApiRow("POST", "/care/households/<id:household_id>/visits", "visitor_ids", "body",
           "/care/households/{household}/visits", VISIT),
    ApiRow("GET", "/shifts", "unit_id", "query"),
    ApiRow("POST", "/shifts", "unit_id", "body", body=SHIFT),
    ApiRow("GET", "/leaderboard", "unit_id", "query"),
    ApiRow("POST", "/teams/<id:team_id>/units", "leader_ids", "body", "/teams/{team}/units", {"name": "二分队"}),
    ApiRow("PATCH", "/units/<id:unit_id>", "leader_ids", "body", "/units/{unit}"),
    ApiRow("PUT", "/units/<id:unit_id>/members", "user_ids", "body", "/units/{unit}/members"),
    ApiRow("PUT", "/units/<id:unit_id>/members", "leader_ids", "body", "/units/{unit}/members", {"user_ids": []}),
]


def _takes_id_or_time(name: str, annotation) -> bool:
    described = repr(annotation).lower()
    return (name == "id" or name.endswith(("_id", "_ids")) or name in ("since", "until")
            or "datetime" in described or "date" in described)


def test_every_api_field_is_in_the_table():
    """A new endpoint (or field) that takes an id or a time must join API_ROWS."""
    taken = set()
    for endpoint in ENDPOINTS:
        for where, model in (("query", endpoint.query), ("body", endpoint.body)):
            for name, info in (model.model_fields.items() if model else ()):
                if _takes_id_or_time(name, info.annotation):
                    taken.add(f"{endpoint.method} {endpoint.rule} {where}.{name}")
    assert taken, "the walk found no field at all"
    assert taken - {row.id for row in API_ROWS} == set()
    assert {row.id for row in API_ROWS} - taken == set()


def _fill(value, ids: dict):
    """``"{team}"`` -> the team's id, in nested bodies."""
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _json_shapes(value: str) -> list:
    """A bad value as a JSON string and, where it reads as a number, as a JSON number too."""
    shapes: list = [value]
    if re.fullmatch(r"-?[0-9.]+", value):
        shapes.append(float(value) if "." in value else int(value))
    return shapes


@pytest.mark.parametrize("row", API_ROWS, ids=lambda row: row.id)
def test_api_refuses_bad_ids_and_times(app, api, world, row):
    ids = world["ids"]
    path = "/api/v1" + (row.path or row.rule).format(**ids)
    api.headers(world["boss"])  # the token is issued before the count
    before = snapshot(app)
    for raw in BAD:
        for value in (_json_shapes(raw) if row.where == "body" else [raw]):
            if row.where == "query":
                response = api.request(row.method, path, query_string={row.field: value}, user=world["boss"])
            else:
                body = _fill(row.body, ids)
                body[row.field] = [value] if row.field.endswith("_ids") else value
                response = api.request(row.method, path, json=body, user=world["boss"])
            said = f"{row.id} = {value!r}: {response.status_code} {response.get_data(as_text=True)[:300]}"
            assert response.status_code == 422, said
            problem = response.get_json()
            assert problem["code"] == "validation_error", said
            assert any(error["field"].split(".")[0] == row.field for error in problem["errors"]), said
    assert snapshot(app) == before, f"{row.id} wrote something"


def test_api_accepts_good_ids_and_times(api, world):
    """The same parsers let good values through (the rows above cannot pass by refusing all)."""
    ids = world["ids"]
    answer = api.get("/api/v1/shifts", query_string={"since": "2026-01-01T00:00:00+08:00",
                                                      "until": "2100-12-31T23:59:59Z", "team_id": str(ids["team"])},
                     user=world["boss"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [shift["id"] for shift in answer.get_json()["shifts"]] == [ids["shift"]]
    made = api.post("/api/v1/shifts", json=_fill({**SHIFT, "repeat_weekly_until": "2026-12-24"}, ids),
                    user=world["boss"])
    assert made.status_code == 201, made.get_data(as_text=True)
    assert len(made.get_json()["shifts"]) == 3


# -- path segments (API and pages) ----------------------------------------------------------------

def _id_rules(app):
    for rule in app.url_map.iter_rules():
        names = [name for name, converter in rule._converters.items() if converter.__class__.__name__ == "IdConverter"]
        if names:
            yield rule, names


def test_the_id_converter_takes_every_id_and_nothing_else(app):
    assert len(list(_id_rules(app))) > 40, "the id converter is no longer used: check this test's walk"
    urls = app.url_map.bind("localhost")
    for good in (1, 9, 10, 99, 1999999999, 2099999999, 2147483639, MAX_ID - 1, MAX_ID):
        assert urls.match(f"/api/v1/checkpoints/{good}") == ("api.checkins_get_checkpoint", {"checkpoint_id": good})
    for bad in BAD_PATH + ["007", "2147483650", "3000000000", "21474836470"]:
        with pytest.raises(NotFound):
            urls.match(f"/api/v1/checkpoints/{bad}")


def test_bad_path_ids_are_not_found(app, client, api, world):
    """``<id:...>`` segments: Unicode digits, ids beyond the column and 0 match no route (404)."""
    sign_in(client, world["boss"])
    api.headers(world["boss"])
    before = snapshot(app)
    for rule, names in _id_rules(app):
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        for name in names:
            for bad in BAD_PATH:
                values = {arg: ("1" if arg in names else _other_arg(rule, arg)) for arg in rule.arguments}
                values[name] = bad
                path = _build(rule, values)
                opener = api if rule.rule.startswith("/api/") else client
                response = (api.request(method, path, user=world["boss"]) if opener is api
                            else client.open(path, method=method))
                assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    assert snapshot(app) == before


def _other_arg(rule, arg: str) -> str:
    converter = rule._converters.get(arg)
    items = getattr(converter, "items", None)
    return sorted(items)[0] if items else "x"


def _build(rule, values: dict) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda match: values[match.group(1)], rule.rule)


# -- pages ----------------------------------------------------------------------------------------

@dataclass
class PageRow:
    method: str
    path: str  # with the world's ids: ``/manage/shifts/{shift}/edit``
    field: str  # the query or form field the bad value goes into (``qty_{}``: into the name)
    form: dict = field(default_factory=dict)  # the rest of the form (or query)
    #: What the page does with a bad value: "4xx" (a 4xx page or form with the message),
    #: "message" (a 4xx, or the page with ``message`` in it), "flash" (a redirect with an error
    #: notice), "ok" (free text or a highlight, no id taken: any answer but a 5xx).
    expect: str = "4xx"
    message: str = ""
    #: Values that are real choices here (empty: "any team", "today"): answered, maybe written.
    fine: tuple[str, ...] = ()
    counter_visit: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} {self.field}"


SHIFT_FORM = {"title": "夜巡", "day": "2026-12-10", "start": "19:00", "end": "21:00", "capacity": "3",
              "points_per_hour": "10", "team_id": "{team}", "stop1": "{checkpoint}"}
EVENT_FORM = {"title": "反诈宣传", "location": "社区", "day": "2026-12-10", "start": "09:00", "end": "11:00",
              "points": "10", "team_id": ""}
REPORT_DATE = "Enter a date"
NONE = ("",)  # nothing chosen

PAGE_ROWS = [
    PageRow("GET", "/points", "before", fine=NONE),
    PageRow("GET", "/manage/checkpoints", "team_id", fine=NONE),
    PageRow("GET", "/manage/checkpoints/posters", "team_id", fine=NONE),
    PageRow("GET", "/leaderboard", "team_id", {"scope": "team"}, fine=NONE),
    PageRow("GET", "/manage/dashboard", "team", fine=NONE),
    PageRow("GET", "/reports", "team", fine=NONE),
    PageRow("GET", "/reports", "from", expect="message", message=REPORT_DATE, fine=NONE),
    PageRow("GET", "/reports", "to", expect="message", message=REPORT_DATE, fine=NONE),
    PageRow("GET", "/reports/certificate/{volunteer}", "from", expect="message", message=REPORT_DATE,
            fine=NONE),
    PageRow("GET", "/reports/checkins.csv", "from", fine=NONE),
    PageRow("GET", "/reports/checkins.csv", "user", fine=NONE),
    PageRow("GET", "/reports/checkins.csv", "team", fine=NONE),
    PageRow("GET", "/reports/ledger.csv", "to", fine=NONE),
    PageRow("GET", "/reports/ledger.csv", "user", fine=NONE),
    PageRow("GET", "/reports/hours-volunteers.csv", "team", fine=NONE),
    PageRow("GET", "/reports/hours-teams.csv", "from", fine=NONE),
    PageRow("GET", "/reports/store.csv", "from", fine=NONE),
    PageRow("GET", "/reports", "unit_id", fine=NONE),
    PageRow("GET", "/reports/grids.csv", "unit_id", fine=NONE),
    PageRow("GET", "/reports/grids.csv", "from", fine=NONE),
    PageRow("GET", "/manage/audit", "from", expect="message", message=REPORT_DATE, fine=NONE),
    PageRow("GET", "/manage/audit", "to", expect="message", message=REPORT_DATE, fine=NONE),
    PageRow("GET", "/manage/audit", "target_id", fine=NONE),
    PageRow("GET", "/manage/audit", "page", expect="ok"),  # a page number: the first for anything else
    PageRow("GET", "/manage/audit", "actor", expect="ok"),  # a name or an id: text is a search
    PageRow("GET", "/manage/users", "page", expect="ok"),
    PageRow("GET", "/manage/shifts", "team", fine=NONE),
    PageRow("GET", "/manage/shifts", "week", fine=NONE),
    PageRow("GET", "/counter/summary", "day", fine=NONE),
    PageRow("POST", "/store/sponsors/{sponsor}", "item_id", {"quantity": "1"}),
    PageRow("POST", "/store/manage", "sponsor_id", {"name": "餐券", "cost": "10", "stock": "1", "kind": "voucher"},
            fine=NONE),
    PageRow("POST", "/store/sponsors/{sponsor}", "quantity", {"item_id": "{item}"}),
    PageRow("POST", "/store/sponsors/{sponsor}", "received_on", {"item_id": "{item}", "quantity": "1"},
            fine=NONE),
    PageRow("POST", "/store/sponsors/{sponsor}", "value", {"item_id": "{item}", "quantity": "1"}, fine=NONE),
    PageRow("GET", "/store/sponsors/{sponsor}/letter", "year", expect="ok"),
    PageRow("GET", "/counter/export.csv", "day", fine=NONE),
    PageRow("GET", "/counter/export.csv", "since", fine=NONE),
    PageRow("GET", "/counter/export.csv", "until", fine=NONE),
    PageRow("GET", "/tips/mine", "filed", expect="ok"),  # only highlights a tip just sent
    PageRow("GET", "/manage/awards", "user_id", expect="ok"),  # only fills the form in
    PageRow("GET", "/shifts/feed/{}-x.ics", "token", expect="4xx"),
    PageRow("POST", "/manage/events", "day", EVENT_FORM),
    PageRow("POST", "/manage/events", "team_id", EVENT_FORM, fine=NONE),
    PageRow("POST", "/manage/checkpoints/new", "team_id", {"name": "新巡逻点"}, fine=NONE),
    PageRow("POST", "/manage/checkpoints/{checkpoint}", "team_id", {"name": "改名", "has_active": "1", "active": "1"},
            fine=NONE),
    PageRow("POST", "/c/{poster}", "scanned_at", {"client_ref": "bad-input"}, fine=NONE),
    PageRow("POST", "/manage/leader-checkin", "user_id", {"place": "checkpoint:{checkpoint}"}),
    PageRow("POST", "/manage/leader-checkin", "place", {"user_id": "{volunteer}"}),
    PageRow("POST", "/manage/awards", "user_id", {"title": "好人好事", "points": "5"}),
    PageRow("POST", "/manage/shifts/new", "day", SHIFT_FORM),
    PageRow("POST", "/manage/shifts/new", "team_id", SHIFT_FORM),
    PageRow("POST", "/manage/shifts/new", "stop1", SHIFT_FORM, fine=NONE),
    PageRow("POST", "/manage/shifts/new", "repeat_until", SHIFT_FORM, fine=NONE),
    PageRow("POST", "/manage/shifts/{shift}/edit", "day", SHIFT_FORM),
    PageRow("POST", "/manage/shifts/{shift}/edit", "stop1", SHIFT_FORM, fine=NONE),
    PageRow("POST", "/manage/shifts/copy-week", "team_id", {"week": "2026-12-07"}, fine=NONE),
    PageRow("POST", "/manage/shifts/copy-week", "week", {"team_id": "{team}"}, fine=NONE),
    PageRow("POST", "/manage/tips/{tip}/triage", "due_date", {"level": "red"}, fine=NONE),
    PageRow("POST", "/manage/personal-data", "user_id", {"confirm": "yes"}, expect="flash"),
    PageRow("POST", "/manage/users/{volunteer}/points", "amount", {"reason": "更正"}, fine=("-1",)),
    PageRow("POST", "/counter/redeem", "qty_{}", {}, counter_visit=True),
    PageRow("POST", "/station/settings", "no_show_limit", fine=NONE),
    PageRow("POST", "/station/settings", "night_factor", fine=NONE),
    PageRow("POST", "/station/settings", "voucher_days", fine=NONE),
    PageRow("POST", "/station/settings", "points_expire", fine=NONE),
]


def _page_request(client, row: PageRow, value: str, ids: dict, token: str):
    data = {key: (_fill(item, ids) if isinstance(item, str) else item) for key, item in row.form.items()}
    path = row.path.format(**ids) if "{}" not in row.path else row.path.format(value)
    if row.field == "qty_{}":
        data[f"qty_{value}"] = "1"
    elif row.field == "place":
        data["place"] = f"checkpoint:{value}"
    elif row.field != "token":
        data[row.field] = value
    data = {key: str(item) for key, item in data.items()}
    if row.method == "GET":
        return client.get(path, query_string=data)
    return client.post(path, data={**data, "csrf_token": token})


@pytest.mark.parametrize("row", PAGE_ROWS, ids=lambda row: row.id)
def test_pages_refuse_bad_ids_and_dates(app, client, world, row):
    ids = world["ids"]
    sign_in(client, world["boss"])
    token = csrf_token(client, "/profile")
    for value in BAD:
        if value == "" and row.path.startswith("/shifts/feed/"):
            continue  # "/shifts/feed/-x.ics" is another token, refused like any unknown one
        if row.counter_visit:
            with client.session_transaction() as web_session:
                web_session[VISIT_KEY] = ids["volunteer"]
        before = snapshot(app)
        response = _page_request(client, row, value, ids, token)
        page = response.get_data(as_text=True)
        said = f"{row.id} = {value!r}: {response.status_code} {page[:300]}"
        assert response.status_code < 500, said
        if value in row.fine:
            continue
        assert snapshot(app) == before, f"{said}: something was written"
        if row.expect == "4xx":
            assert 400 <= response.status_code < 500, said
        elif row.expect == "message":
            assert 400 <= response.status_code < 500 or row.message in page, said
        elif row.expect == "flash":
            assert response.status_code in (302, 303), said
            with client.session_transaction() as web_session:
                flashes = web_session.pop("_flashes", [])
            assert any(category == "error" for category, _message in flashes), said


def test_parsers_read_ascii_digits_and_bounded_years():
    """The one parser every face uses, on its own."""
    assert parsing.parse_id("42") == 42
    assert parsing.parse_id(" 7 ") == 7
    assert parsing.parse_id(str(MAX_ID)) == MAX_ID
    for bad in ("²", "٣", "0", "-1", str(MAX_ID + 1), "99999999999999999999", "1e3", "0x10", "", "4 2"):
        with pytest.raises(parsing.BadValue):
            parsing.parse_id(bad)
    assert parsing.parse_int("-5", -10, 10) == -5
    with pytest.raises(parsing.BadValue):
        parsing.parse_int("11", -10, 10)
    assert parsing.parse_day("2026-11-23") == date(2026, 11, 23)
    assert parsing.parse_day("2100-12-31") == date(2100, 12, 31)
    for bad in ("1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31", "2026-11-23T08:00:00+08:00", "٢٠٢٦-١١-٢٣",
                "2026-02-30", "20261123", "0.5", ""):
        with pytest.raises(parsing.BadValue):
            parsing.parse_day(bad)
    assert parsing.parse_time("2026-11-23T08:00:00+08:00").isoformat() == "2026-11-23T08:00:00+08:00"
    assert parsing.parse_time("2026-11-23T00:00:00Z").utcoffset() == timedelta(0)
    assert parsing.parse_time("2000-01-01T00:00:00+14:00").year == 2000
    for bad in ("2026-11-23T08:00:00", "1999-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "0.5", "1700000000",
                "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2026-11-23", "²", ""):
        with pytest.raises(parsing.BadValue):
            parsing.parse_time(bad)
