"""Bad input of every shape, security headers, and cookies that never authorize the API.

The generic tests walk every registered API endpoint (so endpoints added later are covered
without a change here): whatever the input, the answer is a 4xx problem+json with a message,
never a 500, and no row is written.
"""
from __future__ import annotations

import contextlib
import json
import re
import typing

import pytest
from pydantic import AwareDatetime
from sqlalchemy import func
from sqlmodel import SQLModel, select

from volunteer_app import db
from volunteer_app.web.api.base import ENDPOINTS

from . import factories
from .conftest import arrange, csrf_token

PATH_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
LONG = "长" * 10_000


#: The rate limits' counters: a refusal is recorded there by design (a refused check-in code,
#: a failed login, a registration attempt), nowhere else.
COUNTERS = ("attempts", "login_attempts")


def row_counts(app) -> dict[str, int]:
    """Rows in every table but the counters, in one query."""
    tables = [table for table in SQLModel.metadata.sorted_tables if table.name not in COUNTERS]
    query = select(*[select(func.count()).select_from(table).scalar_subquery().label(table.name)
                     for table in tables])
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as s:
        return dict(s.execute(query).mappings().one())


@pytest.fixture
def world(app):
    """An admin (who may call everything), a team, a coordinator and a volunteer."""
    with arrange(app) as s:
        team = factories.team(s, "东队")
        people = {"admin": factories.admin(s, username="boss"), "team": team,
                  "coord": factories.coordinator(s, team), "vol": factories.user(s, team=team)}
    return people


@pytest.fixture
def admin_headers(app, world):
    return {"Authorization": f"Bearer {factories.token_for(app, world['admin'])}"}


def _path(rule: str, value: str = "1") -> str:
    return "/api/v1" + PATH_PARAM.sub(value, rule) if not rule.startswith("/healthz") else rule


def _assert_problem(response, *, allowed=range(400, 500)) -> dict:
    text = response.get_data(as_text=True)
    assert response.status_code in allowed, (response.status_code, text[:500])
    assert response.mimetype == "application/problem+json", text[:300]
    body = response.get_json()
    assert body["code"] and body["detail"] and body["status"] == response.status_code
    if response.status_code == 422:
        assert body["errors"] and all(error["field"] and error["message"] for error in body["errors"])
    return body


BODY_ENDPOINTS = [e for e in ENDPOINTS if e.body is not None]
PATH_ENDPOINTS = [e for e in ENDPOINTS if PATH_PARAM.search(e.rule)]
QUERY_ENDPOINTS = [e for e in ENDPOINTS if e.query is not None]


def _ids(endpoints):
    return [f"{e.method} {e.rule}" for e in endpoints]


NON_OBJECT_BODIES = {
    "not json": (b"username=a&password=b", "application/x-www-form-urlencoded"),
    "broken json": (b'{"username": "a", ', "application/json"),
    "json array": (b'[{"username": "a"}]', "application/json"),
    "json null": (b"null", "application/json"),
    "json string": (b'"hello"', "application/json"),
    "json number": (b"12", "application/json"),
    "bad utf-8": (b'{"username": "\xff\xfe"}', "application/json"),
    "nul bytes": (b'{"username": "a\\u0000b"}', "application/json"),
    "deep nesting": (b"[" * 5000 + b"]" * 5000, "application/json"),
}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=_ids(BODY_ENDPOINTS))
def test_every_body_endpoint_refuses_non_object_bodies(app, admin_headers, endpoint):
    if endpoint.multipart is not None:
        pytest.skip("multipart endpoint")
    client = app.test_client()
    before = row_counts(app)
    for shape, (data, content_type) in NON_OBJECT_BODIES.items():
        response = client.open(_path(endpoint.rule), method=endpoint.method, data=data,
                               headers={**admin_headers, "Content-Type": content_type})
        body = _assert_problem(response)
        if shape != "nul bytes":
            assert response.status_code in (400, 404, 422), (shape, body)
        assert row_counts(app) == before, shape


def _fields(model) -> dict:
    return model.model_fields


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=_ids(BODY_ENDPOINTS))
def test_every_body_endpoint_refuses_extra_missing_wrong_types_and_huge_strings(app, admin_headers, endpoint):
    if endpoint.multipart is not None:
        pytest.skip("multipart endpoint")
    client = app.test_client()
    path = _path(endpoint.rule)
    before = row_counts(app)

    def send(payload):
        return client.open(path, method=endpoint.method, data=json.dumps(payload),
                           headers={**admin_headers, "Content-Type": "application/json"})

    fields = _fields(endpoint.body)
    # an unknown field is named in the answer
    body = _assert_problem(send({"no_such_field": 1}))
    if body["status"] == 422:
        assert "no_such_field" in [error["field"] for error in body["errors"]]
    # missing required fields are named
    required = [name for name, info in fields.items() if info.is_required()]
    if required:
        body = _assert_problem(send({}))
        assert body["status"] in (404, 422)
        if body["status"] == 422:
            assert set(required) <= {error["field"].split(".")[0] for error in body["errors"]}
    assert row_counts(app) == before
    for name in fields:
        for value in (LONG, 10**30, -(10**30), [], {}, True, None, 1.5, "1", "\u0000"):
            before = row_counts(app)
            response = send({name: value})
            assert response.status_code < 500, (name, value, response.get_data(as_text=True)[:300])
            if response.status_code >= 400:  # a refusal writes nothing (a valid call may)
                _assert_problem(response)
                assert row_counts(app) == before, (name, value)


def _datetime_fields(model) -> list[str]:
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = typing.get_args(annotation) or (annotation,)
        args = [typing.get_args(arg)[0] if typing.get_origin(arg) is typing.Annotated else arg for arg in args]
        if any(arg is AwareDatetime or getattr(arg, "__name__", "") == "AwareDatetime" for arg in args):
            found.append(name)
    return found


DATETIME_ENDPOINTS = [e for e in BODY_ENDPOINTS if _datetime_fields(e.body)]
DATETIME_QUERIES = [e for e in QUERY_ENDPOINTS if _datetime_fields(e.query)]


@pytest.mark.parametrize("endpoint", DATETIME_ENDPOINTS or [None], ids=_ids(DATETIME_ENDPOINTS) or ["none-yet"])
def test_naive_datetimes_are_422(app, admin_headers, endpoint):
    if endpoint is None:
        from pydantic import ValidationError
        from volunteer_app.schemas.common import ApiInput, Timestamp

        class Probe(ApiInput):
            at: Timestamp

        with pytest.raises(ValidationError):
            Probe.model_validate_json('{"at": "2026-11-23T08:00:00"}', strict=True)
        assert Probe.model_validate_json('{"at": "2026-11-23T08:00:00+08:00"}', strict=True).at.utcoffset()
        return
    client = app.test_client()
    before = row_counts(app)
    for name in _datetime_fields(endpoint.body):
        response = client.open(_path(endpoint.rule), method=endpoint.method,
                               data=json.dumps({name: "2026-11-23T08:00:00"}),
                               headers={**admin_headers, "Content-Type": "application/json"})
        body = _assert_problem(response, allowed=(404, 422))
        if body["status"] == 422:
            assert name in [error["field"] for error in body["errors"]], body
    assert row_counts(app) == before


@pytest.mark.parametrize("endpoint", DATETIME_QUERIES or [None], ids=_ids(DATETIME_QUERIES) or ["none-yet"])
def test_naive_datetimes_in_queries_are_422(app, admin_headers, endpoint):
    if endpoint is None:
        pytest.skip("no endpoint takes a time in its query yet")
    client = app.test_client()
    for name in _datetime_fields(endpoint.query):
        response = client.get(_path(endpoint.rule), query_string={name: "2026-11-23T08:00:00"},
                              headers=admin_headers)
        _assert_problem(response, allowed=(404, 422))


@pytest.mark.parametrize("endpoint", QUERY_ENDPOINTS or [None], ids=_ids(QUERY_ENDPOINTS) or ["none-yet"])
def test_every_query_refuses_junk(app, admin_headers, endpoint):
    if endpoint is None:
        pytest.skip("no endpoint takes a query yet")
    client = app.test_client()
    for query in ({"no_such_param": "1"}, {"limit": "abc"}, {"limit": "-1"}, {"limit": "9" * 40},
                  {"limit": "0"}, {"limit": "501"}):
        if "limit" in query and "limit" not in endpoint.query.model_fields:
            continue
        response = client.open(_path(endpoint.rule), method=endpoint.method, query_string=query,
                               headers=admin_headers)
        _assert_problem(response, allowed=(404, 422))


BAD_IDS = ["0", "-1", "-999", "99999999999999999999999", "1.5", "abc", "%00", "1e3", "0x10"]


@pytest.mark.parametrize("endpoint", PATH_ENDPOINTS, ids=_ids(PATH_ENDPOINTS))
def test_bad_and_unknown_ids_in_paths_are_404(app, admin_headers, endpoint):
    client = app.test_client()
    before = row_counts(app)
    for bad in BAD_IDS + ["987654321", str(2**63 - 1)]:
        response = client.open(_path(endpoint.rule, bad), method=endpoint.method, data="{}",
                               headers={**admin_headers, "Content-Type": "application/json"})
        body = _assert_problem(response, allowed=(404, 405, 422))
        if bad in BAD_IDS:
            assert response.status_code == 404, (bad, body)
            assert body["code"] == "not_found"
    assert row_counts(app) == before


@pytest.mark.parametrize("value", [-1, 0, 2**63, 10**40, "1", 1.0, True, None])
def test_bad_ids_in_bodies_are_422(app, admin_headers, world, value):
    client = app.test_client()
    before = row_counts(app)
    response = client.post(f"/api/v1/teams/{world['team'].id}/members", json={"user_id": value},
                           headers=admin_headers)
    body = _assert_problem(response, allowed=(422,))
    assert body["errors"][0]["field"] == "user_id"
    assert row_counts(app) == before


# -- the accounts endpoints, message by message ------------------------------------------------

def test_register_field_messages(app):
    client = app.test_client()
    before = row_counts(app)
    response = client.post("/api/v1/register", json={"username": "ab", "password": 12345678,
                                                      "display_name": LONG, "extra": 1})
    body = _assert_problem(response, allowed=(422,))
    fields = {error["field"]: error["message"] for error in body["errors"]}
    assert set(fields) == {"username", "password", "display_name", "extra"}
    assert fields["extra"] == "Unknown field."
    response = client.post("/api/v1/register", data="not json", content_type="application/json")
    body = _assert_problem(response, allowed=(422,))
    assert body["errors"] == [{"field": "body", "message": "The body is not valid JSON."}]
    response = client.post("/api/v1/register", json=[1, 2])
    body = _assert_problem(response, allowed=(422,))
    assert body["errors"][0]["message"] == "The body must be a JSON object."
    assert row_counts(app) == before


def test_username_rule_is_a_clear_422(app):
    client = app.test_client()
    response = client.post("/api/v1/register", json={"username": "bad name!", "password": "long enough",
                                                      "display_name": "x"})
    body = _assert_problem(response, allowed=(422,))
    assert body["errors"][0]["field"] == "username" and body["errors"][0]["message"]


def test_sql_and_html_in_strings_are_stored_as_text(app):
    client = app.test_client()
    payload = {"username": "robert.tables", "password": "long enough",
               "display_name": "<script>alert(1)</script>'); DROP TABLE users;--"}
    response = client.post("/api/v1/register", json=payload)
    assert response.status_code == 201
    assert response.get_json()["display_name"] == payload["display_name"]
    assert row_counts(app)["users"] == 1


@pytest.mark.parametrize("path", ["/api/v1/register", "/api/v1/auth/token", "/api/v1/teams"])
def test_body_over_one_mib_is_413(app, admin_headers, path):
    client = app.test_client()
    before = row_counts(app)
    big = json.dumps({"username": "x" * (1024 * 1024), "password": "long enough", "display_name": "x"})
    response = client.post(path, data=big, content_type="application/json", headers=admin_headers)
    body = _assert_problem(response, allowed=(413,))
    assert body["code"] == "payload_too_large"
    # a body over the upload limit is refused by the server itself, also as problem+json
    huge = b"{" + b" " * (7 * 1024 * 1024) + b"}"
    response = client.post(path, data=huge, content_type="application/json", headers=admin_headers)
    assert _assert_problem(response, allowed=(413,))["code"] == "payload_too_large"
    assert row_counts(app) == before


def test_chunked_body_over_one_mib_is_413(app):
    import io
    client = app.test_client()
    stream = io.BytesIO(json.dumps({"username": "x" * (1024 * 1024 + 10)}).encode())
    # gunicorn marks a chunked body as terminated, so the app reads it without a length
    response = client.post("/api/v1/register", input_stream=stream, content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_base={"wsgi.input_terminated": True})
    assert _assert_problem(response, allowed=(413,))["code"] == "payload_too_large"


def test_wrong_method_is_405_problem(app):
    response = app.test_client().delete("/api/v1/register")
    assert _assert_problem(response, allowed=(405,))["code"] == "method_not_allowed"


def test_wrong_method_names_the_allowed_ones(app, client):
    response = app.test_client().delete("/api/v1/register")
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"
    response = client.get("/logout")  # a page
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"].split(", ")


#: Every endpoint only staff may call, with the roles that may (admin always may).
STAFF_ENDPOINTS = {
    ("POST", "/users"): ("coordinator",),
    ("POST", "/users/<id:user_id>/approve"): ("coordinator",),
    ("POST", "/users/<id:user_id>/disable"): ("admin",),
    ("POST", "/teams"): ("admin",),
    ("POST", "/teams/<id:team_id>/members"): ("coordinator",),
    ("DELETE", "/teams/<id:team_id>/members/<id:user_id>"): ("coordinator",),
    ("POST", "/checkpoints"): ("coordinator",),
    ("PATCH", "/checkpoints/<id:checkpoint_id>"): ("coordinator",),
    ("GET", "/checkpoints/<id:checkpoint_id>/qr.png"): ("coordinator",),
    ("GET", "/checkpoints/<id:checkpoint_id>/qr.svg"): ("coordinator",),
    ("POST", "/checkpoints/<id:checkpoint_id>/rotate-code"): ("coordinator",),
    ("POST", "/events"): ("coordinator",),
    ("GET", "/events/<id:event_id>/code"): ("coordinator",),
    ("POST", "/checkins/on-behalf"): ("coordinator",),
    ("POST", "/users/<id:user_id>/adjustments"): ("coordinator",),
    ("POST", "/awards"): ("coordinator",),
    ("POST", "/shifts"): ("coordinator",),
    ("POST", "/store/items"): ("coordinator",),
    ("PATCH", "/store/items/<id:item_id>"): ("coordinator",),
    ("POST", "/store/items/<id:item_id>/picture"): ("coordinator",),
    ("POST", "/store/redemptions"): ("clerk",),
    ("POST", "/store/redemptions/<id:redemption_id>/cancel"): ("clerk",),
    ("POST", "/tips/<id:tip_id>/triage"): ("coordinator",),
    ("POST", "/tips/<id:tip_id>/review"): ("coordinator",),
    ("POST", "/tips/<id:tip_id>/close"): ("coordinator",),
    ("POST", "/service/kinds"): ("admin",),
    ("POST", "/service/entries"): ("coordinator",),
    ("POST", "/care/households"): ("coordinator",),
    ("PATCH", "/care/households/<id:household_id>"): ("coordinator",),
    ("GET", "/care/concerns"): ("coordinator",),
    ("POST", "/care/visits/<id:visit_id>/close-concern"): ("coordinator",),
    ("GET", "/care/households.csv"): ("coordinator",),
    ("GET", "/mediation/pool"): ("coordinator",),
    ("POST", "/events/<id:event_id>/publicity"): ("coordinator",),
    ("POST", "/events/<id:event_id>/publicity/photo"): ("coordinator",),
    ("POST", "/publicity/series"): ("coordinator",),
    ("GET", "/publicity/reach"): ("coordinator",),
    ("POST", "/service/<id:record_id>/confirm"): ("coordinator",),
    ("POST", "/service/<id:record_id>/reject"): ("coordinator",),
    ("POST", "/webhooks"): ("admin",),
    ("GET", "/webhooks"): ("admin",),
    ("DELETE", "/webhooks/<id:webhook_id>"): ("admin",),
    ("GET", "/webhooks/<id:webhook_id>/deliveries"): ("admin",),
    ("POST", "/callouts"): ("coordinator",),
    ("POST", "/callouts/<id:callout_id>/arrived"): ("coordinator",),
    ("POST", "/callouts/<id:callout_id>/close"): ("coordinator",),
    ("POST", "/sponsors"): ("clerk", "coordinator"),
    ("GET", "/sponsors"): ("clerk", "coordinator"),
    ("GET", "/sponsors/<id:sponsor_id>"): ("clerk", "coordinator"),
    ("PATCH", "/sponsors/<id:sponsor_id>"): ("clerk", "coordinator"),
    ("POST", "/sponsors/<id:sponsor_id>/gifts"): ("clerk", "coordinator"),
    ("GET", "/sponsors/<id:sponsor_id>/report"): ("clerk", "coordinator"),
    ("POST", "/stations"): ("county_admin",),
    ("GET", "/county/summary"): ("county_admin",),
    ("GET", "/stations/<id:station_id>/invite"): ("coordinator",),
    ("DELETE", "/stations/<id:station_id>/invite"): ("coordinator",),
    ("GET", "/stations/<id:station_id>/settings"): ("admin",),
    ("PATCH", "/stations/<id:station_id>/settings"): ("admin",),
    ("PATCH", "/users/<id:user_id>"): ("admin",),
    ("POST", "/teams/<id:team_id>/units"): ("coordinator",),
    ("PATCH", "/units/<id:unit_id>"): ("coordinator",),
    ("DELETE", "/units/<id:unit_id>"): ("coordinator",),
    ("PUT", "/units/<id:unit_id>/members"): ("coordinator",),
}


def test_the_staff_table_is_what_the_endpoints_declare():
    declared = {(e.method, e.rule): e.roles for e in ENDPOINTS if e.roles}
    assert declared == STAFF_ENDPOINTS


@pytest.mark.parametrize("method, rule", list(STAFF_ENDPOINTS), ids=[f"{m} {r}" for m, r in STAFF_ENDPOINTS])
def test_a_volunteer_is_403_before_the_body_is_read(app, world, method, rule):
    """The role is decided first: a malformed body from a volunteer is 403, not 422, and
    writes nothing (the ids need not exist either)."""
    headers = {"Authorization": f"Bearer {factories.token_for(app, world['vol'])}",
               "Content-Type": "application/json"}
    before = row_counts(app)
    response = app.test_client().open(_path(rule), method=method, data=b'{"broken": ', headers=headers)
    assert _assert_problem(response, allowed=(403,))["code"] == "forbidden"
    assert row_counts(app) == before


def test_unknown_api_path_is_404_problem(app):
    response = app.test_client().get("/api/v1/no/such/thing")
    assert _assert_problem(response, allowed=(404,))["code"] == "not_found"


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 5000,
                                    "Bearer \u4e2d\u6587", "bearer x y z", "Token abc"])
def test_malformed_authorization_is_401(app, world, header):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": header.encode("utf-8").decode("latin-1")})
    body = _assert_problem(response, allowed=(401,))
    assert body["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# -- headers and cookies ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/register", "/api/v1/openapi.json", "/healthz", "/no-such-page"])
def test_security_headers(app, path):
    response = app.test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip())
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives.get("style-src", "")
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["X-Request-ID"]


def test_pages_carry_no_inline_script_or_style(app):
    client = app.test_client()
    for path in ("/login", "/register"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=\"", html), path
        assert not re.search(r"\son[a-z]+=\"", html), path


def _login(client, username: str, password: str = factories.PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_cookie_session_never_authorizes_the_api(app, world):
    client = app.test_client()
    response = _login(client, world["admin"].username)
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # the cookie works for pages
    me = client.get("/api/v1/me")
    assert _assert_problem(me, allowed=(401,))["code"] == "unauthorized"
    before = row_counts(app)
    created = client.post("/api/v1/teams", json={"name": "偷偷建的队"})
    assert created.status_code == 401
    assert row_counts(app) == before


def test_web_session_token_is_not_an_api_token(app, world):
    """The server-side session id a cookie carries is refused as a bearer token."""
    client = app.test_client()
    _login(client, world["vol"].username)
    with client.session_transaction() as cookie_session:
        sid = cookie_session["sid"]
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {sid}"})
    assert response.status_code == 401


def test_form_without_csrf_token_is_refused(app, world):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": world["vol"].username, "password": factories.PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # the person reads what to do, in their language, not the name of the mechanism
    assert "页面已过期" in page or "form has expired" in page, page[:400]
    assert client.get("/").status_code == 302  # still not logged in


def test_session_cookie_flags(app, world):
    client = app.test_client()
    response = _login(client, world["vol"].username)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # PUBLIC_BASE_URL is https in the tests: the cookie is marked Secure
    assert "Secure" in cookie


def test_old_cookie_fails_after_logout(app, world):
    client = app.test_client()
    _login(client, world["vol"].username)
    with client.session_transaction() as cookie_session:
        saved = dict(cookie_session)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    with replay.session_transaction() as cookie_session:
        cookie_session.update(saved)
    assert replay.get("/").status_code == 302


def test_open_redirect_after_login_is_refused(app, world):
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": world["vol"].username, "password": factories.PASSWORD,
                                           "csrf_token": token, "next": "//evil.example.com/x"})
    assert response.status_code == 302
    assert "evil.example.com" not in response.headers["Location"]


@pytest.mark.parametrize("endpoint", QUERY_ENDPOINTS, ids=_ids(QUERY_ENDPOINTS))
def test_nul_characters_in_queries_are_refused(app, admin_headers, endpoint):
    client = app.test_client()
    for name in endpoint.query.model_fields:
        response = client.open(_path(endpoint.rule), method=endpoint.method, query_string={name: "a\x00b"},
                               headers=admin_headers)
        _assert_problem(response, allowed=(404, 422))


def test_nul_characters_in_forms_never_give_a_500(app, world):
    client = app.test_client()
    token = csrf_token(client, "/register")
    response = client.post("/register", data={"csrf_token": token, "username": "nul\x00user", "display_name": "a\x00b",
                                              "password": "long enough", "password2": "long enough"})
    assert 400 <= response.status_code < 500
    response = client.post("/login", data={"csrf_token": token, "username": "a\x00", "password": "x\x00"})
    assert response.status_code < 500
    assert row_counts(app)["users"] == 3


# -- nobody acts as staff for their own benefit ------------------------------------------------------

def _self_dealing_world(app, world):
    """A geofenced checkpoint and an open event of the team, for on-behalf check-ins."""
    from volunteer_app import timeutil

    from .factories import HANGZHOU, checkpoint, event
    with arrange(app) as s:
        place = checkpoint(s, team=world["team"], latitude=HANGZHOU[0], longitude=HANGZHOU[1], require_location=True)
        open_event = event(s, team=world["team"], starts_at=timeutil.utcnow())
    return place, open_event


@pytest.mark.parametrize("who", ["coord", "admin"])
def test_staff_cannot_award_adjust_or_check_in_themselves_over_the_api(app, world, who):
    place, open_event = _self_dealing_world(app, world)
    me = world[who]
    headers = {"Authorization": f"Bearer {factories.token_for(app, me)}"}
    client = app.test_client()
    before = row_counts(app)
    calls = [("/api/v1/awards", {"user_id": me.id, "title": "自己发的", "points": 500}),
             (f"/api/v1/users/{me.id}/adjustments", {"amount": 500, "reason": "辛苦费"}),
             ("/api/v1/checkins/on-behalf", {"user_id": me.id, "checkpoint_id": place.id}),
             ("/api/v1/checkins/on-behalf", {"user_id": me.id, "event_id": open_event.id})]
    for path, body in calls:
        response = client.post(path, json=body, headers=headers)
        assert _assert_problem(response, allowed=(403,))["code"] == "forbidden", (path, body)
    assert row_counts(app) == before
    # the same calls for someone of the team still work
    vol = world["vol"].id
    assert client.post("/api/v1/awards", json={"user_id": vol, "title": "好人好事", "points": 5},
                       headers=headers).status_code == 201
    assert client.post(f"/api/v1/users/{vol}/adjustments", json={"amount": 5, "reason": "补录"},
                       headers=headers).status_code == 201
    assert client.post("/api/v1/checkins/on-behalf", json={"user_id": vol, "event_id": open_event.id},
                       headers=headers).status_code == 201


def test_staff_cannot_award_adjust_or_check_in_themselves_on_the_pages(app, world):
    place, open_event = _self_dealing_world(app, world)
    me = world["coord"]
    client = app.test_client()
    assert _login(client, me.username).status_code == 302
    token = csrf_token(client, "/manage/awards")
    before = row_counts(app)
    award = client.post("/manage/awards", data={"csrf_token": token, "user_id": me.id, "title": "自己发的",
                                                "points": "500"})
    assert award.status_code == 403
    adjust = client.post(f"/manage/users/{me.id}/points", data={"csrf_token": token, "amount": "500",
                                                                 "reason": "辛苦费"})
    assert adjust.status_code in (403, 422) and "这件事需要由别人为您办理" in adjust.get_data(as_text=True)
    for place_value in (f"checkpoint:{place.id}", f"event:{open_event.id}"):
        done = client.post("/manage/leader-checkin", data={"csrf_token": token, "place": place_value,
                                                           "user_id": str(me.id)})
        assert done.status_code in (403, 422) and "这件事需要由别人为您办理" in done.get_data(as_text=True), place_value
    assert row_counts(app) == before


# -- behind a reverse proxy: each client keeps its own address ---------------------------------------

class _ForwardingProxy:
    """A tiny reverse proxy on loopback, as nginx is configured in the README: it passes each
    request on and appends the address it was connected from to ``X-Forwarded-For``."""

    def __init__(self, upstream_port: int):
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in ("connection", "x-forwarded-for")}
                seen = self.headers.get("X-Forwarded-For")
                headers["X-Forwarded-For"] = f"{seen}, {self.client_address[0]}" if seen else self.client_address[0]
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]


@contextlib.contextmanager
def _served_behind_proxy(app):
    """The app on a real threaded server, with the forwarding proxy in front; yields the proxy's port."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    proxy = _ForwardingProxy(server.server_port)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (server, proxy.server)]
    for thread in threads:
        thread.start()
    try:
        yield proxy.port
    finally:
        for running in (proxy.server, server):
            running.shutdown()
            running.server_close()


def _login_from(address: str, port: int, username: str, password: str, headers: dict | None = None) -> int:
    """POST /api/v1/auth/token to the proxy from the loopback ``address``; the status code."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(address, 0))
    connection.request("POST", "/api/v1/auth/token", body=json.dumps({"username": username, "password": password}),
                       headers={"Content-Type": "application/json", **(headers or {})})
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.fixture
def proxied_app(tmp_path, pg_url):
    from .conftest import make_test_app
    app = make_test_app(tmp_path, pg_url, TRUSTED_PROXIES=1, LOGIN_MAX_FAILURES_PER_IP=3)
    with arrange(app) as s:
        factories.user(s, username="neighbour")
    yield app
    app.extensions["db_engine"].dispose()


def _attempt_addresses(app) -> set[str]:
    from volunteer_app.models import LoginAttempt
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as s:
        return set(s.exec(select(LoginAttempt.ip)))


def test_two_clients_behind_the_proxy_have_their_own_login_limits(proxied_app, caplog):
    """A client who used up the per-address limit does not lock out the station beside it."""
    import logging
    caplog.set_level(logging.INFO, logger="volunteer_app.requests")
    with _served_behind_proxy(proxied_app) as port:
        for number in range(3):
            assert _login_from("127.0.0.2", port, f"guess{number}", "wrong password") == 401
        assert _login_from("127.0.0.2", port, "neighbour", factories.PASSWORD) == 429
        assert _login_from("127.0.0.3", port, "neighbour", factories.PASSWORD) == 200
    assert _attempt_addresses(proxied_app) == {"127.0.0.2"}
    logged = [record.getMessage() for record in caplog.records if record.name == "volunteer_app.requests"]
    assert [line.split(" ip=")[1].split()[0] for line in logged] == ["127.0.0.2"] * 4 + ["127.0.0.3"]


def test_a_spoofed_forwarded_for_is_not_believed_beyond_the_trusted_hop(proxied_app):
    """Only the entry the one trusted proxy added counts: a client cannot pose as others."""
    with _served_behind_proxy(proxied_app) as port:
        for number in range(3):
            spoof = {"X-Forwarded-For": f"10.9.8.{number}"}
            assert _login_from("127.0.0.2", port, f"guess{number}", "wrong password", spoof) == 401
        spoof = {"X-Forwarded-For": "127.0.0.3, 10.1.1.1"}
        assert _login_from("127.0.0.2", port, "neighbour", factories.PASSWORD, spoof) == 429
    assert _attempt_addresses(proxied_app) == {"127.0.0.2"}


def test_without_a_trusted_proxy_forwarded_for_is_ignored(app):
    """``TRUSTED_PROXIES`` 0 (the default): the connection's address, whatever the headers say."""
    with arrange(app) as s:
        factories.user(s, username="direct")
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "direct", "password": "wrong password"},
                           headers={"X-Forwarded-For": "10.9.8.7"}, environ_base={"REMOTE_ADDR": "127.0.0.5"})
    assert response.status_code == 401
    assert _attempt_addresses(app) == {"127.0.0.5"}


# -- the error page when the database fails ---------------------------------------------------------

def _assert_clean(response, request_id: str, statuses=(500, 503)) -> str:
    """An answer of ours: a page or problem with the security headers and the request id."""
    assert response.status_code in statuses, response.status_code
    assert response.headers["X-Request-ID"] == request_id
    assert "Content-Security-Policy" in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return response.get_data(as_text=True)


def test_a_statement_that_breaks_the_transaction_gives_the_clean_error_page(tmp_path, pg_url):
    """A failed statement aborts PostgreSQL's transaction: the error page (which reads the
    signed-in user and their notices) must not run its queries inside it."""
    from flask_login import login_required
    from sqlalchemy import text

    from .conftest import make_test_app

    app = make_test_app(tmp_path, pg_url)

    @login_required
    def broken():
        db.get_session().execute(text("SELECT no_such_column FROM users"))

    app.add_url_rule("/broken-statement", view_func=broken)
    app.add_url_rule("/api/v1/broken-statement", endpoint="api_broken", view_func=broken)
    with arrange(app) as s:
        factories.user(s, username="walker")
    client = app.test_client()
    assert _login(client, "walker").status_code == 302
    page = client.get("/broken-statement", headers={"X-Request-ID": "req-broken-1"})
    body = _assert_clean(page, "req-broken-1")
    assert page.mimetype == "text/html" and "req-broken-1" in body
    problem = client.get("/api/v1/broken-statement", headers={"X-Request-ID": "req-broken-2"})
    _assert_clean(problem, "req-broken-2")
    assert problem.mimetype == "application/problem+json"
    assert client.get("/", headers={"X-Request-ID": "after"}).status_code == 200  # the next request is fine


@pytest.mark.parametrize("dead", ["closed_port", "unreadable_file"])
def test_a_dead_database_gives_a_503_page_and_problem(tmp_path, dead):
    if dead == "closed_port":
        url = "postgresql+psycopg://dev:dev@127.0.0.1:1/nothing"
    else:
        garbage = tmp_path / "garbage.db"
        garbage.write_bytes(b"this is not a database file " * 200)
        url = f"sqlite:///{garbage}"
    app = create_app_without_schema(tmp_path, url)
    client = app.test_client()
    token = csrf_token(client, "/login")  # the login page itself reads nothing
    page = client.post("/login", data={"username": "walker", "password": factories.PASSWORD, "csrf_token": token},
                       headers={"X-Request-ID": "req-dead-1"})
    body = _assert_clean(page, "req-dead-1", statuses=(503,))
    assert page.mimetype == "text/html" and "req-dead-1" in body and "暂时" in body
    english = client.post("/login", data={"username": "walker", "password": factories.PASSWORD,
                                          "csrf_token": token},
                          headers={"X-Request-ID": "req-dead-2", "Accept-Language": "en"})
    assert "req-dead-2" in _assert_clean(english, "req-dead-2", statuses=(503,))
    problem = client.post("/api/v1/auth/token", json={"username": "walker", "password": factories.PASSWORD},
                          headers={"X-Request-ID": "req-dead-3"})
    _assert_clean(problem, "req-dead-3", statuses=(503,))
    assert problem.mimetype == "application/problem+json"
    assert problem.get_json()["code"] == "service_unavailable"
    assert client.get("/healthz").status_code == 503


def create_app_without_schema(tmp_path, url: str):
    from volunteer_app import create_app
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret-key",
                       "FAST_PASSWORD_HASH": True, "INSTANCE_PATH": str(tmp_path / "instance")})
