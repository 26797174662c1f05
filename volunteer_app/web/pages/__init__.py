"""The phone pages: HTML with htmx partials. Each domain module adds its views to ``bp``."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)

from . import auth, home, site, staff  # noqa: E402,F401  (registers the views; favicon and manifest)
from . import shifts  # noqa: E402,F401  (shifts, routes, notices, calendar feed)
from . import audit, dashboard, reports  # noqa: E402,F401  (dashboard, reports, audit trail)
from . import store  # noqa: E402,F401  (points store, member card, counter)
from . import tips  # noqa: E402,F401  (tips and hazards)
from . import checkins  # noqa: E402,F401  (check-in, the result, my points)
from . import checkpoints  # noqa: E402,F401  (checkpoints, posters, events, leader check-in, adjustments)
from . import recognition  # noqa: E402,F401  (leaderboards, badges, awards, certificates)
from . import service  # noqa: E402,F401  (service records, make-ups, the review queue)
from . import queued  # noqa: E402,F401  (check-ins waiting on the phone, patrols without a scan)
from . import signin_links  # noqa: E402,F401  (one-time sign-in codes)
from . import webhooks  # noqa: E402,F401  (webhooks and chat groups, for admins)
from . import callouts  # noqa: E402,F401  (call-outs: send, answer, watch)
from . import sponsors  # noqa: E402,F401  (the store's sponsors, their letters; vouchers at a sponsor's)
from . import stations  # noqa: E402,F401  (stations of the county, join codes, the county's view)
from . import care  # noqa: E402,F401  (care visits)
from . import mediation  # noqa: E402,F401  (the mediation room)
from . import publicity  # noqa: E402,F401  (anti-fraud publicity sessions)
from . import notices  # noqa: E402,F401  (what each person hears: 通知设置)
from . import area  # noqa: E402,F401  (a police assistant's area)
from . import units  # noqa: E402,F401  (a sub-unit's roster, for its leaders)
