"""Each person's record (个人考核) for a period, as the stations assess their volunteers: hours by
kind, check-ins, tips reported and verified, hazards reported, disputes mediated and settled,
households visited. Read by the member's page, the reports and the CSV export, all from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from ..models import CareVisit, CareVisitor, CaseMediator, Checkin, MediationCase, ServiceRecord, Tip, User
from . import access, publicity, service
from .csv_export import csv_stream
from .dashboard import scope_for, scoped_user_ids
from .reports import Export, Period


@dataclass
class PersonRecord:
    user_id: int
    display_name: str
    minutes_by_kind: dict[str, int] = field(default_factory=dict)
    checkins: int = 0
    tips_reported: int = 0
    tips_verified: int = 0
    hazards_reported: int = 0
    disputes_mediated: int = 0
    disputes_settled: int = 0
    households_visited: int = 0
    #: The audience of the publicity sessions the person signed in to.
    publicity_reached: int = 0

    @property
    def minutes(self) -> int:
        return sum(self.minutes_by_kind.values())

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 2)


def _counts(session: Session, stmt) -> dict[int, int]:
    return {user_id: int(count) for user_id, count in session.execute(stmt).all()}


def records_for(session: Session, people: list[User], start: datetime, end: datetime) -> list[PersonRecord]:
    """The records of ``people`` for ``[start, end)``, a few grouped queries for all of them."""
    ids = [person.id for person in people]
    if not ids:
        return []
    by_kind: dict[int, dict[str, int]] = {}
    for user_id, kind, minutes in session.execute(
            select(ServiceRecord.user_id, ServiceRecord.kind,
                   func.sum(ServiceRecord.minutes))
            .where(ServiceRecord.user_id.in_(ids), ServiceRecord.status == "confirmed",
                   ServiceRecord.started_at >= start, ServiceRecord.started_at < end)
            .group_by(ServiceRecord.user_id, ServiceRecord.kind)).all():
        by_kind.setdefault(user_id, {})[kind] = int(minutes or 0)
    checkins = _counts(session, select(Checkin.user_id, func.count(Checkin.id)).where(
        Checkin.user_id.in_(ids), Checkin.created_at >= start, Checkin.created_at < end).group_by(Checkin.user_id))
    tips = select(Tip.reporter_id, func.count(Tip.id)).where(
        Tip.reporter_id.in_(ids), Tip.created_at >= start, Tip.created_at < end).group_by(Tip.reporter_id)
    reported = _counts(session, tips)
    verified = _counts(session, tips.where(Tip.valid == True))  # noqa: E712
    hazards = _counts(session, tips.where(Tip.category == "hazard"))
    cases = (select(CaseMediator.user_id, func.count(MediationCase.id))
             .join(MediationCase, MediationCase.id == CaseMediator.case_id)
             .where(CaseMediator.user_id.in_(ids), MediationCase.started_at >= start, MediationCase.started_at < end)
             .group_by(CaseMediator.user_id))
    mediated = _counts(session, cases)
    settled = _counts(session, cases.where(MediationCase.outcome == "settled"))
    visited = _counts(session, select(CareVisitor.user_id, func.count(func.distinct(CareVisit.household_id)))
                      .join(CareVisit, CareVisit.id == CareVisitor.visit_id)
                      .where(CareVisitor.user_id.in_(ids), CareVisit.started_at >= start, CareVisit.started_at < end)
                      .group_by(CareVisitor.user_id))
    reached = publicity.people_reached_by(session, ids, start, end)
    return [PersonRecord(person.id, person.display_name, by_kind.get(person.id, {}), checkins.get(person.id, 0),
                         reported.get(person.id, 0), verified.get(person.id, 0), hazards.get(person.id, 0),
                         mediated.get(person.id, 0), settled.get(person.id, 0), visited.get(person.id, 0),
                         reached.get(person.id, 0))
            for person in people]


def person_record(session: Session, actor: User, user_id: int, start: datetime, end: datetime) -> PersonRecord:
    """One person's record (themself, their coordinators, admins; another station's: not_found)."""
    person = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    access.require_view_user(session, actor, person)
    return records_for(session, [person], start, end)[0]


HEADER = [_l("User id"), _l("Name"), _l("Hours served"), _l("Check-ins"), _l("Tips reported"), _l("Tips verified"),
          _l("Hazards reported"), _l("Disputes mediated"), _l("Disputes settled"), _l("Households visited"),
          _l("People reached by publicity")]


def export(session: Session, actor: User, p: Period, *, team_id: int | None = None,
           unit_id: int | None = None) -> Export:
    """Every person in the actor's scope: the record's figures, then hours per kind of service."""
    scope = scope_for(session, actor, team_id, unit_id)
    people = list(session.exec(select(User).where(User.id.in_(scoped_user_ids(scope))).order_by(User.id)))
    records = records_for(session, people, p.start, p.end)
    kinds = service.kinds(session, actor.station_id, include_inactive=True)
    header = [*HEADER, *[_l("%(kind)s (hours)", kind=kind.name) for kind in kinds], _l("From"), _l("To")]

    def rows():
        for record in records:
            yield (record.user_id, record.display_name, f"{record.hours:.2f}", record.checkins, record.tips_reported,
                   record.tips_verified, record.hazards_reported, record.disputes_mediated, record.disputes_settled,
                   record.households_visited, record.publicity_reached,
                   *[f"{record.minutes_by_kind.get(kind.key, 0) / 60:.2f}" for kind in kinds],
                   p.first.isoformat(), p.last.isoformat())

    label = f"team{team_id}" if team_id else "all"
    return Export(f"person-records-{label}-{p.first}-{p.last}.csv", csv_stream(header, rows()))
