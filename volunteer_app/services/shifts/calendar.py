"""The team's week calendar and each volunteer's iCalendar feed."""
from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ...parsing import BadValue, parse_id
from ...models import CalendarFeed, Checkpoint, Shift, ShiftSignup, User
from ...settings import setting
from ... import timeutil
from ...timeutil import as_utc, local, week_bounds
from .schedule import ACTIVE, counts_for, managed_team, route_ids


def _feed_secret(user_id: int, version: int) -> str:
    key = str(setting("SECRET_KEY") or "").encode()
    return hmac.new(key, f"ical:{user_id}:{version}".encode(), hashlib.sha256).hexdigest()[:40]


def feed_token(session: Session, user: User, *, create: bool = True) -> str | None:
    """The secret part of the user's calendar URL (``<user id>-<hmac>``); made on first use."""
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).first()
    if feed is None:
        if not create:
            return None
        feed = CalendarFeed(user_id=user.id)
        session.add(feed)
        session.flush()
    if not feed.active:
        if not create:
            return None
        feed.active = True
        session.add(feed)
        session.flush()
    return f"{user.id}-{_feed_secret(user.id, feed.version)}"


def revoke_feed(session: Session, user: User) -> str:
    """Void every calendar URL given out so far and make a new one."""
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).first()
    if feed is None:
        feed = CalendarFeed(user_id=user.id, version=1)
    feed.version += 1
    feed.active = True
    session.add(feed)
    session.flush()
    return f"{user.id}-{_feed_secret(user.id, feed.version)}"


def feed_user(session: Session, token: str) -> User | None:
    """The user a calendar URL token belongs to, or None (unknown, revoked, disabled)."""
    raw_id, _, secret = (token or "").partition("-")
    try:
        user_id = parse_id(raw_id)
    except BadValue:
        return None
    if not secret:
        return None
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.user_id == user_id)).first()
    if feed is None or not feed.active:
        return None
    if not hmac.compare_digest(secret, _feed_secret(feed.user_id, feed.version)):
        return None
    user = session.get(User, feed.user_id)
    return user if user is not None and user.status == "active" else None


def ical(session: Session, user: User, *, base_url: str = "", now: datetime | None = None) -> bytes:
    """The user's shifts (confirmed or waitlisted, from 30 days back) as an iCalendar file."""
    from icalendar import Calendar, Event as IcsEvent
    now = now or timeutil.utcnow()
    cal = Calendar()
    cal.add("prodid", "-//volunteer-app//shifts//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", str(_l("My patrol shifts")))
    rows = list(session.exec(
        select(Shift, ShiftSignup).join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .where(ShiftSignup.user_id == user.id, ShiftSignup.status.in_(ACTIVE), Shift.cancelled.is_(False),
               Shift.ends_at > now - timedelta(days=30))
        .order_by(Shift.starts_at)))
    names = {}
    for shift, row in rows:
        if shift.id not in names:
            ids = route_ids(session, shift.id)
            cps = {cp.id: cp.name for cp in session.exec(select(Checkpoint).where(Checkpoint.id.in_(ids or [-1])))}
            names[shift.id] = " → ".join(cps[i] for i in ids if i in cps)
        event = IcsEvent()
        event.add("uid", f"shift-{shift.id}-user-{user.id}@volunteer-app")
        event.add("dtstamp", now)
        event.add("dtstart", as_utc(shift.starts_at))
        event.add("dtend", as_utc(shift.ends_at))
        summary = shift.title if row.status == "confirmed" else str(_l("%(title)s (waitlist)", title=shift.title))
        event.add("summary", summary)
        if names[shift.id]:
            event.add("description", str(_l("Route: %(route)s", route=names[shift.id])))
        if base_url:
            event.add("url", f"{base_url.rstrip('/')}/shifts/{shift.id}")
        cal.add_component(event)
    return cal.to_ical()


def week(session: Session, actor: User, team_id: int, day: date) -> dict:
    """A team's shifts of the station-local week holding ``day``, by weekday, with fill levels."""
    team = managed_team(session, actor, team_id)
    monday, begin, end = week_bounds(day)
    shifts = list(session.exec(select(Shift).where(Shift.team_id == team.id, Shift.starts_at >= begin,
                                                   Shift.starts_at < end).order_by(Shift.starts_at, Shift.id)))
    counts = counts_for(session, [shift.id for shift in shifts])
    days = []
    for offset in range(7):
        the_day = monday + timedelta(days=offset)
        days.append({"date": the_day, "shifts": [
            {"shift": shift, "confirmed": counts[shift.id]["confirmed"], "waitlisted": counts[shift.id]["waitlisted"]}
            for shift in shifts if local(shift.starts_at).date() == the_day]})
    return {"team": team, "monday": monday, "days": days}

