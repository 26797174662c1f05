"""The coordinator dashboard page: figures for today and this week, and three server-drawn plots
(each with a plain table for screen readers)."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import db
from ...services import callouts, dashboard, svg
from ...timeutil import local
from ..params import arg_id
from . import bp
from .common import render, role_required


def weekday_labels() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def plots(board: dashboard.Dashboard) -> dict:
    days = weekday_labels()
    heat = svg.heatmap(board.heatmap, days, _("Check-ins by hour and weekday, last 4 weeks"), _("Hour"))
    rows = [svg.CoverageRow(row.checkpoint.name, row.scans,
                            local(row.last_scan).strftime("%m-%d %H:%M") if row.last_scan else "", row.stale)
            for row in board.coverage]
    cover = svg.coverage(rows, _("Coverage by checkpoint: scans in the last 7 days"),
                         _("Not visited in 24 h"), _("never"), _("Last scan:"))
    weeks = [(local(week.start).strftime("%m-%d"), week.issued, week.redeemed) for week in board.flow]
    flow = svg.points_flow(weeks, _("Points issued and redeemed by week"), _("Issued"), _("Redeemed"))
    return {"heatmap": heat.markup(), "coverage": cover.markup(), "flow": flow.markup()}


def busiest(grid: list[list[int]]) -> tuple[int, int, int] | None:
    best = max(((grid[hour][day], hour, day) for hour in range(24) for day in range(7)), default=(0, 0, 0))
    return best if best[0] else None


@bp.get("/manage/dashboard")
@role_required("coordinator")
def dashboard_page():
    board = dashboard.build(db.get_session(), current_user, team_id=arg_id("team"))
    return render("pages/dashboard/index.html", "pages/dashboard/_board.html", board=board, plots=plots(board),
                  weekdays=weekday_labels(), busiest=busiest(board.heatmap),
                  callout_figures=callouts.response_figures(db.get_session(), current_user, limit=5),
                  approvals_url=url_for("pages.approvals") if "pages.approvals" in current_app.view_functions else None)
