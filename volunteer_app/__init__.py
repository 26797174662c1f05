"""Volunteer-police engagement platform: QR check-in, patrol shifts, points store, recognition."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import db

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Top-level ``templates``/``static``/``migrations``: inside the package when installed from
    a wheel, beside it in a checkout."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.from_object(config_module.Defaults)
    app.config.update(config_module.from_environment())
    app.config.update(config or {})

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "volunteer.db")
    app.config["DATABASE_URL"] = config_module.normalise_database_url(app.config["DATABASE_URL"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.instance_secret_key(app.instance_path)
    if app.config["SESSION_COOKIE_SECURE"] is False and (app.config.get("PUBLIC_BASE_URL") or "").startswith("https"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["STATION_TZ"]
    config_module.parse_points_expire(app.config["POINTS_EXPIRE"])  # a bad rule stops the start

    from .services import accounts
    accounts.configure_hasher(fast=bool(app.config.get("FAST_PASSWORD_HASH")))

    if not app.config.get("TESTING") and not logging.getLogger().handlers:
        logging.basicConfig(level=app.config["LOG_LEVEL"],
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    trust_proxies(app)
    db.init_app(app)

    from . import web
    web.init_app(app)

    from . import cli
    cli.init_app(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client's address and scheme from the
    ``X-Forwarded-For`` / ``-Proto`` entries those proxies added (and no entry beyond them), so
    that ``request.remote_addr`` is the client everywhere (rate limits, the request log)."""
    hops = max(int(app.config.get("TRUSTED_PROXIES") or 0), 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
