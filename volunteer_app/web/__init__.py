"""The two faces (pages and JSON API) and what they share: login, CSRF, locale, headers, errors."""
from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import time
import uuid
from pathlib import Path

from flask import Flask, abort, g, has_request_context, jsonify, make_response, render_template, request, session
from flask_babel import Babel
from flask_babel import gettext as _
from flask_htmx import HTMX
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from .. import db, locales, settings, timeutil
from ..errors import DomainError
from ..parsing import MAX_ID
from ..services import accounts, stations

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
request_log = logging.getLogger("volunteer_app.requests")


def _digits_up_to(limit: int) -> str:
    """A regex for the whole numbers 1 to ``limit``, written without leading zeros."""
    text = str(limit)
    options = [f"[1-9][0-9]{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for place, digit in enumerate(text):
        lowest = 1 if place == 0 else 0
        if int(digit) > lowest:
            options.append(f"{text[:place]}[{lowest}-{int(digit) - 1}][0-9]{{{len(text) - place - 1}}}")
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(BaseConverter):
    """A positive database id (1 to MAX_ID); anything else does not match (404). The bound is in
    the regex itself: a value that matched and failed afterwards would answer 405 wherever the
    same path takes another method."""

    regex = _digits_up_to(MAX_ID)

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def select_locale():
    return locales.parse(locale_code())


def locale_code() -> str:
    """Pages: the person's choice, kept per user (Chinese until they switch). The API: the token
    holder's language, or the request's Accept-Language."""
    if not has_request_context():
        return "zh_CN"
    if g.get("database_down"):  # no user lookup: the page's own choice, else the browser's
        lang = session.get("lang")
        return lang if lang in ("zh_CN", "en") else request.accept_languages.best_match(["zh_CN", "en"]) or "zh_CN"
    if request.path.startswith("/api/"):
        api_user = g.get("api_user")
        if api_user is not None:
            return api_user.language
        return request.accept_languages.best_match(["zh_CN", "en"]) or "zh_CN"
    if current_user and getattr(current_user, "is_authenticated", False):
        return current_user.language
    lang = session.get("lang")
    return lang if lang in ("zh_CN", "en") else "zh_CN"


@login_manager.user_loader
def _load_user(user_id: str):
    """The browser session holds a server-side session token; logout and the session version
    end it at once, so an old cookie stops working."""
    sid = session.get("sid")
    if not sid:
        return None
    chosen = session.get("station_id")
    user = accounts.token_holder(db.get_session(), sid, kind="web", station_id=chosen if isinstance(chosen, int) else None)
    if user is None or str(user.id) != user_id:
        return None
    act_in_chosen_station(user)
    return user


def act_in_chosen_station(user) -> None:
    """Pages: a county_admin acts in the station chosen in the header (kept in the session);
    the station's own settings (name, time zone) apply to the request."""
    chosen = session.get("station_id") if user.is_county_admin else None
    station = stations.act_in_if_any(db.get_session(), user, chosen if isinstance(chosen, int) else None)
    if chosen is not None and station.id != chosen:  # the chosen station is gone: one's own
        session.pop("station_id", None)
    settings.use_station(stations.own_settings(station))


def _station_switcher() -> list | None:
    """The stations a county_admin may switch between (None for everyone else)."""
    if not getattr(current_user, "is_authenticated", False) or not current_user.is_county_admin:
        return None
    return stations.all_stations(db.get_session())


def _static_hashes(app: Flask) -> dict[str, str]:
    return app.extensions.setdefault("static_hashes", {})


def _static_version(app: Flask, filename: str) -> str | None:
    """A content hash for a static file's URL, since WeChat's browser caches hard."""
    cache = _static_hashes(app)
    if filename not in cache:
        path = Path(app.static_folder) / filename
        try:
            cache[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        except OSError:
            cache[filename] = ""
    return cache[filename] or None


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'; media-src 'self' blob:")


def _local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time shown in station time."""
    return "" if value is None else timeutil.local(value).strftime(fmt)


def masked_phone(phone: str | None) -> str:
    """A phone number hidden but for its last four digits (``*******5678``)."""
    phone = (phone or "").strip()
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


def tel_href(phone: str | None) -> str:
    """A ``tel:`` link's target: the digits and a leading plus only."""
    phone = (phone or "").strip()
    return "tel:" + ("+" if phone.startswith("+") else "") + "".join(ch for ch in phone if ch in "0123456789")


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(values) -> bool:
    # A multipart part without a name has the key None: nothing to look into there.
    return any("\x00" in (key or "") or any("\x00" in (value or "") for value in items)
               for key, items in values.lists())


#: Errors that say the database itself cannot be reached or used (connection refused or lost,
#: a locked or unreadable file, the pool exhausted): answered with the page that needs no database.
DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError, sqlite3.OperationalError,
                 sqlite3.DatabaseError)


def database_down(error: Exception) -> bool:
    """Whether ``error`` says the database cannot be used (not a bug's bad statement or a
    constraint): ``DATABASE_DOWN``, or the driver's bare DatabaseError (an unreadable file)."""
    return isinstance(error, DATABASE_DOWN) or type(error) is DatabaseError


#: URL parts that are secrets (poster and event codes, calendar-feed tokens): never logged.
SECRET_VIEW_ARGS = ("token", "code")


#: A request id a client (or the proxy in front) may choose; anything else gets one of our own.
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Characters that could break a log line apart or forge one: control characters and spaces.
UNLOGGABLE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")


def request_id() -> str:
    """The client's ``X-Request-ID`` when it matches :data:`CLIENT_REQUEST_ID`, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:12]


def _one_word(text: str) -> str:
    """``text`` as one word of a log line: control characters and spaces percent-encoded."""
    return UNLOGGABLE.sub(lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode()), text)


def _loggable_path() -> str:
    """The request path as one word, with secret parts replaced by their placeholder (``/c/<token>``)."""
    if request.url_rule is not None and any(name in SECRET_VIEW_ARGS for name in (request.view_args or {})):
        return request.url_rule.rule
    return _one_word(request.path)


def init_app(app: Flask) -> None:
    from . import compression
    compression.init_app(app)  # first: it runs after every other after_request
    app.url_map.converters["id"] = IdConverter
    login_manager.init_app(app)
    login_manager.login_view = "pages.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    htmx.init_app(app)

    from .api import bp as api_bp
    from .api.base import allow_header, http_error_as_problem, problem
    from .pages import bp as pages_bp

    from .nav import nav_items
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["local_time"] = _local_time
    app.jinja_env.globals["station_name"] = lambda: settings.setting("STATION_NAME")
    app.jinja_env.globals["station_switcher"] = _station_switcher
    from flask_babel import get_locale
    app.jinja_env.globals["get_locale"] = get_locale  # Flask-Babel 4 no longer adds it
    app.jinja_env.filters["localtime"] = _local_time
    app.jinja_env.filters["masked_phone"] = masked_phone
    app.jinja_env.filters["tel_href"] = tel_href

    csrf.exempt(api_bp)  # bearer tokens, never cookies, authorize the API
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)

    @app.url_defaults
    def _hash_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = _static_version(app, values["filename"])
            if version:
                values["v"] = version

    @app.before_request
    def _start_request():
        g.request_id = request_id()
        g.started = time.perf_counter()
        g.write_token = db.write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))
        if _has_nul(request.args) or (request.mimetype in FORM_TYPES and _has_nul(request.form)):
            message = _("Text may not contain NUL characters.")  # PostgreSQL text cannot hold them
            if request.path.startswith("/api/"):
                return problem(422, "validation_error", message, errors=[{"field": "query", "message": message}])
            abort(400, message)

    @app.after_request
    def _finish_request(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers["X-Request-ID"] = g.get("request_id", "")
        if request.endpoint == "static" and request.args.get("v"):
            headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if htmx and "Vary" not in headers:
            headers["Vary"] = "HX-Request"
        user_id = None
        known = g.get("api_user") or g.get("_login_user")  # never a database lookup for the log line
        if known is not None and getattr(known, "is_authenticated", False):
            user_id = known.__dict__.get("id")  # as loaded, without a refresh
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        request_log.info("%s %s %s %s user=%s ip=%s %.1fms", g.get("request_id", "-"), request.method,
                         _loggable_path(), response.status_code, user_id or "-",
                         _one_word(request.remote_addr or "-"), elapsed)
        return response

    @app.teardown_request
    def _end_request(_exc=None):
        # One unit of work per request, even when the app context outlives the request (a test
        # that holds one open): the next request must not reuse this session and its snapshot.
        db.close_session()
        token = g.pop("write_token", None)
        if token is not None:
            db.write_intent.reset(token)

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path == "/healthz"

    def error_page(status: int, message) -> tuple:
        """The error page; should it fail for want of the database, the page that needs none."""
        try:
            return render_template("errors/error.html", status=status, message=str(message)), status
        except DATABASE_DOWN + (SQLAlchemyError,):  # e.g. the signed-in user or the notices
            app.logger.exception("the error page failed (request %s)", g.get("request_id"))
            db.close_session()
            return unavailable_page()

    def unavailable_page() -> tuple:
        g.database_down = True
        return render_template("errors/unavailable.html", request_id=g.get("request_id", "")), 503

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        if wants_json():
            from .api.base import domain_problem
            return domain_problem(error)
        return error_page(error.status, error.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        if wants_json():
            return problem(400, "forbidden", "CSRF token missing or invalid.")
        return error_page(400, _("This form has expired. Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if wants_json():
            return http_error_as_problem(error)
        messages = {
            403: _("You do not have permission to open this page."),
            404: _("This page does not exist. Check the address or go back to the home page."),
            405: _("This action is not possible here."),
            413: _("The file is too large."),
            429: _("Too many attempts. Please wait a few minutes and try again."),
        }
        message = messages.get(error.code, _("Something went wrong. Please try again."))
        response = make_response(error_page(error.code, message))
        allow_header(error, response)
        return response

    @app.errorhandler(Exception)
    def _server_error(error: Exception):
        """Roll back first (a failed statement leaves PostgreSQL's transaction aborted, and the
        page's own queries would fail in it); a database that cannot be used is a 503 with a
        page that needs no database."""
        app.logger.exception("unhandled error on %s %s (request %s)", request.method, _loggable_path(),
                             g.get("request_id"))
        db.close_session()
        if database_down(error):
            if wants_json():
                return problem(503, "service_unavailable", "The database is not available; please try again shortly.",
                               request_id=g.get("request_id"))
            return unavailable_page()
        if wants_json():
            return problem(500, "internal_error", "Something went wrong on our side; it has been logged.",
                           request_id=g.get("request_id"))
        return error_page(500, _("Something went wrong on our side. Please try again in a moment."))

    @app.get("/healthz")
    def healthz():
        """200 when the database answers and writes work (the disk is not full, nothing is
        read-only): a small file in the instance folder and a rolled-back insert."""
        from .. import ops
        try:
            db.get_session().execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means unhealthy
            return jsonify(status="unavailable"), 503
        problem_text = ops.write_problem(db.get_engine(), app.instance_path)
        if problem_text:
            app.logger.error("health check: %s", problem_text)
            return jsonify(status="unavailable", detail=problem_text), 503
        return jsonify(status="ok")
