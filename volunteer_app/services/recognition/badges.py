"""Badges: declared once in :data:`BADGES`, each with the deed that can earn it and its rule;
the hooks the deeds' services call in their own transaction."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from ... import db
from ...models import Checkin, Checkpoint, Shift, ShiftSignup, User, UserBadge
from ... import timeutil
from ...timeutil import is_night, isoformat, local, night_minutes, utcnow
from .. import access, notices


@dataclass(frozen=True)
class Badge:
    key: str
    name: object
    description: object
    icon: str
    #: The deed that can earn it: "checkin", "shift" or "award".
    trigger: str
    rule: Callable[["Deed"], bool]


class Deed:
    """What a rule may ask about the person and the deed; each fact is read once, lazily."""

    def __init__(self, session: Session, user_id: int, now: datetime, *, checkin=None, shift=None,
                 facts: dict[str, object] | None = None):
        self.session, self.user_id, self.now = session, user_id, now
        self.checkin, self.shift = checkin, shift
        self._facts: dict[str, object] = dict(facts or {})

    def _fact(self, name: str, compute: Callable[[], object]):
        if name not in self._facts:
            self._facts[name] = compute()
        return self._facts[name]

    def count_checkins(self, kind: str | None = None) -> int:
        def compute():
            stmt = select(func.count(Checkin.id)).where(Checkin.user_id == self.user_id)
            if kind:
                stmt = stmt.where(Checkin.kind == kind)
            return self.session.exec(stmt).one()
        return self._fact(f"checkins:{kind}", compute)

    @property
    def is_checkpoint(self) -> bool:
        return getattr(self.checkin, "kind", None) == "checkpoint"

    @property
    def is_event(self) -> bool:
        return getattr(self.checkin, "kind", None) == "event"

    def minutes_served(self) -> int:
        return self._fact("minutes", lambda: self.session.exec(
            select(User.minutes_served).where(User.id == self.user_id)).one())

    def completed_shifts(self) -> list[tuple[datetime, datetime]]:
        return self._fact("shifts", lambda: list(self.session.exec(
            select(Shift.starts_at, Shift.ends_at).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
            .where(ShiftSignup.user_id == self.user_id, ShiftSignup.completed_at.is_not(None)))))

    def active_checkpoints(self) -> int:
        def compute():
            return self.session.exec(select(func.count()).select_from(Checkpoint).where(
                Checkpoint.station_id == _station_of(self.user_id), Checkpoint.active)).one()
        return self._fact("active_checkpoints", compute)

    def visited_every_checkpoint(self) -> bool:
        def compute():
            total = self.active_checkpoints()
            # Visiting every checkpoint takes at least as many patrol check-ins as there are
            # checkpoints: most check-ins are settled without the distinct count.
            if total == 0 or self.count_checkins("checkpoint") < total:
                return False
            active = select(Checkpoint.id).where(Checkpoint.station_id == _station_of(self.user_id), Checkpoint.active)
            visited = self.session.exec(
                select(func.count(func.distinct(Checkin.checkpoint_id))).where(
                    Checkin.user_id == self.user_id, Checkin.checkpoint_id.in_(active))).one()
            return visited >= total
        return self._fact("all_checkpoints", compute)

    def weeks_running(self, weeks: int) -> bool:
        """A check-in in each of the last ``weeks`` calendar weeks (station time), this one included."""
        def compute():
            bounds = _recent_weeks(self.now, weeks)
            times = self.session.exec(select(Checkin.created_at).where(
                Checkin.user_id == self.user_id, Checkin.created_at >= bounds[-1][0],
                Checkin.created_at < bounds[0][1]))
            seen = set()
            for created in times:
                day = local(created).date()
                seen.add(day - timedelta(days=day.weekday()))
            return len(seen) >= weeks
        return self._fact(f"weeks:{weeks}", compute)


def _station_of(user_id):
    """The person's station as a scalar subquery (table columns: usable in plain Core statements)."""
    users = User.__table__.c
    return select(users.station_id).where(users.id == user_id).scalar_subquery()


def _recent_weeks(now: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """[start, end) in UTC of this calendar week (station time) and the ``weeks - 1`` before it."""
    today = local(now).date()
    return [timeutil.week_bounds(today - timedelta(weeks=n))[1:] for n in range(weeks)]


def is_night_shift(starts_at: datetime, ends_at: datetime) -> bool:
    """A shift with at least an hour between 22:00 and 06:00 station time."""
    return night_minutes(starts_at, ends_at) >= 60


def _night_checkin(deed: Deed) -> bool:
    return deed.is_checkpoint and is_night(deed.checkin.created_at)


#: Every badge, in the order the badge page shows them.
BADGES: list[Badge] = [
    Badge("first_checkin", _l("First patrol"), _l("Your first check-in."), "★", "checkin",
          lambda d: True),
    Badge("patrols_10", _l("10 patrols"), _l("Checked in at patrol points 10 times."), "10", "checkin",
          lambda d: d.is_checkpoint and d.count_checkins("checkpoint") >= 10),
    Badge("patrols_50", _l("50 patrols"), _l("Checked in at patrol points 50 times."), "50", "checkin",
          lambda d: d.is_checkpoint and d.count_checkins("checkpoint") >= 50),
    Badge("patrols_100", _l("100 patrols"), _l("Checked in at patrol points 100 times."), "100", "checkin",
          lambda d: d.is_checkpoint and d.count_checkins("checkpoint") >= 100),
    Badge("first_night", _l("Night owl"), _l("A patrol check-in between 22:00 and 06:00."), "☾", "checkin",
          _night_checkin),
    Badge("all_checkpoints", _l("Every corner"), _l("Checked in at every patrol point of the station."), "◎",
          "checkin", lambda d: d.is_checkpoint and d.visited_every_checkpoint()),
    Badge("four_weeks", _l("Four weeks running"), _l("Active in each of four weeks in a row."), "▦", "checkin",
          lambda d: d.weeks_running(4)),
    Badge("first_event", _l("First event"), _l("Checked in at an event for the first time."), "✦", "checkin",
          lambda d: d.is_event),
    Badge("events_10", _l("10 events"), _l("Checked in at 10 events."), "✪", "checkin",
          lambda d: d.is_event and d.count_checkins("event") >= 10),
    Badge("first_shift", _l("First shift"), _l("Completed a patrol shift."), "◷", "shift",
          lambda d: True),
    Badge("hours_24", _l("24 hours"), _l("24 hours of service."), "24h", "shift",
          lambda d: d.minutes_served() >= 24 * 60),
    Badge("hours_100", _l("100 hours"), _l("100 hours of service."), "100h", "shift",
          lambda d: d.minutes_served() >= 100 * 60),
    Badge("hours_500", _l("500 hours"), _l("500 hours of service."), "500h", "shift",
          lambda d: d.minutes_served() >= 500 * 60),
    Badge("night_shifts_10", _l("Night watch"), _l("Completed 10 night shifts."), "☽", "shift",
          lambda d: sum(1 for s, e in d.completed_shifts() if is_night_shift(s, e)) >= 10),
    Badge("first_award", _l("Honoured"), _l("Received an award from the station."), "✿", "award",
          lambda d: True),
]


BADGES_BY_KEY = {badge.key: badge for badge in BADGES}


#: Badges a check-in can earn, and how many weeks "four weeks running" looks back.
_CHECKIN_BADGES = [badge.key for badge in BADGES if badge.trigger == "checkin"]


_STREAK_WEEKS = 4


def _checkin_fact_columns() -> list:
    """Everything the check-in badges ask, as columns of one SELECT (a check-in reads them with
    the volunteer's row lock, in the same round trip): patrol and event counts, the station's
    active checkpoints, a check-in in each of the last four weeks, and which check-in badges the
    person holds. Parameters: ``user_id`` and :func:`checkin_fact_params`. Table columns, not the
    models' attributes: a plain Core statement runs without the ORM's per-execution work."""
    user_id = bindparam("user_id")
    checkins, checkpoints, badges = Checkin.__table__.c, Checkpoint.__table__.c, UserBadge.__table__.c

    def count(kind):
        return (select(func.count()).select_from(Checkin.__table__)
                .where(checkins.user_id == user_id, checkins.kind == kind).scalar_subquery())

    active = (select(func.count()).select_from(Checkpoint.__table__)
              .where(checkpoints.station_id == _station_of(user_id), checkpoints.active).scalar_subquery())
    weeks = [exists().where(checkins.user_id == user_id,
                            checkins.created_at >= bindparam(f"week{n}_start", type_=checkins.created_at.type),
                            checkins.created_at < bindparam(f"week{n}_end", type_=checkins.created_at.type))
             for n in range(_STREAK_WEEKS)]
    held = [exists().where(badges.user_id == user_id, badges.key == key) for key in _CHECKIN_BADGES]
    return [count("checkpoint"), count("event"), active, *weeks, *held]


CHECKIN_FACT_COLUMNS = _checkin_fact_columns()


_CHECKIN_FACTS = select(*CHECKIN_FACT_COLUMNS)


def checkin_fact_params(now: datetime) -> dict[str, datetime]:
    """The week bounds :data:`CHECKIN_FACT_COLUMNS` take, for a check-in at ``now``."""
    params = {}
    for n, (start, end) in enumerate(_recent_weeks(now, _STREAK_WEEKS)):
        params[f"week{n}_start"], params[f"week{n}_end"] = start, end
    return params


def _facts_from(values, checkin=None) -> tuple[set[str], dict[str, object]]:
    """(check-in badges held, the facts :class:`Deed` would otherwise read one by one) from the
    values of :data:`CHECKIN_FACT_COLUMNS`; ``checkin``: read before this check-in was written,
    so count it in (it is in this week, and of its kind)."""
    patrols, events, active, *flags = values
    weeks, held = list(flags[:_STREAK_WEEKS]), flags[_STREAK_WEEKS:]
    if checkin is not None:
        patrols += checkin.kind == "checkpoint"
        events += checkin.kind == "event"
        weeks[0] = True
    facts = {"checkins:checkpoint": patrols, "checkins:event": events, "active_checkpoints": active,
             f"weeks:{_STREAK_WEEKS}": all(weeks)}
    return {key for key, has in zip(_CHECKIN_BADGES, held) if has}, facts


@functools.cache
def _add_badges_statement(dialect: str):
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id, key``, run with one row of values per
    badge (one statement for them all): no row back for a badge already held, also when a
    parallel deed got there first; no savepoint needed."""
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    table = UserBadge.__table__
    return (insert_for(table).on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(table.c.id, table.c.key))


def award_badges(session: Session, user_id: int, keys: list[str], now: datetime | None = None) -> list[UserBadge]:
    """Give badges once each, with a notice for each new one: one statement for the badges and
    one for the notices. Returns the new badges in the order asked; a badge the user already
    holds (also one a parallel deed got first) is left out."""
    if not keys:
        return []
    now = now or utcnow()
    rows = [{"user_id": user_id, "key": key, "earned_at": now} for key in keys]
    statement = _add_badges_statement(session.get_bind().dialect.name)
    new_ids = dict((key, badge_id) for badge_id, key in session.execute(statement, rows[0] if len(rows) == 1 else rows))
    earned = [db.written(session, UserBadge, {**row, "id": new_ids[row["key"]]}) for row in rows if row["key"] in new_ids]
    notices.notify_all(session, user_id, [
        ("badge", _l("New badge: %(name)s", name=name), description, "/badges")
        for name, description in [_badge_texts(badge.key) for badge in earned]], now=now)
    return earned


def award_badge(session: Session, user_id: int, key: str, now: datetime | None = None) -> UserBadge | None:
    """Give one badge once, with a notice; the new badge, or None when the user already holds it."""
    earned = award_badges(session, user_id, [key], now)
    return earned[0] if earned else None


def _badge_texts(key: str) -> tuple:
    """(name, description) of a badge; a key no longer declared shows as itself."""
    spec = BADGES_BY_KEY.get(key)
    return (spec.name, spec.description) if spec else (key, "")


def _evaluate(session: Session, user_id: int, trigger: str, now: datetime | None, facts_before=None,
              **deed) -> list[UserBadge]:
    now = now or utcnow()
    if facts_before is not None:
        held, known = _facts_from(facts_before, deed.get("checkin"))
    elif trigger == "checkin":
        values = session.exec(_CHECKIN_FACTS, params={"user_id": user_id, **checkin_fact_params(now)}).one()
        held, known = _facts_from(values)
    else:
        held, known = set(session.exec(select(UserBadge.key).where(UserBadge.user_id == user_id))), {}
    facts = Deed(session, user_id, now, facts=known, **deed)
    return award_badges(session, user_id, [spec.key for spec in BADGES
                                           if spec.trigger == trigger and spec.key not in held and spec.rule(facts)], now)


def after_checkin(session: Session, user_id: int, checkin, now: datetime | None = None, *,
                  facts_before=None) -> list[UserBadge]:
    """Badges earned by a check-in at a checkpoint or an event (the check-in service calls this
    in the same transaction, after the check-in row is flushed). Returns the new badges.
    ``facts_before``: the values of :data:`CHECKIN_FACT_COLUMNS` the service read with the
    volunteer's lock, before writing the check-in (saves a round trip)."""
    return _evaluate(session, user_id, "checkin", now or getattr(checkin, "created_at", None),
                     facts_before=facts_before, checkin=checkin)


def after_event_checkin(session: Session, user_id: int, checkin, now: datetime | None = None) -> list[UserBadge]:
    """The same as :func:`after_checkin` (which already handles event check-ins)."""
    return after_checkin(session, user_id, checkin, now)


def after_shift_completed(session: Session, user_id: int, shift, signup=None,
                          now: datetime | None = None) -> list[UserBadge]:
    """Badges earned by completing a shift (the shift service calls this in the same
    transaction, after ``completed_at`` and ``minutes_served`` have been written)."""
    return _evaluate(session, user_id, "shift", now, shift=shift)


def after_award(session: Session, user_id: int, now: datetime | None = None) -> list[UserBadge]:
    """Badges earned by receiving an award (the award service calls this in its transaction)."""
    return _evaluate(session, user_id, "award", now)


def badges_of(session: Session, user_id: int) -> list[UserBadge]:
    return list(session.exec(select(UserBadge).where(UserBadge.user_id == user_id)
                             .order_by(UserBadge.earned_at, UserBadge.id)))


def badge_list(session: Session, actor: User, user_id: int) -> list[dict]:
    """A person's badges, oldest first (anyone of the station may look: badges are public)."""
    access.get_in_station(session, User, user_id, actor, _l("No such user."))
    return [{"key": row.key, "name": str(BADGES_BY_KEY[row.key].name) if row.key in BADGES_BY_KEY else row.key,
             "earned_at": isoformat(row.earned_at)} for row in badges_of(session, user_id)]


#: Badges earned by counting, with what is counted and how many: their progress can be shown.
COUNTED_BADGES = {"patrols_10": ("patrols", 10), "patrols_50": ("patrols", 50), "patrols_100": ("patrols", 100),
                  "events_10": ("events", 10), "hours_24": ("hours", 24), "hours_100": ("hours", 100),
                  "hours_500": ("hours", 500)}


def badge_board(session: Session, user_id: int) -> list[dict]:
    """Every badge with whether (and when) the person earned it, for the badge page; a counted
    badge not yet earned carries ``progress``: ``(what, done, left)``, e.g. ``("patrols", 7, 3)``."""
    held = {row.key: row.earned_at for row in badges_of(session, user_id)}
    counts = dict(session.exec(select(Checkin.kind, func.count()).where(Checkin.user_id == user_id)
                               .group_by(Checkin.kind)).all())
    user = session.get(User, user_id)
    done = {"patrols": counts.get("checkpoint", 0), "events": counts.get("event", 0),
            "hours": (user.minutes_served if user else 0) // 60}
    board = []
    for spec in BADGES:
        row = {"key": spec.key, "name": spec.name, "description": spec.description, "icon": spec.icon,
               "earned_at": held.get(spec.key), "progress": None}
        if spec.key in COUNTED_BADGES and row["earned_at"] is None:
            what, goal = COUNTED_BADGES[spec.key]
            if done[what] < goal:
                row["progress"] = (what, done[what], goal - done[what])
        board.append(row)
    return board

