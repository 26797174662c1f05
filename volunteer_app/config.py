"""Settings: defaults first, then the environment, then the mapping passed to create_app."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

#: Settings a deployment may set through the environment, with their type.
ENV_SETTINGS: dict[str, type] = {
    "DATABASE_URL": str,
    "SECRET_KEY": str,
    "PUBLIC_BASE_URL": str,
    "STATION_TZ": str,
    "STATION_NAME": str,
    "NIGHT_FACTOR": float,
    "SHIFT_SIGNUP_WINDOW_DAYS": int,
    "NO_SHOW_LIMIT": int,
    "NO_SHOW_WINDOW_DAYS": int,
    "API_TOKEN_HOURS": int,
    "LOGIN_MAX_FAILURES": int,
    "LOGIN_WINDOW_MINUTES": int,
    "LOGIN_MAX_FAILURES_PER_IP": int,
    "CHECKIN_MAX_REFUSALS": int,
    "CHECKIN_REFUSAL_WINDOW_MINUTES": int,
    "OFFLINE_MAX_HOURS": int,
    "REGISTER_MAX_PER_IP": int,
    "REGISTER_WINDOW_MINUTES": int,
    "MAX_PENDING_REGISTRATIONS": int,
    "SESSION_COOKIE_SECURE": bool,
    "LEVEL_THRESHOLDS": str,
    "TIP_POINTS": str,
    "LOG_LEVEL": str,
    "TRUSTED_PROXIES": int,
    "MAKEUP_MAX_DAYS": int,
    "OUTING_GAP_MINUTES": int,
    "OUTING_TAIL_MINUTES": int,
    "ROUTE_IN_ORDER": bool,
    "ID_NUMBER_KEY": str,
    "WEBHOOK_ALLOW_PRIVATE": bool,
    "WEBHOOK_TIMEOUT_SECONDS": float,
    "DELIVERY_WORKER": bool,
    "DELIVERY_POLL_SECONDS": float,
    "DELIVERY_THREADS": int,
    "SMS_SENDER": str,
    "SMS_GATEWAY_URL": str,
    "SMS_GATEWAY_TOKEN": str,
    "SMS_TIMEOUT_SECONDS": float,
    "POINTS_EXPIRE": str,
    "VOUCHER_DAYS": int,
    "CARE_DATA_KEY": str,
}

#: The settings a station may set for itself (its settings page; services/station_settings.py):
#: its own value comes before the deployment's.
STATION_SETTINGS = ("LEVEL_THRESHOLDS", "TIP_POINTS", "NIGHT_FACTOR", "NO_SHOW_LIMIT", "NO_SHOW_WINDOW_DAYS",
                    "SHIFT_SIGNUP_WINDOW_DAYS", "MAKEUP_MAX_DAYS", "OUTING_GAP_MINUTES", "OUTING_TAIL_MINUTES",
                    "ROUTE_IN_ORDER", "POINTS_EXPIRE", "VOUCHER_DAYS")


class Defaults:
    DATABASE_URL: str | None = None  # None: a SQLite file in the instance folder
    SECRET_KEY: str | None = None  # None: generated once and kept in the instance folder
    PUBLIC_BASE_URL: str | None = None  # None: the request's own host
    STATION_TZ = "Asia/Shanghai"
    STATION_NAME = "平安志愿者服务站"
    NIGHT_FACTOR = 1.5
    SHIFT_SIGNUP_WINDOW_DAYS = 30
    NO_SHOW_LIMIT = 3
    NO_SHOW_WINDOW_DAYS = 90
    API_TOKEN_HOURS = 24 * 30
    WEB_SESSION_DAYS = 90
    LOGIN_MAX_FAILURES = 10
    LOGIN_WINDOW_MINUTES = 15
    LOGIN_MAX_FAILURES_PER_IP = 300
    #: Refused check-in codes (invalid or expired) of one user in the window: then every check-in is refused.
    CHECKIN_MAX_REFUSALS = 20
    CHECKIN_REFUSAL_WINDOW_MINUTES = 10
    #: A scan kept on a phone without signal counts when it arrives within this many hours.
    OFFLINE_MAX_HOURS = 24
    #: Registrations one address may attempt in the window (more are refused).
    REGISTER_MAX_PER_IP = 30
    REGISTER_WINDOW_MINUTES = 10
    #: Registrations a station keeps waiting for approval; beyond it registration is closed for now.
    MAX_PENDING_REGISTRATIONS = 200
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    #: How long a cached team ranking may be kept at most (0: no cache).
    LEADERBOARD_CACHE_SECONDS = 60
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # a tip report with 3 photos of 5 MB; JSON bodies are held to 1 MiB
    MAX_JSON_BYTES = 1024 * 1024
    #: Level name -> lifetime points needed, lowest first (JSON-ish "name:points,..." in the env).
    LEVEL_THRESHOLDS = "见习:0,一星:100,二星:300,三星:800,四星:2000,五星:5000"
    #: Points a valid tip earns by default, per category ("category:points,...").
    TIP_POINTS = "dispute:10,fraud:20,hazard:15,ecology:15,other:5"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # a form left open while someone reads never expires
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    LOG_LEVEL = "INFO"
    #: Reverse proxies in front of the app whose X-Forwarded-For / -Proto are believed (0: none).
    TRUSTED_PROXIES = 0
    #: A make-up request (补录) may ask for service at most this many days back.
    MAKEUP_MAX_DAYS = 60
    #: Patrol scans off any shift, each within this many minutes of the previous, form one outing...
    OUTING_GAP_MINUTES = 60
    #: ...that runs from the first scan to the last plus this (a single scan counts this alone).
    OUTING_TAIL_MINUTES = 10
    #: A shift's route counts only when its checkpoints are scanned in the route's order.
    ROUTE_IN_ORDER = False
    #: Key for ID document numbers at rest (any text; None: derived from SECRET_KEY).
    ID_NUMBER_KEY: str | None = None
    #: Webhooks may point at loopback and private addresses (off: no requests into the station's network).
    WEBHOOK_ALLOW_PRIVATE = False
    #: One delivery attempt gives up after this many seconds.
    WEBHOOK_TIMEOUT_SECONDS = 5.0
    #: ``serve`` runs the delivery worker (webhooks, the shift check) in the background by itself.
    DELIVERY_WORKER = True
    #: How often the worker looks for due deliveries.
    DELIVERY_POLL_SECONDS = 2.0
    #: Deliveries sent at once by the worker (each waits for its receiver).
    DELIVERY_THREADS = 4
    #: How text messages (call-outs, shift reminders) leave: "log" (written to the log, the
    #: number masked) or "http" (a POST to ``SMS_GATEWAY_URL``).
    SMS_SENDER = "log"
    #: The SMS gateway's address, for ``SMS_SENDER = "http"``.
    SMS_GATEWAY_URL: str | None = None
    #: Sent to the gateway as ``Authorization: Bearer <token>``.
    SMS_GATEWAY_TOKEN: str | None = None
    #: One attempt at the gateway gives up after this many seconds.
    SMS_TIMEOUT_SECONDS = 5.0
    #: When earned points lapse: "never", "year_end:N" (31 December, N years after the year
    #: they were earned) or "months:N" (N months after they were earned).
    POINTS_EXPIRE = "never"
    #: A voucher not used at its sponsor's within this many days lapses, its points given back.
    VOUCHER_DAYS = 30
    #: Key for care households' personal data at rest (any text; None: derived from SECRET_KEY).
    CARE_DATA_KEY: str | None = None
    TESTING = False


def parse_points_expire(raw) -> tuple[str, int]:
    """``POINTS_EXPIRE`` as ``(rule, n)``: ``("never", 0)``, ``("year_end", N)`` or
    ``("months", N)``; anything else is a ``ValueError`` that says what is expected."""
    text = str(raw).strip().lower() if raw is not None else ""
    if text == "never":
        return "never", 0
    rule, _, number = text.partition(":")
    low = {"year_end": 0, "months": 1}.get(rule)
    if low is not None and number.isascii() and number.isdigit() and low <= int(number) <= 100:
        return rule, int(number)
    raise ValueError(f"POINTS_EXPIRE={raw!r} is not understood: use 'never', 'year_end:N' (N from 0 to 100) "
                     "or 'months:N' (N from 1 to 100)")


def _parse(kind: type, raw: str):
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return kind(raw)


def from_environment(environ=os.environ) -> dict:
    """The settings the environment sets, typed."""
    return {name: _parse(kind, environ[name]) for name, kind in ENV_SETTINGS.items() if environ.get(name)}


def instance_secret_key(instance_path: str) -> str:
    """A random key created once per instance folder and kept there (mode 0600)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def normalise_database_url(url: str) -> str:
    """Accept the usual PostgreSQL spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def parse_levels(spec: str) -> list[tuple[str, int]]:
    levels = []
    for part in spec.split(","):
        name, _, points = part.strip().rpartition(":")
        levels.append((name.strip(), int(points)))
    return sorted(levels, key=lambda item: item[1])
