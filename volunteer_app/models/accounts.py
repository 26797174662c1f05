"""Stations, people, teams, tokens, login attempts, audit trail and idempotency keys."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, Text, UniqueConstraint, event, false
from sqlmodel import Field, SQLModel

from .. import usernames
from .base import GRID_LENGTH, utc_field

ROLES = ("volunteer", "clerk", "coordinator", "admin", "county_admin", "police_assistant")
USER_STATUSES = ("pending", "active", "disabled")
MEMBER_ROLES = ("member", "coordinator")


class Station(SQLModel, table=True):
    """The unit that owns teams, checkpoints and a store (a police station's programme)."""

    __tablename__ = "stations"
    __table_args__ = (Index("uq_stations_name", "name", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    short_name: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    #: An IANA zone name; None: the ``STATION_TZ`` setting.
    timezone: str | None = Field(default=None, max_length=64)
    #: Signed into every join code; bumped to void them all (services/stations.py).
    join_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    #: The settings the station sets itself, as JSON text (services/station_settings.py): read
    #: with the row every request reads anyway, so they cost no query of their own.
    settings_json: str = Field(default="{}", sa_type=Text, sa_column_kwargs={"server_default": "{}"})
    created_at: datetime = utc_field(default_now=True)


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    username: str = Field(max_length=64, unique=True)
    #: What the username looks like (``usernames.skeleton``), kept by the ORM on every write:
    #: a new username with the skeleton of another is a look-alike and refused.
    username_skeleton: str | None = Field(default=None, max_length=64, index=True)
    display_name: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    #: Space-separated subset of ROLES.
    roles: str = Field(default="volunteer", max_length=64)
    status: str = Field(default="pending", max_length=16, index=True)
    password_hash: str = Field(max_length=255)
    #: Bumped to end every session and token of the user at once.
    session_version: int = Field(default=1)
    balance: int = Field(default=0)
    lifetime_points: int = Field(default=0)
    #: The sum of the minutes of the user's confirmed service records (kept with them, checked by ``check``).
    minutes_served: int = Field(default=0)
    #: For the official volunteer systems' exports: the name on the ID document, the ID number
    #: (encrypted at rest, services/identity.py) with when the person consented, the volunteer number.
    real_name: str | None = Field(default=None, max_length=64)
    id_number_encrypted: str | None = Field(default=None, max_length=255)
    id_number_last4: str | None = Field(default=None, max_length=4)
    id_consent_at: datetime | None = utc_field(nullable=True)
    volunteer_number: str | None = Field(default=None, max_length=32)
    language: str = Field(default="zh_CN", max_length=8)
    large_mode: bool = Field(default=False)
    #: Whether the 长辈版 offer has been shown (once, on first login).
    large_mode_offered: bool = Field(default=False)
    leaderboard_anonymous: bool = Field(default=False)
    #: A police assistant's area (a village, grid or company): they see its tips and care households.
    area: str = Field(default="", max_length=GRID_LENGTH, sa_column_kwargs={"server_default": ""})
    created_at: datetime = utc_field(default_now=True)
    approved_at: datetime | None = utc_field(nullable=True)
    #: The station-local day of the person's latest check-in (the county's "active" count).
    last_active_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))

    def role_set(self) -> set[str]:
        return set(self.roles.split())

    def has_role(self, *roles: str) -> bool:
        """``admin`` (and ``county_admin``, an admin in every station) passes every check."""
        mine = self.role_set()
        return "admin" in mine or "county_admin" in mine or any(role in mine for role in roles)

    @property
    def is_admin(self) -> bool:
        """The admin of the station the user acts in (a county_admin is one in every station)."""
        return bool({"admin", "county_admin"} & self.role_set())

    @property
    def is_county_admin(self) -> bool:
        return "county_admin" in self.role_set()

    @property
    def hours_served(self) -> float:
        return round(self.minutes_served / 60, 2)

    # Flask-Login's user interface.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


#: Who was active lately in a station: the county's summary counts a range of this index.
Index("ix_users_station_active", User.station_id, User.last_active_on)


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _keep_username_skeleton(_mapper, _connection, user: User) -> None:
    user.username_skeleton = usernames.skeleton(user.username)


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("station_id", "name", name="uq_teams_station_name"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    created_at: datetime = utc_field(default_now=True)


class Unit(SQLModel, table=True):
    """A sub-unit (分队) of a team; its members are team members whose membership names it."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_units_team_name"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    team_id: int = Field(foreign_key="teams.id", index=True)
    name: str = Field(max_length=100)
    created_at: datetime = utc_field(default_now=True)


class TeamMembership(SQLModel, table=True):
    __tablename__ = "team_memberships"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_team_memberships_team_user"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="teams.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    role: str = Field(default="member", max_length=16)
    #: The sub-unit of the team the member belongs to (at most one), and whether they lead it.
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    unit_leader: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = utc_field(default_now=True)


class ApiToken(SQLModel, table=True):
    """A bearer token (kind "api") or a browser login session (kind "web"), stored hashed."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(default="api", max_length=8)
    token_hash: str = Field(max_length=64, unique=True)
    session_version: int
    created_at: datetime = utc_field(default_now=True)
    expires_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(nullable=True)


class LoginAttempt(SQLModel, table=True):
    """Failed logins, counted per username and per address for the rate limit."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_created", "username", "created_at"),
        Index("ix_login_attempts_ip_created", "ip", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = utc_field(default_now=True)


class Attempt(SQLModel, table=True):
    """Attempts counted for the rate limits other than login's: ``kind`` names the limit
    (``checkin_refused`` per user id, ``register`` per address), ``key`` whom it counts."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_kind_key_created", "kind", "key", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=64)
    created_at: datetime = utc_field(default_now=True)


class AuditEntry(SQLModel, table=True):
    """Who did what, when, on what: written in the same transaction as the action."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_station_created", "station_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int | None = Field(default=None, foreign_key="stations.id")
    actor_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(default="", max_length=32)
    target_id: int | None = Field(default=None)
    detail: str = Field(default="{}")  # JSON
    created_at: datetime = utc_field(default_now=True)


class IdempotencyKey(SQLModel, table=True):
    """The first successful answer to a write sent with a ``client_ref``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "endpoint", "client_ref", name="uq_idempotency_user_endpoint_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    endpoint: str = Field(max_length=128)
    client_ref: str = Field(max_length=64)
    status_code: int
    response: str  # JSON
    created_at: datetime = utc_field(default_now=True)
