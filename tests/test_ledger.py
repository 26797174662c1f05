"""The ledger's own rules: conditional debits, unique sources, lifetime points, integrity check."""
from __future__ import annotations


import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from volunteer_app import db
from volunteer_app.errors import DomainError
from volunteer_app.models import LedgerEntry, User
from volunteer_app.services import ledger

from . import factories
from .conftest import at_once, outcomes


def test_credit_updates_balance_and_lifetime(session):
    user = factories.user(session)
    entry = ledger.post(session, user.id, 7, "checkin", "checkin:1")
    session.refresh(user)
    assert (entry.balance_after, user.balance, user.lifetime_points) == (7, 7, 7)


def test_debit_below_zero_is_refused_and_changes_nothing(session):
    user = factories.user(session, balance=5)
    with pytest.raises(DomainError) as refused:
        ledger.post(session, user.id, -6, "redemption", "redemption:1")
    assert refused.value.code == "insufficient_points"
    session.refresh(user)
    assert user.balance == 5
    assert session.exec(select(LedgerEntry).where(LedgerEntry.ref == "redemption:1")).first() is None


def test_spending_never_lowers_lifetime_points(session):
    user = factories.user(session)
    ledger.post(session, user.id, 30, "award", "award:1")
    ledger.post(session, user.id, -25, "redemption", "redemption:1")
    ledger.post(session, user.id, -2, "adjustment", "adjustment:x")
    session.refresh(user)
    assert (user.balance, user.lifetime_points) == (3, 30)


def test_positive_adjustment_counts_as_earned(session):
    user = factories.user(session)
    ledger.post(session, user.id, 4, "adjustment", "adjustment:y")
    session.refresh(user)
    assert user.lifetime_points == 4


def test_same_source_cannot_pay_twice(session):
    user = factories.user(session)
    ledger.post(session, user.id, 5, "checkin", "checkin:9")
    with pytest.raises(IntegrityError):
        ledger.post(session, user.id, 5, "checkin", "checkin:9")
    session.rollback()


def test_unknown_user_is_not_found(session):
    factories.station(session)
    with pytest.raises(DomainError) as refused:
        ledger.post(session, 999_999, 5, "award", "award:404")
    assert refused.value.code == "not_found"


def test_integrity_check_finds_a_tampered_balance(session):
    user = factories.user(session, balance=10)
    assert ledger.check_integrity(session) == []
    user.balance = 11
    session.add(user)
    session.flush()
    problems = ledger.check_integrity(session)
    assert len(problems) == 1 and "balance 11 != sum of entries 10" in problems[0]


def test_adjust_requires_a_reason_and_a_manager(session):
    team = factories.team(session)
    coordinator = factories.coordinator(session, team)
    member = factories.user(session, team=team)
    outsider = factories.user(session)
    with pytest.raises(DomainError) as no_reason:
        ledger.adjust(session, coordinator, member.id, 5, "  ")
    assert no_reason.value.code == "validation_error"
    with pytest.raises(DomainError) as not_theirs:
        ledger.adjust(session, coordinator, outsider.id, 5, "help at the fair")
    assert not_theirs.value.code == "forbidden"
    with pytest.raises(DomainError) as too_much:
        ledger.adjust(session, coordinator, member.id, -1, "correction")
    assert too_much.value.code == "insufficient_points"
    entry = ledger.adjust(session, coordinator, member.id, 5, "help at the fair")
    assert (entry.kind, entry.amount, entry.actor_id) == ("adjustment", 5, coordinator.id)


def test_parallel_debits_never_overdraw(app, session):
    """20 threads each try to spend 10 of a balance of 95: exactly 9 succeed."""
    user = factories.user(session, balance=95)
    session.commit()
    engine = app.extensions["db_engine"]

    def spend(number: int) -> None:
        with app.app_context(), db.unit_of_work(engine) as worker_session:
            ledger.post(worker_session, user.id, -10, "redemption", f"redemption:{number}")

    results = outcomes(at_once([lambda n=n: spend(n) for n in range(20)]))
    assert results.count("ok") == 9
    assert results.count("insufficient_points") == 11
    with app.app_context(), db.unit_of_work(engine, write=False) as check:
        assert check.get(User, user.id).balance == 5
        assert ledger.check_integrity(check) == []
