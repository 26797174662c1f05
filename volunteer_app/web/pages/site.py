"""What browsers ask of every site: the favicon and the web app manifest (home-screen icon)."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...settings import setting
from . import bp

#: What the site is, for search results and the home-screen app (also the pages' default).
DESCRIPTION = _l("Check in at patrol points, sign up for shifts, earn points for the points store and report tips.")


@bp.get("/favicon.ico")
def favicon():
    return send_file(Path(current_app.static_folder) / "favicon.ico", mimetype="image/vnd.microsoft.icon",
                     max_age=86400)


@bp.get("/manifest.webmanifest")
def web_manifest():
    """Name, colours and icons for "add to home screen"; no service worker is needed."""
    name = f'{_("Volunteer Police")} · {setting("STATION_NAME")}'
    response = jsonify({
        "name": name, "short_name": _("Volunteer Police"), "description": str(DESCRIPTION),
        "start_url": url_for("pages.home"), "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#1d4e89",
        "icons": [{"src": url_for("static", filename=f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
                   "type": "image/png", "purpose": "any"} for size in (192, 512)]
                 + [{"src": url_for("static", filename="icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    })
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


