"""Recognition: badges earned by deeds, awards from templates, and leaderboards.

Badges
    Declared once, in :data:`BADGES`, each with the deed that can earn it (``checkin``,
    ``shift`` or ``award``) and its rule. The services that record a deed call a hook in the
    deed's own transaction: :func:`after_checkin` (check-ins at checkpoints and events),
    :func:`after_shift_completed` (shifts) and the award service here. A badge is held at most
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
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from flask_babel import lazy_gettext as _l
from flask import current_app, has_app_context
from sqlalchemy import bindparam, exists, func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from .. import db
from ..errors import DomainError, FieldError
from ..parsing import is_id
from ..models import (Award, AwardTemplate, Station, Checkin, Checkpoint, LeaderboardCache, LedgerEntry, PointsTotal, Shift,
                      ShiftSignup, Team, TeamMembership, User, UserBadge)
from ..timeutil import as_utc, isoformat, local, local_midnight, utcnow
from . import access, audit, ledger, notices

# -- badges ---------------------------------------------------------------------------------------


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
            bounds = week_bounds(self.now, weeks)
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


def week_bounds(now: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """[start, end) in UTC of this calendar week (station time) and the ``weeks - 1`` before it."""
    today = local(now).date()
    monday = today - timedelta(days=today.weekday())
    return [(local_midnight(monday - timedelta(weeks=n)), local_midnight(monday - timedelta(weeks=n - 1)))
            for n in range(weeks)]


NIGHT_START, NIGHT_END = 22, 6


def night_minutes(starts_at: datetime, ends_at: datetime) -> int:
    """Minutes of ``[starts_at, ends_at)`` between 22:00 and 06:00 station time."""
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    total = 0
    day = local(starts_at).date() - timedelta(days=1)
    while local_midnight(day) < ends_at:
        begin = local_midnight(day) + timedelta(hours=NIGHT_START)
        end = local_midnight(day + timedelta(days=1)) + timedelta(hours=NIGHT_END)
        overlap = min(ends_at, end) - max(starts_at, begin)
        total += max(int(overlap.total_seconds() // 60), 0)
        day += timedelta(days=1)
    return total


def is_night_shift(starts_at: datetime, ends_at: datetime) -> bool:
    """A shift with at least an hour between 22:00 and 06:00 station time."""
    return night_minutes(starts_at, ends_at) >= 60


def _night_checkin(deed: Deed) -> bool:
    hour = local(deed.checkin.created_at).hour
    return deed.is_checkpoint and (hour >= NIGHT_START or hour < NIGHT_END)


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
    for n, (start, end) in enumerate(week_bounds(now, _STREAK_WEEKS)):
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


def badges_of(session: Session, user_id: int) -> list[UserBadge]:
    return list(session.exec(select(UserBadge).where(UserBadge.user_id == user_id)
                             .order_by(UserBadge.earned_at, UserBadge.id)))


def badge_list(session: Session, actor: User, user_id: int) -> list[dict]:
    """A person's badges, oldest first (anyone of the station may look: badges are public)."""
    access.get_in_station(session, User, user_id, actor, _l("No such user."))
    return [{"key": row.key, "name": str(BADGES_BY_KEY[row.key].name) if row.key in BADGES_BY_KEY else row.key,
             "earned_at": isoformat(row.earned_at)} for row in badges_of(session, user_id)]


def badge_board(session: Session, user_id: int) -> list[dict]:
    """Every badge with whether (and when) the person earned it, for the badge page."""
    held = {row.key: row.earned_at for row in badges_of(session, user_id)}
    return [{"key": spec.key, "name": spec.name, "description": spec.description, "icon": spec.icon,
             "earned_at": held.get(spec.key)} for spec in BADGES]


# -- awards ---------------------------------------------------------------------------------------

#: Every station's awards (official titles, printed on certificates as they are).
BUILTIN_TEMPLATES = [
    {"key": "builtin:monthly_star", "title": "月度之星", "default_points": 50,
     "description": _l("The volunteer of the month.")},
    {"key": "builtin:gold_mediator", "title": "金牌调解员", "default_points": 100,
     "description": _l("For settling disputes between neighbours.")},
    {"key": "builtin:excellent", "title": "优秀义警", "default_points": 80,
     "description": _l("For outstanding service as a volunteer police officer.")},
    {"key": "builtin:anti_fraud", "title": "反诈先锋", "default_points": 50,
     "description": _l("For leading the fight against telecom fraud.")},
]
MAX_AWARD_POINTS = 10_000


def templates(session: Session, station_id: int) -> list[dict]:
    """Award templates a coordinator may pick: the built-in ones, then the station's own."""
    own = session.exec(select(AwardTemplate).where(AwardTemplate.station_id == station_id, AwardTemplate.active)
                       .order_by(AwardTemplate.id))
    return [dict(item) for item in BUILTIN_TEMPLATES] + [
        {"key": f"own:{row.id}", "id": row.id, "title": row.title, "default_points": row.default_points,
         "description": row.description} for row in own]


def find_template(session: Session, station_id: int, key: str | None) -> dict | None:
    if not key:
        return None
    return next((item for item in templates(session, station_id) if item["key"] == key), None)


def _check_points(points) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= MAX_AWARD_POINTS:
        raise FieldError("points", _l("Enter a whole number from %(low)s to %(high)s.", low=0,
                                      high=MAX_AWARD_POINTS))
    return points


def _check_title(title) -> str:
    title = (title or "").strip()
    if not title or len(title) > 100:
        raise FieldError("title", _l("Please enter a title (at most 100 characters)."))
    return title


def create_template(session: Session, actor: User, *, title: str, default_points: int = 0,
                    description: str = "") -> AwardTemplate:
    """A station's own award (coordinators and admins)."""
    access.require_role(actor, "coordinator")
    title = _check_title(title)
    default_points = _check_points(default_points)
    description = (description or "").strip()
    if len(description) > 500:
        raise FieldError("description", _l("At most 500 characters."))
    if title in {item["title"] for item in templates(session, actor.station_id)}:
        raise FieldError("title", _l("This award already exists."))
    row = AwardTemplate(station_id=actor.station_id, title=title, default_points=default_points,
                        description=description)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise FieldError("title", _l("This award already exists.")) from None
    audit.record(session, actor, "award_template.create", "award_template", row.id, title=title)
    return row


def grant_award(session: Session, actor: User, *, user_id: int, title: str | None = None,
                points: int | None = None, note: str | None = None, template_key: str | None = None,
                now: datetime | None = None) -> Award:
    """Grant an award: a coordinator of the person's team, or an admin. With ``template_key``
    the template fills in the title and points that are not given."""
    now = now or utcnow()
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_manage_user(session, actor, target)
    template = find_template(session, actor.station_id, template_key)
    if template_key and template is None:
        raise FieldError("template", _l("No such award template."))
    if template is not None:
        title = title if (title or "").strip() else template["title"]
        points = template["default_points"] if points is None else points
    title = _check_title(title)
    points = _check_points(0 if points is None else points)
    note = (note or "").strip()
    if len(note) > 1000:
        raise FieldError("note", _l("At most 1000 characters."))
    ledger.lock_user(session, target.id)
    award = Award(station_id=target.station_id, user_id=target.id, title=title, points=points, note=note,
                  template_id=template.get("id") if template else None, granted_by_id=actor.id, granted_at=now)
    session.add(award)
    session.flush()
    if points:
        ledger.post(session, target.id, points, "award", f"award:{award.id}", reason=title, actor_id=actor.id,
                    now=now)
    url = f"/awards/{award.id}/certificate"
    notices.notify(session, target.id, "award", _l("You received an award: %(title)s", title=title),
                   note, url, now=now)
    team_ids = access.team_ids_of(session, target.id)
    if team_ids:
        others = session.exec(select(TeamMembership.user_id).where(
            TeamMembership.team_id.in_(team_ids), TeamMembership.user_id != target.id).distinct())
        for other in sorted(set(others)):
            notices.notify(session, other, "team_award",
                           _l("%(name)s received the award %(title)s", name=target.display_name, title=title),
                           note, url, now=now)
    _evaluate(session, target.id, "award", now)
    audit.record(session, actor, "award.grant", "award", award.id, user_id=target.id, title=title,
                 points=points)
    return award


def certificate_wording(award: Award, person: User, granted: date) -> dict:
    """The words of a certificate. A certificate is a formal document in Chinese whatever the
    language of the screen, so its wording is fixed here rather than translated."""
    station = session_station_name(person)
    return {
        "heading": "荣誉证书",
        "salutation": f"{person.display_name} 同志：",
        "body": f"在平安志愿服务工作中表现突出，特授予「{award.title}」荣誉称号。",
        "points": f"奖励积分 {award.points} 分。" if award.points else "",
        "closing": "特发此证，以资鼓励。",
        "station": station,
        "date": f"{granted.year}年{granted.month}月{granted.day}日",
        "number": f"证书编号：{granted.year}-{award.id:05d}",
    }


def session_station_name(person: User) -> str:
    owner = object_session(person)
    station = owner.get(Station, person.station_id) if owner is not None else None
    return station.name if station is not None else ""


def award_view(award: Award) -> dict:
    return {"id": award.id, "user_id": award.user_id, "title": award.title, "points": award.points,
            "note": award.note, "template_id": award.template_id, "granted_by_id": award.granted_by_id,
            "granted_at": isoformat(award.granted_at), "certificate_url": f"/awards/{award.id}/certificate"}


def get_award(session: Session, actor: User, award_id: int) -> Award:
    """An award of the actor's station: awards are public honours (the certificate is shared)."""
    return access.get_in_station(session, Award, award_id, actor, _l("No such award."))


def awards_of(session: Session, user_id: int) -> list[Award]:
    return list(session.exec(select(Award).where(Award.user_id == user_id).order_by(Award.id.desc())))


def recent_awards(session: Session, actor: User, *, limit: int = 30) -> list[tuple[Award, User]]:
    """Awards the actor may see in the manage list: the whole station for admins, their teams'
    members for coordinators."""
    access.require_role(actor, "coordinator")
    stmt = (select(Award, User).join(User, User.id == Award.user_id)
            .where(Award.station_id == actor.station_id))
    if not actor.is_admin:
        teams = access.coordinated_team_ids(session, actor) or {-1}
        stmt = stmt.where(Award.user_id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams))))
    return list(session.exec(stmt.order_by(Award.id.desc()).limit(limit)))


def candidates(session: Session, actor: User) -> list[User]:
    """People the actor may honour: members of the teams they coordinate (admins: everyone active)."""
    access.require_role(actor, "coordinator")
    stmt = select(User).where(User.station_id == actor.station_id, User.status == "active")
    if not actor.is_admin:
        teams = access.coordinated_team_ids(session, actor) or {-1}
        stmt = stmt.where(User.id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams))))
    return list(session.exec(stmt.order_by(User.display_name, User.id).limit(1000)))


# -- leaderboards ---------------------------------------------------------------------------------

PERIODS = ("week", "month", "year", "all")
#: A cached board is used while the ledger has not moved since it was computed, and regardless
#: for this many seconds (so a busy station recomputes at most this often)...
CACHE_FRESH_SECONDS = 10
#: ...and never longer than this (team membership changes do not touch the ledger).
CACHE_MAX_SECONDS = 60


def period_start(period: str, now: datetime | None = None) -> date | None:
    if period == "all":
        return None
    if period not in PERIODS:
        raise FieldError("period", _l("The period is week, month, year or all."))
    return ledger.period_starts(now or utcnow())[period]


def _ranked(rows, key) -> list[dict]:
    """Competition ranking over rows sorted highest first: ties share a rank (1, 1, 3)."""
    out, rank, previous = [], 0, object()
    for index, row in enumerate(rows):
        if row[key] != previous:
            rank, previous = index + 1, row[key]
        out.append({**row, "rank": rank})
    return out


def _team_in_station(session: Session, station_id: int, team_id: int) -> Team:
    team = session.get(Team, team_id) if is_id(team_id) else None
    if team is None or team.station_id != station_id:
        raise DomainError("not_found", _l("No such team."))
    return team


def _compute_board(session: Session, station_id: int, period: str, start: date | None, team_id: int | None,
                   limit: int) -> list[dict]:
    """``[{user_id, points, rank}]``, highest first, people with points only; disabled accounts
    (people who left, anonymised ones) are not on the boards."""
    listed = User.status == "active"
    if team_id is not None:
        members = select(TeamMembership.user_id).where(TeamMembership.team_id == team_id)
        if start is None:
            stmt = select(User.id, User.lifetime_points).where(User.id.in_(members), User.lifetime_points > 0, listed)
        else:
            stmt = select(PointsTotal.user_id, PointsTotal.points).join(User, User.id == PointsTotal.user_id).where(
                PointsTotal.period == period, PointsTotal.period_start == start,
                PointsTotal.user_id.in_(members), PointsTotal.points > 0, listed)
        rows = sorted(session.exec(stmt), key=lambda row: (-row[1], row[0]))
    elif start is None:
        rows = session.exec(select(User.id, User.lifetime_points).where(
            User.station_id == station_id, User.lifetime_points > 0, listed)
            .order_by(User.lifetime_points.desc(), User.id.desc()).limit(limit))
    else:
        rows = session.exec(select(PointsTotal.user_id, PointsTotal.points)
                            .join(User, User.id == PointsTotal.user_id).where(
            PointsTotal.station_id == station_id, PointsTotal.period == period,
            PointsTotal.period_start == start, PointsTotal.points > 0, listed)
            .order_by(PointsTotal.points.desc(), PointsTotal.user_id.desc()).limit(limit))
    return _ranked([{"user_id": user_id, "points": points} for user_id, points in rows], "points")[:limit]


def _ledger_mark(session: Session) -> int:
    """The newest entry id: a bare max() of the key, which both engines read from the index end
    (wrapped in coalesce(), SQLite would scan the table)."""
    return session.exec(select(func.max(LedgerEntry.id))).one() or 0


def _cached(session: Session, key: str, compute: Callable[[], list], now: datetime) -> list:
    """A board from the shared cache table, or computed and stored (in a transaction of its
    own, so a GET never holds a write and a failure to store is harmless)."""
    seconds = cache_seconds()
    if not seconds:
        return compute()
    mark = _ledger_mark(session)
    row = session.get(LeaderboardCache, key)
    if row is not None:
        age = (now - as_utc(row.computed_at)).total_seconds()
        if 0 <= age < seconds and (row.ledger_mark == mark or age < CACHE_FRESH_SECONDS):
            return json.loads(row.payload)
    value = compute()
    _store(session, key, value, mark, now)
    return value


def cache_seconds() -> int:
    """How long a board may be kept at most (the app setting ``LEADERBOARD_CACHE_SECONDS``;
    0 turns the cache off)."""
    if has_app_context():
        return int(current_app.config.get("LEADERBOARD_CACHE_SECONDS", CACHE_MAX_SECONDS))
    return CACHE_MAX_SECONDS


def _store(session: Session, key: str, value, mark: int, now: datetime) -> None:
    engine = session.get_bind()
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LeaderboardCache).values(key=key, payload=json.dumps(value), ledger_mark=mark, computed_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "payload": stmt.excluded.payload, "ledger_mark": stmt.excluded.ledger_mark,
        "computed_at": stmt.excluded.computed_at})
    sqlite = engine.dialect.name == "sqlite"
    try:
        # A deferred transaction that waits at most a moment for SQLite's write lock: a cache
        # write must never queue behind the writers (or behind the request's own transaction);
        # on PostgreSQL a lock timeout does the same.
        with db.unit_of_work(engine, write=not sqlite) as writer:
            writer.execute(text("PRAGMA busy_timeout=50" if sqlite else "SET LOCAL lock_timeout = '100ms'"))
            try:
                writer.execute(stmt)
            finally:
                if sqlite:
                    writer.execute(text(f"PRAGMA busy_timeout={int(setting_busy_timeout())}"))
    except (OperationalError, IntegrityError):  # busy or raced: the next reader stores it
        pass


def setting_busy_timeout() -> int:
    if has_app_context():
        return int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 30_000))
    return 30_000


def clear_cache(session: Session) -> None:
    """Forget every cached board (e.g. after moving people between teams)."""
    session.execute(LeaderboardCache.__table__.delete())


def _names(session: Session, user_ids) -> dict[int, tuple[str, bool]]:
    if not user_ids:
        return {}
    return {uid: (name, anonymous) for uid, name, anonymous in session.exec(
        select(User.id, User.display_name, User.leaderboard_anonymous).where(User.id.in_(list(user_ids))))}


def anonymous_name() -> str:
    return str(_l("Anonymous volunteer"))


def _public(rows: list[dict], names: dict, viewer_id: int | None) -> list[dict]:
    """Entries as everyone sees them: an anonymous person has no name and no id (they see
    themselves marked as "you")."""
    out = []
    for row in rows:
        name, anonymous = names.get(row["user_id"], ("", False))
        out.append({"rank": row["rank"], "user_id": None if anonymous else row["user_id"],
                    "display_name": anonymous_name() if anonymous else name, "points": row["points"],
                    "anonymous": anonymous, "is_me": row["user_id"] == viewer_id})
    return out


def standing(session: Session, user: User, period: str, team_id: int | None = None,
             now: datetime | None = None) -> dict:
    """The person's own points and rank (1 + how many earned more), read fresh; rank None when
    they have no points in the period."""
    start = period_start(period, now)
    if start is None:
        points = session.exec(select(User.lifetime_points).where(User.id == user.id)).one()
    else:
        points = session.exec(select(PointsTotal.points).where(
            PointsTotal.period == period, PointsTotal.period_start == start,
            PointsTotal.user_id == user.id)).first() or 0
    if points <= 0:
        return {"rank": None, "points": 0}
    if team_id is not None and team_id not in access.team_ids_of(session, user.id):
        return {"rank": None, "points": points}  # not on this team's board
    # Everyone ahead (one index range), less the few disabled accounts among them, found from
    # the partial index ix_users_unlisted: cheaper than reading the status of everyone ahead.
    members = select(TeamMembership.user_id).where(TeamMembership.team_id == team_id)
    people = User.id.in_(members) if team_id is not None else User.station_id == user.station_id
    unlisted = (User.status != "active", people)
    if start is None:
        ahead = select(func.count(User.id)).where(people, User.lifetime_points > points)
        # (``+ 0``: SQLite would otherwise walk the (station, lifetime) index over everyone ahead)
        hidden = select(func.count(User.id)).where(*unlisted, User.lifetime_points + 0 > points)
    else:
        totals_of = (PointsTotal.user_id.in_(members) if team_id is not None
                     else PointsTotal.station_id == user.station_id)
        ahead = select(func.count()).select_from(PointsTotal).where(
            totals_of, PointsTotal.period == period, PointsTotal.period_start == start, PointsTotal.points > points)
        their_points = (select(PointsTotal.points).where(PointsTotal.period == period,
                                                         PointsTotal.period_start == start,
                                                         PointsTotal.user_id == User.id).scalar_subquery())
        hidden = select(func.count(User.id)).where(*unlisted, their_points > points)
    return {"rank": session.exec(ahead).one() - session.exec(hidden).one() + 1, "points": points}


def leaderboard(session: Session, viewer: User, period: str = "month", team_id: int | None = None, *,
                limit: int = 50, now: datetime | None = None) -> dict:
    """The station's (or one team's) board for ``period``: ``{period, period_start, team_id,
    entries: [{rank, user_id, display_name, points, ...}], me: {rank, points}}``."""
    now = now or utcnow()
    start = period_start(period, now)
    if team_id is not None:
        _team_in_station(session, viewer.station_id, team_id)
    limit = max(1, min(int(limit), 500))
    # No cache here: read from the totals table the top N is one short index range (well under
    # a millisecond to a few ms at 100,000 people, see tests/bench/bench_leaderboard.py), cheaper
    # than checking a cached copy is still valid.
    rows = _compute_board(session, viewer.station_id, period, start, team_id, limit)
    entries = _public(rows, _names(session, {row["user_id"] for row in rows}), viewer.id)
    me = standing(session, viewer, period, team_id, now)
    return {"period": period, "period_start": start.isoformat() if start else None, "team_id": team_id,
            "entries": entries, "me": me}


def team_ranking(session: Session, viewer: User, period: str = "month", *, now: datetime | None = None) -> list[dict]:
    """The station's teams ranked by points per member in the period (ties share a rank)."""
    now = now or utcnow()
    start = period_start(period, now)
    station_id = viewer.station_id

    def compute() -> list[dict]:
        teams = {team.id: team.name for team in session.exec(select(Team).where(Team.station_id == station_id))}
        if not teams:
            return []
        counts = {team_id: count for team_id, count in session.exec(
            select(TeamMembership.team_id, func.count(TeamMembership.user_id))
            .join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.team_id.in_(list(teams)), User.status == "active")
            .group_by(TeamMembership.team_id))}
        # From the period's totals (one index range) to the people's teams, not the other way round.
        if start is None:
            sums = session.exec(
                select(TeamMembership.team_id, func.sum(User.lifetime_points))
                .join(TeamMembership, TeamMembership.user_id == User.id)
                .where(User.station_id == station_id, User.lifetime_points > 0, User.status == "active")
                .group_by(TeamMembership.team_id))
        else:
            sums = session.exec(
                select(TeamMembership.team_id, func.sum(PointsTotal.points))
                .join(TeamMembership, TeamMembership.user_id == PointsTotal.user_id)
                .join(User, User.id == PointsTotal.user_id)
                .where(PointsTotal.station_id == station_id, PointsTotal.period == period,
                       PointsTotal.period_start == start, PointsTotal.points > 0, User.status == "active")
                .group_by(TeamMembership.team_id))
        points = {team_id: int(total or 0) for team_id, total in sums if team_id in teams}
        rows = []
        for team_id, name in teams.items():
            members = counts.get(team_id, 0)
            total = points.get(team_id, 0)
            # per member in hundredths, whole numbers only (ranks compare exactly)
            rows.append({"team_id": team_id, "name": name, "members": members, "points": total,
                         "per_member_x100": (total * 100 // members) if members else 0})
        rows.sort(key=lambda row: (-row["per_member_x100"], row["name"]))
        return _ranked(rows, "per_member_x100")

    key = f"teams:{station_id}:{period}:{start or '-'}"
    rows = _cached(session, key, compute, now)
    for row in rows:
        row["per_member"] = row["per_member_x100"] / 100
    return rows


def my_team_ids(session: Session, user: User) -> list[int]:
    return access.team_ids_of(session, user.id)


def station_teams(session: Session, user: User) -> list[Team]:
    return list(session.exec(select(Team).where(Team.station_id == user.station_id).order_by(Team.name)))




def seed_demo(session: Session, admin: User, volunteers: list[User], now: datetime | None = None) -> None:
    """Demo awards (deterministic) and one volunteer who prefers to stay anonymous on the boards."""
    notes = ["十一月累计巡逻 46 小时，夜巡 8 次。", "在茶室调解邻里纠纷 12 起，无一反复。",
             "进市场开展反诈宣传 6 场，劝阻转账 2 起。"]
    keys = ["builtin:monthly_star", "builtin:gold_mediator", "builtin:anti_fraud"]
    for person, key, note in zip(volunteers[:3], keys, notes):
        grant_award(session, admin, user_id=person.id, template_key=key, note=note, now=now)
    if len(volunteers) > 4:
        volunteers[4].leaderboard_anonymous = True
        session.add(volunteers[4])
        session.flush()
