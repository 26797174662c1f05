"""The mediation room (调解): the case log, the follow-up visit (回访) and the mediator pool.

A case names its parties by initials or pseudonyms only: anything that looks like an ID
number or a phone number (a run of six or more digits) is refused. The time a case took becomes
one confirmed ``mediation`` service record per mediator (``services/service.py``: overlaps
refused, the kind's points, ``minutes_served``). A dispute tip can become a case (once).

Who: the station's coordinators and admins log and see every case; a volunteer logs cases they
mediated and sees those. The pool (who mediates, their cases and settlements, for the
"金牌调解员" award) is for coordinators and admins.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import DISPUTE_KINDS, MEDIATION_OUTCOMES, SATISFACTION, CaseMediator, MediationCase, Tip, User
from ..parsing import clean_text
from .. import timeutil
from . import access, audit, service

DISPUTE_LABELS = {
    "neighbour": _l("Neighbours"), "family": _l("Family"), "property": _l("Property and land"),
    "labour": _l("Wages and work"), "consumer": _l("Buying and selling"), "traffic": _l("Traffic"),
    "other": _l("Other dispute"),
}
OUTCOME_LABELS = {"settled": _l("Settled"), "referred": _l("Referred on"), "not_settled": _l("Not settled")}
SATISFACTION_LABELS = {"satisfied": _l("Satisfied"), "fairly_satisfied": _l("Fairly satisfied"),
                       "unsatisfied": _l("Not satisfied")}
MAX_PARTIES = 6
MAX_MEDIATORS = 10
PARTY_LENGTH = 20
#: Six or more digits in a row (after full-width digits are made plain): an ID or phone number.
_NUMBER_RUN = re.compile(r"\d{6,}")


def clean_parties(parties) -> list[str]:
    """Initials or pseudonyms: 1 to 6 names of at most 20 characters, none that looks like an
    ID or phone number."""
    if isinstance(parties, str):
        parties = re.split(r"[、,，;；\n]+", parties)
    if not isinstance(parties, (list, tuple)):
        raise FieldError("parties", _l("Name the parties by initials or pseudonyms."))
    names = [unicodedata.normalize("NFKC", str(name)).strip() for name in parties if str(name).strip()]
    if not names or len(names) > MAX_PARTIES:
        raise FieldError("parties", _l("Name 1 to %(n)s parties.", n=MAX_PARTIES))
    for name in names:
        if len(name) > PARTY_LENGTH:
            raise FieldError("parties", _l("Name each party in at most %(n)s characters.", n=PARTY_LENGTH))
        if _NUMBER_RUN.search(name.replace(" ", "").replace("-", "")):
            raise FieldError("parties", _l("Name the parties by initials or pseudonyms only, never an ID or phone "
                                           "number."))
    return names




def is_staff(actor: User) -> bool:
    return actor.has_role("coordinator")


def mediator_ids(session: Session, case_id: int) -> list[int]:
    return list(session.exec(select(CaseMediator.user_id).where(CaseMediator.case_id == case_id)
                             .order_by(CaseMediator.user_id)))


def mediator_names(session: Session, case_id: int) -> str:
    people = (session.get(User, user_id) for user_id in mediator_ids(session, case_id))
    return "、".join(person.display_name for person in people if person)


def _mediators(session: Session, actor: User, user_ids) -> list[User]:
    if not isinstance(user_ids, (list, tuple)) or not user_ids or len(user_ids) > MAX_MEDIATORS:
        raise FieldError("mediator_ids", _l("Choose 1 to %(n)s mediators.", n=MAX_MEDIATORS))
    people = []
    for user_id in dict.fromkeys(user_ids):
        person = access.get_in_station(session, User, user_id, actor, _l("No such user."))
        if person.status != "active":
            raise FieldError("mediator_ids", _l("%(name)s's account is not active.", name=person.display_name))
        people.append(person)
    return people


def log_case(session: Session, actor: User, *, started_at: datetime, ended_at: datetime, place: str,
             parties, dispute_kind: str, mediator_ids: list[int] | None = None, outcome: str,
             agreement_note: str = "", tip_id: int | None = None, now: datetime | None = None) -> MediationCase:
    """Log a mediation: one confirmed ``mediation`` record per mediator (``service_overlap``
    when one overlaps their counted time: nothing is logged). A volunteer logs only cases they
    mediated; a dispute tip becomes a case once (coordinators, admins)."""
    now = now or timeutil.utcnow()
    if actor.status != "active":
        access.forbid(_l("This account is not active."))
    people = _mediators(session, actor, mediator_ids if mediator_ids else [actor.id])
    if not is_staff(actor) and actor.id not in {person.id for person in people}:
        access.forbid(_l("You may only log cases you mediated."))
    if dispute_kind not in DISPUTE_KINDS:
        raise FieldError("dispute_kind", _l("Choose the kind of dispute."))
    if outcome not in MEDIATION_OUTCOMES:
        raise FieldError("outcome", _l("Choose the outcome."))
    names = clean_parties(parties)
    place = clean_text(place, "place", 200, required=True)
    agreement_note = clean_text(agreement_note, "agreement_note", 1000)
    started_at, ended_at = service.check_times(started_at, ended_at, now)
    if tip_id is not None:
        access.require_role(actor, "coordinator")
        tip = access.get_in_station(session, Tip, tip_id, actor, _l("No such tip."))
        if tip.category != "dispute":
            raise FieldError("tip_id", _l("Only a dispute tip can become a mediation case."))
        if session.exec(select(MediationCase.id).where(MediationCase.tip_id == tip.id)).first():
            raise DomainError("conflict", _l("This tip is already a mediation case."), status=409)
    service.hold_people(session, [person.id for person in people] + [actor.id])
    case = MediationCase(station_id=actor.station_id, started_at=started_at, ended_at=ended_at, place=place,
                         parties="、".join(names), dispute_kind=dispute_kind, outcome=outcome,
                         agreement_note=agreement_note, tip_id=tip_id, created_by_id=actor.id)
    session.add(case)
    session.flush()
    for person in people:
        session.add(CaseMediator(station_id=case.station_id, case_id=case.id, user_id=person.id))
    service.record_logged(session, actor, source="mediation", source_key=f"mediation:{case.id}",
                          user_ids=[person.id for person in people], kind="mediation", started_at=started_at,
                          ended_at=ended_at, place=place, now=now)
    audit.record(session, actor, "mediation.log", "mediation_case", case.id,
                 mediators=[person.id for person in people], outcome=outcome, tip_id=tip_id)
    return case


def get_case(session: Session, actor: User, case_id: int) -> MediationCase:
    """A case of the actor's station (another's: not_found) they may see: staff, its mediators."""
    case = access.get_in_station(session, MediationCase, case_id, actor, _l("No such case."))
    if not is_staff(actor) and actor.id not in mediator_ids(session, case.id):
        access.forbid(_l("Only the case's mediators and the coordinators may see it."))
    return case


def follow_up(session: Session, actor: User, case_id: int, *, satisfaction: str, note: str = "",
              at: datetime | None = None, now: datetime | None = None) -> MediationCase:
    """Record the follow-up visit (回访) and the parties' satisfaction (a later one replaces it)."""
    now = now or timeutil.utcnow()
    case = get_case(session, actor, case_id)
    if satisfaction not in SATISFACTION:
        raise FieldError("satisfaction", _l("Choose how satisfied the parties are."))
    at = at or now
    if at.tzinfo is None or at > now or at < case.started_at:
        raise FieldError("at", _l("The follow-up comes after the mediation and not later than now."))
    case.followup_at, case.satisfaction = timeutil.as_utc(at), satisfaction
    case.followup_note = clean_text(note, "note", 1000)
    session.add(case)
    session.flush()
    audit.record(session, actor, "mediation.follow_up", "mediation_case", case.id, satisfaction=satisfaction)
    return case


def list_cases(session: Session, actor: User, *, since: datetime | None = None, until: datetime | None = None,
               outcome: str | None = None, limit: int = 50) -> list[MediationCase]:
    """Cases newest first: the station's for staff, one's own for a volunteer."""
    stmt = select(MediationCase).where(MediationCase.station_id == actor.station_id)
    if not is_staff(actor):
        stmt = stmt.where(MediationCase.id.in_(select(CaseMediator.case_id).where(CaseMediator.user_id == actor.id)))
    if since is not None:
        stmt = stmt.where(MediationCase.started_at >= since)
    if until is not None:
        stmt = stmt.where(MediationCase.started_at < until)
    if outcome is not None:
        stmt = stmt.where(MediationCase.outcome == outcome)
    return list(session.exec(stmt.order_by(MediationCase.started_at.desc(), MediationCase.id.desc()).limit(limit)))


@dataclass
class PoolEntry:
    user_id: int
    display_name: str
    cases: int
    settled: int
    minutes: int


def pool(session: Session, actor: User, *, since: datetime | None = None, until: datetime | None = None
         ) -> list[PoolEntry]:
    """Everyone who mediated in the period: cases, settlements and minutes, most settled first."""
    access.require_role(actor, "coordinator")
    rows = session.exec(
        select(CaseMediator.user_id, MediationCase.outcome, MediationCase.started_at, MediationCase.ended_at)
        .join(MediationCase, MediationCase.id == CaseMediator.case_id)
        .where(MediationCase.station_id == actor.station_id,
               *([MediationCase.started_at >= since] if since is not None else []),
               *([MediationCase.started_at < until] if until is not None else []))).all()
    entries: dict[int, PoolEntry] = {}
    for user_id, outcome, started_at, ended_at in rows:
        entry = entries.get(user_id)
        if entry is None:
            person = session.get(User, user_id)
            entry = entries[user_id] = PoolEntry(user_id, person.display_name if person else "", 0, 0, 0)
        entry.cases += 1
        entry.settled += outcome == "settled"
        entry.minutes += service.minutes_between(started_at, ended_at)
    return sorted(entries.values(), key=lambda entry: (-entry.settled, -entry.cases, entry.display_name))
