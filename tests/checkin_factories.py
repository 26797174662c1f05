"""Factories for checkpoints and events (plain functions, one row each)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlmodel import Session

from volunteer_app.models import Checkpoint, Event
from volunteer_app.timeutil import UTC

from . import factories

_counter = itertools.count(1)
#: A fixed instant on a 30-second step boundary (16:00 station time), for clock-injected tests.
T0 = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)
HANGZHOU = (30.2590, 120.1485)  # 西湖 lakeside


def checkpoint(session: Session, *, team=None, name: str | None = None, points: int = 5, cooldown_minutes: int = 30,
               latitude: float | None = None, longitude: float | None = None, radius_m: int = 150,
               require_location: bool = False, active: bool = True, **extra) -> Checkpoint:
    st = factories.station(session)
    row = Checkpoint(station_id=st.id, team_id=team.id if team else None, name=name or f"巡逻点{next(_counter)}",
                     points=points, cooldown_minutes=cooldown_minutes, latitude=latitude, longitude=longitude,
                     radius_m=radius_m, require_location=require_location, active=active, **extra)
    session.add(row)
    session.flush()
    return row


def event(session: Session, *, team=None, title: str | None = None, starts_at: datetime = T0,
          hours: float = 2, points: int = 10, **extra) -> Event:
    st = factories.station(session)
    row = Event(station_id=st.id, team_id=team.id if team else None, title=title or f"反诈茶话会{next(_counter)}",
                starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), points=points, location="社区活动室",
                **extra)
    session.add(row)
    session.flush()
    return row
