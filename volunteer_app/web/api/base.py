"""The machinery every API endpoint shares: one decorator that parses and validates input,
authenticates, runs the view in one unit of work, remembers ``client_ref`` answers, and
records the endpoint for the OpenAPI document."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from ... import db, settings
from ...errors import STATUS_BY_CODE, DomainError, FieldError
from ...services import access, accounts, idempotency, stations
from .. import params

bp = Blueprint("api", __name__, url_prefix="/api/v1")

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 410: "Gone", 413: "Payload Too Large", 422: "Unprocessable Content",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}


@dataclass
class Endpoint:
    rule: str
    method: str
    view: Callable
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    idempotent: bool
    roles: tuple[str, ...] = ()
    content_type: str = "application/json"
    multipart: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ENDPOINTS: list[Endpoint] = []


def problem(status: int, code: str, detail: str, **extra) -> Response:
    body = {"type": f"/api/v1/problems/{code}", "title": TITLES.get(status, "Error"), "status": status,
            "detail": str(detail), "code": code}
    body.update({key: value for key, value in extra.items() if value is not None})
    response = Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        mimetype="application/problem+json")  # default=str: lazy messages
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def domain_problem(error: DomainError) -> Response:
    extra = {key: value for key, value in error.details.items() if key != "errors"}
    return problem(error.status, error.code, str(error.message), errors=error.details.get("errors"), **extra)


def validation_problem(error: ValidationError, where: str = "") -> Response:
    errors = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"]) or where or "body"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "Unknown field."
        elif item["type"] == "json_invalid":
            loc, message = "body", "The body is not valid JSON."
        elif item["type"] == "model_type" or item["type"] == "model_attributes_type":
            loc, message = "body", "The body must be a JSON object."
        errors.append({"field": loc, "message": message})
    return problem(422, "validation_error", "The request did not pass validation.", errors=errors)


def _refuse_nul(value, field: str = "") -> None:
    """PostgreSQL text cannot hold NUL characters: refuse them as bad input (422), on both engines."""
    if isinstance(value, str):
        if "\x00" in value:
            raise FieldError(field or "body", "Text may not contain NUL characters.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, field or "body")
            _refuse_nul(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _refuse_nul(item, f"{field}.{index}" if field else str(index))


def _is_json(mimetype: str) -> bool:
    return mimetype in ("", "application/json") or mimetype.endswith("+json")


def _read_json_body(model: type[BaseModel]) -> BaseModel:
    limit = current_app.config["MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise DomainError("payload_too_large", "The body is larger than 1 MiB.")
    raw = request.stream.read(limit + 1) if request.content_length is None else request.get_data(cache=False)
    if len(raw) > limit:
        raise DomainError("payload_too_large", "The body is larger than 1 MiB.")
    if (raw.strip() or request.content_length) and not _is_json(request.mimetype):
        raise FieldError("body", _l("Send the body as JSON (Content-Type: application/json)."))
    if not raw.strip():
        raw = b"{}"
    parsed = model.model_validate_json(raw, strict=True)
    _refuse_nul(parsed.model_dump())
    return parsed


#: A query argument every authenticated endpoint takes: the station a county_admin acts in.
STATION_ARG = "station_id"


def _read_query(model: type[BaseModel]) -> BaseModel:
    args = {}
    for key in request.args:
        if key == STATION_ARG:
            continue
        values = request.args.getlist(key)
        args[key] = values if len(values) > 1 else values[0]
    _refuse_nul(args)
    return model.model_validate(args)


def bearer_user(*, hold_read: bool = False) -> accounts.User | None:
    """The caller a bearer token names, looked up before any write (``accounts.token_holder``;
    ``hold_read``: its read transaction stays open for the view's first read)."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return accounts.token_holder(db.get_session(), raw.strip(), kind="api", hold=hold_read,
                                 station_id=params.to_id(request.args.get(STATION_ARG)))


def act_in_station(user: accounts.User) -> None:
    """``?station_id=``: the station a county_admin acts in for this call (another station
    than one's own is not_found for everyone else); the station's own settings apply."""
    raw = request.args.get(STATION_ARG)
    station_id = None
    if raw is not None:
        station_id = params.to_id(raw)
        if station_id is None:
            raise DomainError("not_found", "No such station.")
    station = stations.act_in(db.get_session(), user, station_id)
    settings.use_station(stations.own_settings(station))


def current_api_user() -> accounts.User:
    return g.api_user


def _remembered(endpoint: str, client_ref: str) -> Response | None:
    """The first answer to this ``client_ref``, sent again (200)."""
    text = idempotency.lookup(db.get_session(), g.api_user.id, endpoint, client_ref)
    return Response(text, status=200, mimetype="application/json") if text is not None else None


def _to_response(result, status: int, response_model) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        result, status = result
    if result is None:
        return Response(status=204)
    if response_model is not None:  # what the OpenAPI document says, read from what the service returned
        result = response_model.model_validate(result).model_dump(exclude_unset=True)
    return Response(json.dumps(result, ensure_ascii=False, default=str), status=status, mimetype="application/json")


def route(rule: str, method: str = "GET", *, summary: str, tag: str, body: type[BaseModel] | None = None,
          query: type[BaseModel] | None = None, response: type[BaseModel] | None = None, status: int = 200,
          auth: bool = True, idempotent: bool = False, multipart: dict[str, Any] | None = None,
          reads_first: bool = False, roles: tuple[str, ...] = (), writes: bool = False, **extra):
    """Register an API endpoint. The view gets the validated ``body``/``query`` as keyword
    arguments, returns a dict (or ``(dict, status)``, or ``None`` for 204), and never commits:
    a write is committed here once, after the view succeeded.

    ``multipart`` (a JSON schema of the form fields, for the OpenAPI document) marks an upload:
    the request must be ``multipart/form-data`` (422 otherwise) and the view reads
    ``request.files`` itself; the body is limited by ``MAX_CONTENT_LENGTH`` (413 beyond).

    ``reads_first``: the view's first database work is a ``db.read_before_writing`` block (the
    check-in's lock-and-load), so on SQLite the caller's lookup shares that read transaction
    instead of having one of its own.

    ``roles``: who may call at all (``admin`` always may); anyone else is 403 ``forbidden``,
    decided right after authentication and before the body is read. The service keeps its
    finer checks (which team, whose data).

    ``writes``: a GET that writes (its reading of personal data is audited): it runs as a
    writer (``db.start_writing``) and is committed like any write."""

    def decorate(view: Callable) -> Callable:
        endpoint_name = f"{view.__module__.rsplit('.', 1)[-1]}_{view.__name__}"

        @functools.wraps(view)
        def wrapper(**path):
            session = db.get_session()
            if auth:
                user = bearer_user(hold_read=reads_first)
                if user is None:
                    return problem(401, "unauthorized", "A valid bearer token is required.")
                g.api_user = user
                try:
                    act_in_station(user)
                except DomainError as error:
                    return domain_problem(error)
                if roles:
                    try:
                        access.require_role(user, *roles)
                    except DomainError as error:
                        return domain_problem(error)
            kwargs = dict(path)
            try:
                if body is not None:
                    kwargs["body"] = _read_json_body(body)
                if query is not None:
                    kwargs["query"] = _read_query(query)
            except ValidationError as error:
                return validation_problem(error)
            if multipart is not None and request.mimetype != "multipart/form-data":
                return problem(422, "validation_error", "The request did not pass validation.",
                               errors=[{"field": "body", "message": "Send a multipart/form-data body."}])
            client_ref = getattr(kwargs.get("body"), "client_ref", None) if idempotent else None
            if client_ref:
                remembered = _remembered(endpoint_name, client_ref)
                if remembered is not None:
                    return remembered
            try:
                if writes:
                    db.start_writing(session)
                result = view(**kwargs)
                out = _to_response(result, status, response)
                if (method != "GET" or writes) and out.status_code < 400:
                    db.end_reading(session)  # in case the view never read
                    if client_ref:
                        idempotency.remember(session, g.api_user.id, endpoint_name, client_ref,
                                             out.get_data(as_text=True), out.status_code)
                    session.commit()
                return out
            except (DomainError, IntegrityError) as error:
                if getattr(error, "keep_writes", False):
                    session.commit()  # the refusal's own record (e.g. a refused code counted)
                else:
                    session.rollback()
                if client_ref:  # a twin request may have won the race: answer as it did
                    remembered = _remembered(endpoint_name, client_ref)
                    if remembered is not None:
                        return remembered
                if isinstance(error, IntegrityError):
                    current_app.logger.warning("integrity error on %s %s: %s", method, rule, error.orig)
                    return problem(409, "conflict", "The request conflicts with the current state; try again.")
                raise

        bp.add_url_rule(rule, endpoint=endpoint_name, view_func=wrapper, methods=[method])
        ENDPOINTS.append(Endpoint(rule, method, view, summary, tag, body, query, response, status, auth,
                                  idempotent, roles=tuple(roles), multipart=multipart, extra=extra))
        return wrapper

    return decorate


def settle_first(work, *args, **kwargs) -> None:
    """Work time has made due (``service.settle``) before a GET shows its result: done and
    committed on its own, and never in the way of the answer (a failure is rolled back)."""
    session = db.get_session()
    try:
        work(session, *args, **kwargs)
        db.end_reading(session)
        session.commit()
    except Exception:  # noqa: BLE001 - the next request, or volunteer-app settle-service, tries again
        session.rollback()


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return domain_problem(error)


def http_error_as_problem(error) -> Response:
    """404/405/413 and friends raised by Flask itself, as problem+json."""
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 401: "unauthorized",
            403: "forbidden", 400: "validation_error"}.get(error.code, "validation_error")
    status = error.code if error.code in TITLES else 400
    if code == "validation_error" and status == 400:
        status = 422
    response = problem(status, code, error.description or TITLES.get(status, "Error"))
    allow_header(error, response)
    return response


def allow_header(error, response) -> None:
    """A 405 names the methods the path does take (``Allow``), on pages and in the API."""
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))


def code_status(code: str) -> int:
    return STATUS_BY_CODE.get(code, 400)
