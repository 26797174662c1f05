"""Anti-fraud publicity sessions (反诈宣传): an event of kind ``publicity`` gains its audience,
the materials handed out, a short summary and a photo; a series repeats every two weeks; the
dashboard counts the sessions and the people reached.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import FieldError
from ..models import Checkin, Event, PublicityReport, User
from .. import timeutil
from . import access, audit, events, images

#: A series' sessions come this many days apart (every half month, as the stations run them).
SERIES_EVERY_DAYS = 14
MAX_SERIES = 27  # about a year
MAX_COUNT = 1_000_000


def _count(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise FieldError(field, _l("Enter a whole number from %(low)s to %(high)s.", low=0, high=MAX_COUNT))
    return value


def _publicity_event(session: Session, actor: User, event_id: int, now: datetime) -> Event:
    event = events.get_managed(session, actor, event_id)
    if event.service_kind != "publicity":
        raise FieldError("event_id", _l("Only a publicity event takes a publicity report."))
    if event.starts_at > now:
        raise FieldError("event_id", _l("A session is reported once it has begun."))
    return event


def report_for(session: Session, event_id: int) -> PublicityReport | None:
    return session.exec(select(PublicityReport).where(PublicityReport.event_id == event_id)).first()


def reports_for(session: Session, event_ids: list[int]) -> dict[int, PublicityReport]:
    if not event_ids:
        return {}
    return {row.event_id: row for row in session.exec(select(PublicityReport)
                                                      .where(PublicityReport.event_id.in_(event_ids)))}


def save_report(session: Session, actor: User, event_id: int, *, audience: int, materials: int = 0,
                summary: str = "", now: datetime | None = None) -> PublicityReport:
    """The event's coordinator records (or corrects) what the session reached; audited."""
    now = now or timeutil.utcnow()
    event = _publicity_event(session, actor, event_id, now)
    summary = (summary or "").strip() if isinstance(summary, str) else None
    if summary is None or len(summary) > 500:
        raise FieldError("summary", _l("This text is too long."))
    row = report_for(session, event.id) or PublicityReport(station_id=event.station_id, event_id=event.id,
                                                           created_by_id=actor.id)
    row.audience, row.materials = _count(audience, "audience"), _count(materials, "materials")
    row.summary, row.updated_at = summary, now
    session.add(row)
    session.flush()
    audit.record(session, actor, "publicity.report", "event", event.id, audience=row.audience,
                 materials=row.materials)
    return row


def photo_dir(instance_path: str | Path) -> Path:
    return Path(instance_path) / "publicity_photos"


def add_photo(session: Session, actor: User, event_id: int, data: bytes, *, folder: str | Path,
              now: datetime | None = None) -> PublicityReport:
    """The session's photo (re-encoded without metadata); a report is made if there is none."""
    now = now or timeutil.utcnow()
    event = _publicity_event(session, actor, event_id, now)
    picture = images.reencode(data, max_side=1600, keep_png=False)
    row = report_for(session, event.id) or PublicityReport(station_id=event.station_id, event_id=event.id,
                                                           created_by_id=actor.id)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.jpg"
    (folder / name).write_bytes(picture.data)
    row.photo, row.updated_at = name, now
    session.add(row)
    session.flush()
    return row


def create_series(session: Session, actor: User, *, title: str, starts_at: datetime, ends_at: datetime,
                  until: datetime, location: str | None = None, team_id: int | None = None, points: int = 10,
                  credit: str = "scans") -> list[Event]:
    """Publicity events every two weeks from ``starts_at`` up to ``until`` (at most about a year)."""
    if until is None or until.tzinfo is None or until < starts_at:
        raise FieldError("until", _l("The series ends after its first session."))
    step = timedelta(days=SERIES_EVERY_DAYS)
    if (until - starts_at) // step >= MAX_SERIES:
        raise FieldError("until", _l("A series spans at most a year."))
    made, offset = [], timedelta(0)
    while starts_at + offset <= until:
        made.append(events.create(session, actor, title=title, starts_at=starts_at + offset,
                                  ends_at=ends_at + offset, location=location, points=points, team_id=team_id,
                                  kind="publicity", credit=credit))
        offset += step
    return made


@dataclass
class Reach:
    sessions: int
    people: int
    materials: int


def reach(session: Session, station_id: int, start: datetime, end: datetime) -> Reach:
    """Publicity events that began in ``[start, end)``, and the audience and materials reported."""
    sessions = select(func.count(Event.id)).where(
        Event.station_id == station_id, Event.service_kind == "publicity", Event.starts_at >= start,
        Event.starts_at < end).scalar_subquery()
    reports = (select(PublicityReport.audience, PublicityReport.materials)
               .join(Event, Event.id == PublicityReport.event_id)
               .where(PublicityReport.station_id == station_id, Event.starts_at >= start, Event.starts_at < end)
               .subquery())
    sessions, people, materials = session.execute(
        select(sessions, func.coalesce(func.sum(reports.c.audience), 0), func.coalesce(func.sum(reports.c.materials), 0))
        .select_from(reports)).one()
    return Reach(int(sessions or 0), int(people or 0), int(materials or 0))


def people_reached_by(session: Session, user_ids: list[int], start: datetime, end: datetime) -> dict[int, int]:
    """Per person: the audience of the publicity sessions they signed in to, begun in the period."""
    rows = session.exec(
        select(Checkin.user_id, func.sum(PublicityReport.audience))
        .join(PublicityReport, PublicityReport.event_id == Checkin.event_id)
        .join(Event, Event.id == Checkin.event_id)
        .where(Checkin.user_id.in_(user_ids), Checkin.direction == "in", Event.starts_at >= start,
               Event.starts_at < end)
        .group_by(Checkin.user_id)).all()
    return {user_id: int(total or 0) for user_id, total in rows}
