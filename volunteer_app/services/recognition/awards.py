"""Awards: templates, granting (points, notices, audit) and certificates."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session
from sqlmodel import Session, func, select

from ...errors import FieldError
from ...models import Award, AwardTemplate, Station, Team, TeamMembership, User
from ...parsing import BadValue, parse_id
from ...timeutil import utcnow
from .. import access, audit, ledger, notices
from . import badges


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
    access.refuse_self_dealing(actor, target)
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
    badges.after_award(session, target.id, now)
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



#: How many people the award form's picker lists at most.
PICKER_LIMIT = 20


def _awardable(session: Session, actor: User):
    """The people the actor may award: active, of the actor's station, in a team the actor
    coordinates (admins: anyone of the station), never the actor."""
    access.require_role(actor, "coordinator")
    stmt = select(User).where(User.station_id == actor.station_id, User.status == "active", User.id != actor.id)
    if not actor.is_admin:
        teams = access.coordinated_team_ids(session, actor) or {-1}
        stmt = stmt.where(User.id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(teams))))
    return stmt


def _member_number(query: str) -> int | None:
    """The user id in a typed member number: ``12``, or a member card's ``12-345678``."""
    head, _sep, tail = query.partition("-")
    if tail and not (tail.isascii() and tail.isdigit()):
        return None
    try:
        return parse_id(head)
    except BadValue:
        return None


def _with_teams(session: Session, people: list[User]) -> list[dict]:
    names: dict[int, list[str]] = {}
    if people:
        rows = session.exec(select(TeamMembership.user_id, Team.name).join(Team, Team.id == TeamMembership.team_id)
                            .where(TeamMembership.user_id.in_([p.id for p in people])).order_by(Team.name))
        for user_id, name in rows:
            names.setdefault(user_id, []).append(name)
    return [{"id": p.id, "display_name": p.display_name, "username": p.username, "teams": names.get(p.id, [])}
            for p in people]


def search_candidates(session: Session, actor: User, query: str, *,
                      limit: int = PICKER_LIMIT) -> tuple[list[dict], bool]:
    """The award form's picker: people the actor may award whose name or username contains
    ``query`` or whose member number (user id) it is, the member number's match first. Each is
    ``{"id", "display_name", "username", "teams"}`` (team names, so two people of one name are
    told apart). Returns at most ``limit`` of them and whether there were more; nothing for an
    empty query."""
    query = " ".join((query or "").split())[:64]
    if not query:
        access.require_role(actor, "coordinator")
        return [], False
    needle = query.lower()
    matches = (func.lower(User.display_name).contains(needle, autoescape=True)
               | func.lower(User.username).contains(needle, autoescape=True))
    number = _member_number(query)
    first = [User.display_name, User.id]
    if number is not None:
        matches = matches | (User.id == number)
        first.insert(0, case((User.id == number, 0), else_=1))
    people = list(session.exec(_awardable(session, actor).where(matches).order_by(*first).limit(limit + 1)))
    return _with_teams(session, people[:limit]), len(people) > limit


def candidate(session: Session, actor: User, user_id: int | None) -> dict | None:
    """One person the actor may award (as in :func:`search_candidates`), or ``None``."""
    if user_id is None:
        return None
    person = session.exec(_awardable(session, actor).where(User.id == user_id)).first()
    return _with_teams(session, [person])[0] if person is not None else None
