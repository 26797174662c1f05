"""Shifts along patrol routes: sign-ups, waitlists, route completion and hours served.

By concern: :mod:`.schedule` (coordinators plan), :mod:`.signups` (volunteers sign up),
:mod:`.attendance` (route scans, completion, no-shows), :mod:`.calendar` (week view, feeds).
Callers use the package: ``shifts.signup(...)``.

Rules in one place, for the pages, the API and the check-in service alike:

- A coordinator of the team (or an admin) creates shifts: one, or one a week whose start falls on
  or before a date (station time, inclusive); copies a week forward; edits; cancels (everyone
  signed up is told with a notice).
- A member of the shift's team signs up: confirmed while there is room, then waitlisted in order
  of arrival. The shift row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` serialises writers), so N parallel sign-ups for capacity C leave exactly C
  confirmed. Refusals: ``not_team_member`` (403), ``already_signed_up``, ``shift_started`` (409),
  ``shift_cancelled`` (409), ``shift_overlap`` (409), ``beyond_signup_window`` (409),
  ``too_many_no_shows`` (403).
- Cancelling a sign-up promotes the first on the waitlist, who gets a notice.
- :func:`after_checkin` (called by the check-in service in its transaction) ties a checkpoint
  scan to the user's running confirmed shift and completes the shift at the last checkpoint of
  the route (with ``ROUTE_IN_ORDER``, only in the route's order): once (a conditional UPDATE on
  the sign-up, and the ledger's unique ref). Credit is the time actually on duty, from the first
  route scan (or the start, if later) to the last (or the end, if earlier); later route scans
  in the window extend it. Points: ``points_per_hour`` x those hours, night hours (22:00-06:00
  station time) x ``NIGHT_FACTOR``, rounded down; the minutes become a confirmed service record
  of kind patrol (services/service.py).

Lock order everywhere: the user row (``ledger.lock_user``) before the shift row.
"""
from .schedule import (GRACE, MAX_REPEATS, ACTIVE, get_shift, lock_shift, route_ids, routes_for, counts_for,
    list_shifts, managed_team, create_shifts, copy_week, when_text, edit_shift,
    cancel_shift, fill_from_waitlist, checkpoint_names, fill_level, open_shifts)  # noqa: F401
from .signups import (REMINDER_AHEAD, signup_of, waitlist_position, my_signups, my_shifts,
    no_show_count, is_blocked, signup, cancel_signup, remind)  # noqa: F401
from .attendance import (visited, attendance, mark_no_show, confirm_attendance, clear_no_shows,
    blocked_volunteers, shift_minutes, shift_points, points_for, route_scans, covered, after_checkin, running_shift, LiveRow, live,
    check_integrity, my_progress)  # noqa: F401
from .calendar import (feed_token, revoke_feed, feed_user, ical, week)  # noqa: F401
