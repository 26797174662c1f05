"""The bottom navigation bar: items appear once their page exists and the user may open it.

At most five items fit a 320 px phone with one thumb; staff tools take the place of the
volunteer items that are least used by that person (they stay one tap away on the home page).
"""
from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

#: (endpoint, label, icon, roles, drop_rank) — roles None: everyone signed in; when more than
#: MAX_ITEMS apply, the items with the highest drop_rank give way first (0: never).
NAV_ITEMS = [
    ("pages.home", _l("Home"), "⌂", None, 0),
    ("pages.scan", _l("Check in"), "▣", None, 1),
    ("pages.my_shifts", _l("Shifts"), "◷", None, 2),
    ("pages.store", _l("Store"), "★", None, 3),
    ("pages.counter", _l("Counter"), "⇄", ("clerk",), 0),
    ("pages.manage", _l("Manage"), "☰", ("coordinator", "clerk"), 0),
    ("pages.profile", _l("Me"), "☺", None, 0),
]
MAX_ITEMS = 5


def nav_entries(user) -> list[tuple]:
    """The entries this user sees, in display order."""
    entries = [entry for entry in NAV_ITEMS
               if entry[0] in current_app.view_functions and (not entry[3] or user.has_role(*entry[3]))]
    for entry in sorted((e for e in entries if e[4]), key=lambda e: -e[4]):
        if len(entries) <= MAX_ITEMS:
            break
        entries.remove(entry)
    return entries


def nav_items(user) -> list[dict]:
    items = []
    for endpoint, label, icon, _roles, _rank in nav_entries(user):
        url = url_for(endpoint)
        items.append({"url": url, "label": label, "icon": icon,
                      "active": request.endpoint == endpoint or (url != "/" and request.path.startswith(url))})
    return items
