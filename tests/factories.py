"""Plain factory functions for tests: each makes one row with sensible defaults."""
from __future__ import annotations

import itertools
import json as jsonlib
from datetime import datetime, timedelta

from sqlmodel import Session, select

from volunteer_app import db
from volunteer_app.models import Checkpoint, Event, Station, Team, TeamMembership, User
from volunteer_app.services import accounts
from volunteer_app.timeutil import UTC

PASSWORD = "correct horse 1"
_counter = itertools.count(1)
#: A fixed instant on a 30-second step boundary (16:00 station time), for clock-injected tests.
T0 = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)
HANGZHOU = (30.2590, 120.1485)  # 西湖 lakeside


def station(session: Session, name: str = "西湖派出所") -> Station:
    existing = session.exec(select(Station).order_by(Station.id)).first()
    if existing is not None:
        return existing
    row = Station(name=name)
    session.add(row)
    session.flush()
    return row


def user(session: Session, *, roles: str | list[str] = "volunteer", status: str = "active",
         username: str | None = None, display_name: str | None = None, team: Team | None = None,
         team_role: str = "member", balance: int = 0, password: str = PASSWORD, station_row: Station | None = None,
         **fields) -> User:
    """A user; ``balance`` > 0 is given through a ledger adjustment so the books stay right."""
    number = next(_counter)
    st = station_row or station(session)
    role_list = roles.split() if isinstance(roles, str) else roles
    row = User(station_id=st.id, username=username or f"user{number}", display_name=display_name or f"志愿者{number}",
               roles=" ".join(role_list), status=status, password_hash=accounts.hash_password(password),
               large_mode_offered=True, **fields)
    session.add(row)
    session.flush()
    if team is not None:
        membership(session, team, row, team_role)
    if balance:
        from volunteer_app.services import ledger
        ledger.post(session, row.id, balance, "adjustment", f"test-seed:{row.id}:{number}", reason="test seed")
        session.refresh(row)
    return row


def coordinator(session: Session, team: Team, **kwargs) -> User:
    return user(session, roles=["coordinator", "volunteer"], team=team, team_role="coordinator", **kwargs)


def admin(session: Session, **kwargs) -> User:
    return user(session, roles=["admin"], **kwargs)


def team(session: Session, name: str | None = None, station_row: Station | None = None) -> Team:
    st = station_row or station(session)
    row = Team(station_id=st.id, name=name or f"巡逻队{next(_counter)}")
    session.add(row)
    session.flush()
    return row


def membership(session: Session, team_row: Team, user_row: User, role: str = "member") -> TeamMembership:
    row = TeamMembership(team_id=team_row.id, user_id=user_row.id, role=role)
    session.add(row)
    session.flush()
    return row


def token_for(app, user_row: User) -> str:
    """A bearer token for ``user_row`` (issued directly, without the rate-limited login)."""
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        fresh = session.get(User, user_row.id)
        raw, _token = accounts.issue_token(session, fresh, kind="api")
    return raw


class ApiClient:
    """Thin JSON client over Flask's test client; ``user=`` authenticates with a bearer token."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._tokens: dict[int, str] = {}

    def headers(self, user_row: User | None, extra: dict | None = None) -> dict:
        headers = dict(extra or {})
        if user_row is not None:
            if user_row.id not in self._tokens:
                self._tokens[user_row.id] = token_for(self.app, user_row)
            headers["Authorization"] = f"Bearer {self._tokens[user_row.id]}"
        return headers

    def request(self, method: str, path: str, *, user: User | None = None, json=None, data=None,
                headers: dict | None = None, **kwargs):
        if json is not None:
            data = jsonlib.dumps(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self.client.open(path, method=method, data=data, headers=self.headers(user, headers), **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def tip(session: Session, reporter: User, *, category: str = "dispute", description: str = "两户人家为停车吵架",
        **fields):
    """A submitted tip of ``reporter`` (through the service, as the app files it)."""
    from volunteer_app.services import tips
    row, _created = tips.submit(session, reporter, category=category, description=description, **fields)
    return row


def checkpoint(session: Session, *, team=None, name: str | None = None, points: int = 5, cooldown_minutes: int = 30,
               latitude: float | None = None, longitude: float | None = None, radius_m: int = 150,
               require_location: bool = False, active: bool = True, station_row: Station | None = None,
               **extra) -> Checkpoint:
    st = station_row or station(session)
    row = Checkpoint(station_id=st.id, team_id=team.id if team else None, name=name or f"巡逻点{next(_counter)}",
                     points=points, cooldown_minutes=cooldown_minutes, latitude=latitude, longitude=longitude,
                     radius_m=radius_m, require_location=require_location, active=active, **extra)
    session.add(row)
    session.flush()
    return row


def patrol_checkpoint(session: Session, *, name: str | None = None, team_row: Team | None = None,
                      points: int = 5, station_row: Station | None = None) -> Checkpoint:
    """A checkpoint for routes: no cooldown between scans."""
    return checkpoint(session, team=team_row, name=name, points=points, cooldown_minutes=0, station_row=station_row)


def event(session: Session, *, team=None, title: str | None = None, starts_at: datetime = T0,
          hours: float = 2, points: int = 10, **extra) -> Event:
    st = station(session)
    row = Event(station_id=st.id, team_id=team.id if team else None, title=title or f"反诈茶话会{next(_counter)}",
                starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), points=points, location="社区活动室",
                **extra)
    session.add(row)
    session.flush()
    return row


def shift(session: Session, team_row: Team, *, starts_at, ends_at, capacity: int = 3, route=(),
          points_per_hour: int = 10, title: str | None = None):
    """A shift with its route (checkpoints in order), made directly (no rules checked)."""
    from volunteer_app.models import Shift, ShiftCheckpoint
    row = Shift(station_id=team_row.station_id, team_id=team_row.id, title=title or f"夜巡{next(_counter)}",
                starts_at=starts_at, ends_at=ends_at, capacity=capacity, points_per_hour=points_per_hour)
    session.add(row)
    session.flush()
    for position, cp in enumerate(route):
        session.add(ShiftCheckpoint(shift_id=row.id, checkpoint_id=getattr(cp, "id", cp), position=position))
    session.flush()
    return row


def store_item(session: Session, *, name: str | None = None, cost: int = 10, stock: int = 10,
               monthly_limit_per_user: int | None = None, active: bool = True, station_row: Station | None = None):
    """A store item with its opening stock recorded as a movement (so `check` agrees)."""
    from volunteer_app.models import StockMovement, StoreItem
    st = station_row or station(session)
    row = StoreItem(station_id=st.id, name=name or f"商品{next(_counter)}", cost=cost, stock=stock,
                    monthly_limit_per_user=monthly_limit_per_user, active=active)
    session.add(row)
    session.flush()
    if stock:
        session.add(StockMovement(item_id=row.id, delta=stock, reason="initial", stock_after=stock))
        session.flush()
    return row


def service_record(session: Session, user_row: User, started_at, minutes: int, *, kind: str = "patrol",
                   source: str = "route", status: str = "confirmed", shift_row=None, place: str = "巡逻"):
    """A service record as the services leave it (a confirmed one counts in ``minutes_served``
    and in the day totals)."""
    from datetime import timedelta

    from volunteer_app.models import ServiceRecord
    from volunteer_app.services import hours

    record = ServiceRecord(station_id=user_row.station_id, user_id=user_row.id, kind=kind, place=place,
                           shift_id=shift_row.id if shift_row is not None else None, started_at=started_at,
                           ended_at=started_at + timedelta(minutes=minutes), minutes=minutes, weighted_minutes=minutes,
                           source=source, status=status)
    session.add(record)
    if status == "confirmed":
        user_row.minutes_served += minutes
        session.add(user_row)
    session.flush()
    if status == "confirmed":
        hours.count(session, record)
    return record
