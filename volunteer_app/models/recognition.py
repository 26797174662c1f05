"""Recognition: badges earned by deeds, awards from templates, leaderboard totals and their cache."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from .accounts import User
from .base import utc_field

#: Calendar periods (station time) that have a totals row; "all" is ``users.lifetime_points``.
TOTAL_PERIODS = ("day", "week", "month", "year")


class UserBadge(SQLModel, table=True):
    __tablename__ = "user_badges"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_user_badges_user_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    key: str = Field(max_length=32)
    earned_at: datetime = utc_field(default_now=True)


class PointsTotal(SQLModel, table=True):
    """Points a person earned in one calendar period (the entries that count toward lifetime
    points), kept up to date by ``ledger.post`` in the entry's own transaction.

    ``period_start`` is the station-local first day of the period (the Monday of a week).
    The primary key serves "this person's total"; the ranking index serves "the top N of a
    station in a period" and "how many earned more than me" (an index range scan)."""

    __tablename__ = "points_totals"
    __table_args__ = (
        PrimaryKeyConstraint("period", "period_start", "user_id", name="pk_points_totals"),
        Index("ix_points_totals_rank", "station_id", "period", "period_start", "points", "user_id"),
        Index("ix_points_totals_user", "user_id"),
    )
    period: str = Field(max_length=8)
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    user_id: int = Field(foreign_key="users.id")
    station_id: int = Field(foreign_key="stations.id")
    points: int = Field(default=0)


#: The all-time board ranks ``users.lifetime_points`` within a station.
Index("ix_users_station_lifetime", User.station_id, User.lifetime_points)
#: The boards leave disabled accounts out: the few of a station are found from this partial
#: index (its own size in the planner's statistics, where a status index would look useless).
Index("ix_users_unlisted", User.station_id, sqlite_where=User.status != "active",
      postgresql_where=User.status != "active")


class AwardTemplate(SQLModel, table=True):
    """A kind of award a station gives (月度之星, 金牌调解员, ... and its own)."""

    __tablename__ = "award_templates"
    __table_args__ = (UniqueConstraint("station_id", "title", name="uq_award_templates_station_title"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id", index=True)
    title: str = Field(max_length=100)
    description: str = Field(default="", max_length=500)
    default_points: int = Field(default=0)
    builtin: bool = Field(default=False)
    active: bool = Field(default=True)
    created_at: datetime = utc_field(default_now=True)


class Award(SQLModel, table=True):
    """An award granted to a volunteer; its points are one ``award`` ledger entry (ref "award:<id>")."""

    __tablename__ = "awards"
    __table_args__ = (Index("ix_awards_station_granted", "station_id", "granted_at"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    user_id: int = Field(foreign_key="users.id", index=True)
    template_id: int | None = Field(default=None, foreign_key="award_templates.id")
    title: str = Field(max_length=100)
    points: int = Field(default=0)
    note: str = Field(default="", max_length=1000)
    granted_by_id: int | None = Field(default=None, foreign_key="users.id")
    granted_at: datetime = utc_field(default_now=True)


class LeaderboardCache(SQLModel, table=True):
    """A computed board, shared by every worker: valid while the ledger has not moved since
    (``ledger_mark`` = the newest entry id then) or for a few seconds at most."""

    __tablename__ = "leaderboard_cache"
    key: str = Field(primary_key=True, max_length=96)
    payload: str  # JSON
    ledger_mark: int = Field(default=0)
    computed_at: datetime = utc_field(default_now=True)
