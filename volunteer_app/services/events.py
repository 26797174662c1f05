"""Events (an anti-fraud tea session, a drill, a publicity day) and their live check-in code.

The live code is a 30-second time-step code (``E<id>-<6 digits>``, services/codes.py) shown as a
QR on a phone, tablet or projector; the current and the previous code are accepted. Check-in is
open from ``starts_at - 30 min`` to ``ends_at``, once per volunteer.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..errors import FieldError
from ..models import Checkin, Event, Team, User
from .. import timeutil
from ..timeutil import as_utc
from . import access, audit, codes, service

#: How early before the start volunteers may check in.
OPEN_BEFORE = timedelta(minutes=30)


def window(event: Event) -> tuple[datetime, datetime]:
    return event.starts_at - OPEN_BEFORE, event.ends_at


def is_open(event: Event, now: datetime) -> bool:
    opens, closes = window(event)
    return opens <= now <= closes


def can_manage(session: Session, actor: User, event: Event) -> bool:
    if actor.station_id != event.station_id or not actor.has_role("coordinator"):
        return False
    if actor.is_admin or event.team_id is None:
        return True
    return event.team_id in access.coordinated_team_ids(session, actor)


def create(session: Session, actor: User, *, title: str, starts_at: datetime, ends_at: datetime,
           location: str | None = None, points: int = 10, team_id: int | None = None, kind: str | None = None,
           credit: str = "scans") -> Event:
    """A new event. Its records are of service ``kind`` (default publicity); ``credit`` "scans"
    counts from each sign-in to the sign-out code, "full" the whole event for all who signed in."""
    access.require_role(actor, "coordinator")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise FieldError("title", _l("Please enter a title (at most 200 characters)."))
    if starts_at is None or starts_at.tzinfo is None or ends_at is None or ends_at.tzinfo is None:
        raise FieldError("starts_at", _l("Please give the start and end time."))
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    if ends_at <= starts_at:
        raise FieldError("ends_at", _l("The end must come after the start."))
    if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 10_000:
        raise FieldError("points", _l("Enter a whole number from %(low)s to %(high)s.", low=0, high=10_000))
    location = (location or "").strip()
    if len(location) > 200:
        raise FieldError("location", _l("This text is too long."))
    if credit not in ("scans", "full"):
        raise FieldError("credit", _l("Choose how the event's hours are counted."))
    service_kind = service.kind_of(session, actor.station_id, kind or "publicity").key
    if team_id is not None:
        team = access.get_in_station(session, Team, team_id, actor, _l("No such team."))
        access.require_team_manager(session, actor, team)
    event = Event(station_id=actor.station_id, team_id=team_id, title=title, location=location,
                  starts_at=starts_at, ends_at=ends_at, points=points, created_by_id=actor.id,
                  service_kind=service_kind, credit=credit)
    session.add(event)
    session.flush()
    audit.record(session, actor, "event.create", "event", event.id, title=title)
    return event


def get(session: Session, actor: User, event_id: int) -> Event:
    return access.get_in_station(session, Event, event_id, actor, _l("No such event."))


def get_managed(session: Session, actor: User, event_id: int) -> Event:
    event = get(session, actor, event_id)
    if not can_manage(session, actor, event):
        access.forbid(_l("Only this team's coordinators may run this event."))
    return event


def list_for(session: Session, actor: User, *, limit: int = 50) -> list[Event]:
    """The station's events, latest start first."""
    return list(session.exec(select(Event).where(Event.station_id == actor.station_id)
                             .order_by(Event.starts_at.desc(), Event.id.desc()).limit(limit)))


#: The live screen shows the sign-out code in the event's last half hour (or once the coordinator switches).
SIGNOUT_BEFORE_END = timedelta(minutes=30)


def live_code(session: Session, actor: User, event_id: int, now: datetime | None = None, *,
              purpose: str = "in") -> tuple[Event, str, datetime]:
    """(event, the current code, when it stops being current) for the live-code screen:
    ``purpose`` "in" signs in, "out" signs out, "auto" whichever the screen shows now
    (:func:`shows_signout`)."""
    event = get_managed(session, actor, event_id)
    now = now or timeutil.utcnow()
    if purpose == "auto":
        purpose = "out" if shows_signout(event, now) else "in"
    code, expires_at = codes.event_code(event.id, now, purpose="event_out" if purpose == "out" else "event")
    return event, code, expires_at


def shows_signout(event: Event, now: datetime | None = None) -> bool:
    """Whether the live screen shows the sign-out code now (events that credit scans)."""
    now = now or timeutil.utcnow()
    return event.credit == "scans" and (event.signout_open or now >= event.ends_at - SIGNOUT_BEFORE_END)


def switch_signout(session: Session, actor: User, event_id: int, on: bool) -> Event:
    """The coordinator switches the live screen to the sign-out code (or back)."""
    event = get_managed(session, actor, event_id)
    event.signout_open = bool(on)
    session.add(event)
    session.flush()
    audit.record(session, actor, "event.signout", "event", event.id, on=bool(on))
    return event


def checkin_count(session: Session, event: Event) -> int:
    """How many have checked in at the event so far."""
    return session.exec(select(func.count()).select_from(Checkin).where(Checkin.event_id == event.id,
                                                                      Checkin.direction == "in")).one()
