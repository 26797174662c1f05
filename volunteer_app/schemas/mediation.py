"""The mediation room (调解): cases, follow-ups, the mediator pool."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import ApiInput, ApiOutput, ClientRef, Id, StationTime, Timestamp

DisputeKind = Literal["neighbour", "family", "property", "labour", "consumer", "traffic", "other"]
Outcome = Literal["settled", "referred", "not_settled"]
Satisfaction = Literal["satisfied", "fairly_satisfied", "unsatisfied"]
Party = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class CaseOut(ApiOutput):
    id: int
    started_at: StationTime
    ended_at: StationTime
    place: str
    parties: list[str]
    dispute_kind: DisputeKind
    outcome: Outcome
    agreement_note: str
    tip_id: int | None
    mediator_ids: list[int]
    followup_at: StationTime | None
    satisfaction: Satisfaction | None
    followup_note: str
    created_at: StationTime


class CaseList(ApiOutput):
    cases: list[CaseOut]


class CaseCreate(ApiInput):
    started_at: Timestamp
    ended_at: Timestamp
    place: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    #: Initials or pseudonyms (never ID or phone numbers).
    parties: Annotated[list[Party], Field(min_length=1, max_length=6)]
    dispute_kind: DisputeKind
    #: Default: the caller.
    mediator_ids: Annotated[list[Id], Field(min_length=1, max_length=10)] | None = None
    outcome: Outcome
    agreement_note: Note = ""
    #: The dispute tip the case came from (coordinators, admins).
    tip_id: Id | None = None
    client_ref: ClientRef | None = None


class FollowUpBody(ApiInput):
    satisfaction: Satisfaction
    note: Note = ""
    #: When the follow-up visit was (default: now).
    at: Timestamp | None = None


class CaseQuery(ApiInput):
    since: Timestamp | None = None
    until: Timestamp | None = None
    outcome: Outcome | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class PoolQuery(ApiInput):
    since: Timestamp | None = None
    until: Timestamp | None = None


class PoolEntryOut(ApiOutput):
    user_id: int
    display_name: str
    cases: int
    settled: int
    hours: float


class PoolOut(ApiOutput):
    mediators: list[PoolEntryOut]
