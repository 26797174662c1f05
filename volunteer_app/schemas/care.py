"""Care visits (关爱走访): households, their personal data, visits."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import ApiInput, ApiOutput, ClientRef, GridName, Id, StationTime, Timestamp

HouseholdKind = Literal["elderly_alone", "left_behind_child", "disability", "other"]
Condition = Literal["well", "fair", "poor"]
DueState = Literal["overdue", "due", "ok"]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Needs = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Every = Annotated[int, Field(ge=1, le=365)]
People = Annotated[list[Id], Field(max_length=10)]


class HouseholdOut(ApiOutput):
    """A household as lists show it: no personal data."""

    id: int
    kind: HouseholdKind
    label: str
    grid: str
    visit_every_days: int
    last_visited_at: StationTime | None
    due_on: date
    state: DueState
    volunteer_ids: list[int]
    active: bool


class HouseholdList(ApiOutput):
    households: list[HouseholdOut]


class VisitOut(ApiOutput):
    id: int
    household_id: int
    started_at: StationTime
    ended_at: StationTime
    condition: Condition
    concern: bool
    concern_closed_at: StationTime | None
    visitor_ids: list[int]
    has_photo: bool
    created_at: StationTime


class VisitDetailOut(VisitOut):
    """A visit with its notes (personal data: only on the household's own page)."""

    note: str
    concern_note: str


class VisitList(ApiOutput):
    visits: list[VisitOut]


class HouseholdDetailOut(HouseholdOut):
    """A household with its personal data (the opening is audited) and its latest visits."""

    name: str
    address: str
    contact: str
    needs: str
    visits: list[VisitDetailOut]


class HouseholdQuery(ApiInput):
    #: Only those assigned to me (a volunteer always sees only those).
    mine: bool = False
    state: DueState | None = None


class HouseholdCreate(ApiInput):
    kind: HouseholdKind
    label: Label
    grid: GridName = ""
    name: PersonName = ""
    address: Address = ""
    contact: Contact = ""
    needs: Needs = ""
    visit_every_days: Every = 14
    volunteer_ids: People = []


class HouseholdPatch(ApiInput):
    kind: HouseholdKind | None = None
    label: Label | None = None
    grid: GridName | None = None
    name: PersonName | None = None
    address: Address | None = None
    contact: Contact | None = None
    needs: Needs | None = None
    visit_every_days: Every | None = None
    active: bool | None = None
    #: The assigned volunteers, all of them (replaces the list).
    volunteer_ids: People | None = None


class VisitCreate(ApiInput):
    started_at: Timestamp
    ended_at: Timestamp
    #: Who went (default: the caller).
    visitor_ids: Annotated[list[Id], Field(min_length=1, max_length=10)] | None = None
    condition: Condition = "well"
    note: Needs = ""
    concern: bool = False
    #: Required with a concern.
    concern_note: Needs = ""
    client_ref: ClientRef | None = None


class CareExportQuery(ApiInput):
    #: Names, addresses, contacts and needs too (admins only; audited).
    personal: bool = False
