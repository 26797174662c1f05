"""Recognition: badges earned by deeds, awards from templates, and leaderboards.

By concern: :mod:`.badges`, :mod:`.awards`, :mod:`.leaderboard`; callers use the package
(``recognition.grant_award(...)``).

Badges
    Declared once, in :data:`BADGES`, each with the deed that can earn it (``checkin``,
    ``shift`` or ``award``) and its rule. The services that record a deed call a hook in the
    deed's own transaction: :func:`after_checkin` (check-ins at checkpoints and events),
    :func:`after_shift_completed` (shifts) and :func:`after_award` (awards). A badge is held at most
    once (unique key on ``(user_id, key)``; a parallel deed that loses the race gets nothing) and
    earns its holder a notice. Badges carry no points.

Awards
    Coordinators grant an award (from a template or their own title) with points and a note: one
    ``award`` ledger entry (ref ``award:<id>``), a notice to the person and to their teams, an
    audit entry, and a certificate page.

Leaderboards
    Points earned in a calendar period (station time), read from ``points_totals``, which
    ``ledger.post`` keeps up to date in the entry's own transaction (all time: the user's
    ``lifetime_points``). Ties share a rank (1, 1, 3). A person's board is read straight from the
    totals (measured: cheaper than any cache); the teams ranked by points per member, which sum
    every member's total, are cached in the database (shared by every worker) while the ledger
    has not moved, and for a few seconds at most when it has. Names are looked up at read time,
    so choosing "anonymous volunteer" takes effect at once.
"""
from .badges import (Badge, Deed, BADGES, is_night_shift, BADGES_BY_KEY, CHECKIN_FACT_COLUMNS, checkin_fact_params,
    award_badges, award_badge, after_checkin, after_event_checkin, after_shift_completed, after_award,
    badges_of, badge_list, badge_board)  # noqa: F401
from .awards import (BUILTIN_TEMPLATES, MAX_AWARD_POINTS, templates, find_template, create_template,
    grant_award, certificate_wording, session_station_name, get_award, awards_of, recent_awards,
    PICKER_LIMIT, search_candidates, candidate)  # noqa: F401
from .leaderboard import (PERIODS, CACHE_FRESH_SECONDS, CACHE_MAX_SECONDS, period_start, cache_seconds, cached,
    setting_busy_timeout, clear_cache, anonymous_name, standing, leaderboard, team_ranking, my_team_ids,
    station_teams)  # noqa: F401
