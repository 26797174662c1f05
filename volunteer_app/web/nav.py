"""The bottom navigation bar: items appear once their page exists and the user may open it."""
from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

#: (endpoint, label, icon, roles) — roles None: everyone signed in.
NAV_ITEMS = [
    ("pages.home", _l("Home"), "⌂", None),
    ("pages.scan", _l("Check in"), "▣", None),
    ("pages.my_shifts", _l("Shifts"), "◷", None),
    ("pages.store", _l("Store"), "★", None),
    ("pages.counter", _l("Counter"), "⇄", ("clerk",)),
    ("pages.manage", _l("Manage"), "☰", ("coordinator",)),
    ("pages.profile", _l("Me"), "☺", None),
]


def nav_items(user) -> list[dict]:
    items = []
    for endpoint, label, icon, roles in NAV_ITEMS:
        if endpoint not in current_app.view_functions:
            continue
        if roles and not user.has_role(*roles):
            continue
        url = url_for(endpoint)
        items.append({"url": url, "label": label, "icon": icon,
                      "active": request.endpoint == endpoint or (url != "/" and request.path.startswith(url))})
    return items
