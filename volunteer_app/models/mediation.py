"""The mediation room (调解): the case log, the mediators of each case and the follow-up visit
(回访). Parties are named by initials or pseudonyms only."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field

DISPUTE_KINDS = ("neighbour", "family", "property", "labour", "consumer", "traffic", "other")
MEDIATION_OUTCOMES = ("settled", "referred", "not_settled")
SATISFACTION = ("satisfied", "fairly_satisfied", "unsatisfied")


class MediationCase(SQLModel, table=True):
    __tablename__ = "mediation_cases"
    __table_args__ = (Index("ix_mediation_cases_station_started", "station_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    started_at: datetime = utc_field()
    ended_at: datetime = utc_field()
    place: str = Field(max_length=200)
    #: Initials or pseudonyms, separated by "、" (never names in full or ID numbers).
    parties: str = Field(max_length=300)
    dispute_kind: str = Field(max_length=16)  # DISPUTE_KINDS
    outcome: str = Field(max_length=16)  # MEDIATION_OUTCOMES
    agreement_note: str = Field(default="", max_length=1000)
    #: The dispute tip the case came from (one case per tip).
    tip_id: int | None = Field(default=None, foreign_key="tips.id", unique=True)
    followup_at: datetime | None = utc_field(nullable=True)
    satisfaction: str | None = Field(default=None, max_length=20)  # SATISFACTION
    followup_note: str = Field(default="", max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)


class CaseMediator(SQLModel, table=True):
    __tablename__ = "mediation_mediators"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_mediation_mediators_case_user"),
                      Index("ix_mediation_mediators_user", "user_id"))
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    case_id: int = Field(foreign_key="mediation_cases.id")
    user_id: int = Field(foreign_key="users.id")
