"""Each person's record for a period."""
from __future__ import annotations

from datetime import date

from .common import ApiInput, ApiOutput, Day


class RecordQuery(ApiInput):
    #: Station-local days, inclusive (default: this month up to today).
    first: Day | None = None
    last: Day | None = None


class PersonRecordOut(ApiOutput):
    user_id: int
    display_name: str
    first: date
    last: date
    hours_served: float
    #: Hours per kind of service (``patrol``, ``care_visit``, ``mediation`` ...).
    hours_by_kind: dict[str, float]
    checkins: int
    tips_reported: int
    tips_verified: int
    hazards_reported: int
    disputes_mediated: int
    disputes_settled: int
    households_visited: int
    publicity_reached: int
