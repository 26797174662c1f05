"""The bottom navigation bar and the Manage hub: items appear once their page exists and the
user may open it.

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


#: The Manage hub, in display order: (endpoint, label, hint, roles) — a link shows once its
#: endpoint exists and the user holds one of ``roles`` (admin passes).
MANAGE_LINKS: list[tuple[str, object, object, tuple[str, ...]]] = [
    ("pages.callout_new", _l("Call volunteers out"), _l("Ask for help now; see who is coming"), ("coordinator",)),
    ("pages.approvals", _l("Approvals"), _l("New registrations waiting for you"), ("coordinator",)),
    ("pages.teams", _l("Teams and members"), _l("Add, remove, make coordinator"), ("coordinator",)),
    ("pages.users", _l("People"), _l("Find, create and manage accounts"), ("coordinator",)),
    ("pages.shift_week", _l("Shifts and routes"), _l("Week plan, live view, attendance"), ("coordinator",)),
    ("pages.service_queue", _l("Service records to review"), _l("Make-up hours and duties left open; record for a member"),
     ("coordinator",)),
    ("pages.no_shows", _l("No-show blocks"), _l("Volunteers who may not sign up"), ("coordinator",)),
    ("pages.audit_page", _l("Audit trail"), _l("Who did what, and when"), ("admin",)),
    ("pages.webhooks_page", _l("Webhooks and chat groups"), _l("Tell a command platform or a chat group"),
     ("admin",)),
    ("pages.dashboard_page", _l("Dashboard"), _l("Today and this week at a glance"), ("coordinator",)),
    ("pages.reports_page", _l("Reports and exports"), _l("Hours, certificates, CSV files"), ("coordinator",)),
    ("pages.personal_data_page", _l("Personal data"), _l("Anonymise someone who has left"), ("admin",)),
    ("pages.station_settings_page", _l("Station settings"), _l("Levels, tip points, shifts, points expiry"),
     ("admin",)),
    ("pages.care_list", _l("Care visits"), _l("Households to visit, who is overdue, concerns"), ("coordinator",)),
    ("pages.mediation_list", _l("Mediation room"), _l("Case log, follow-up visits, mediator pool"), ("coordinator",)),
    ("pages.tips_inbox", _l("Tips and hazards"), _l("New tips, triage, follow-up visits"), ("coordinator",)),
    ("pages.checkpoint_list", _l("Checkpoints and posters"),
     _l("Place patrol points, print QR posters, see the last scan"), ("coordinator",)),
    ("pages.event_list", _l("Events"), _l("Create events and show their live check-in code"), ("coordinator",)),
    ("pages.leader_checkin", _l("Check in for a member"), _l("For volunteers without a smartphone"),
     ("coordinator",)),
    ("pages.points_people", _l("Adjust points"), _l("Correct a member's points, with a reason"), ("coordinator",)),
    ("pages.awards", _l("Awards and certificates"), _l("Grant awards with points and print certificates"),
     ("coordinator",)),
    ("pages.leaderboard", _l("Leaderboards"), _l("Points by week, month and year; teams per member"),
     ("coordinator",)),
    ("pages.counter", _l("Counter"), _l("Scan a member card and hand out items"), ("clerk",)),
    ("pages.store_manage", _l("Items and stock"), _l("Goods received, damaged, counts corrected"),
     ("clerk", "coordinator")),
    ("pages.sponsors_page", _l("Sponsors"), _l("Who gives the goods; thank-you letters"), ("clerk", "coordinator")),
    ("pages.stock_count", _l("Close the day"), _l("Count the shelf against the expected stock"),
     ("clerk", "coordinator")),
    ("pages.counter_summary", _l("Day summary"), _l("What was handed out, cancelled and counted"),
     ("clerk", "coordinator")),
]


def manage_links(user) -> list[dict]:
    """The Manage hub's links this user may follow, in display order."""
    return [{"endpoint": endpoint, "url": url_for(endpoint), "label": label, "hint": hint}
            for endpoint, label, hint, roles in MANAGE_LINKS
            if endpoint in current_app.view_functions and user.has_role(*roles)]
