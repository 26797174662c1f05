"""Badges earned by deeds (awards, levels and leaderboard totals join them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field


class UserBadge(SQLModel, table=True):
    __tablename__ = "user_badges"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_user_badges_user_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    key: str = Field(max_length=32)
    earned_at: datetime = utc_field(default_now=True)
