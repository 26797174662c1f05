"""Random check-ins and adjustments never break the books: balance == sum(entries) >= 0."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func
from sqlmodel import select

from volunteer_app import db
from volunteer_app.errors import DomainError
from volunteer_app.models import Checkin, LedgerEntry, User
from volunteer_app.services import checkins, checkpoints, codes, ledger

from . import factories
from .factories import T0, checkpoint, event


def test_random_checkins_and_adjustments_keep_the_books(app):
    engine = app.extensions["db_engine"]

    class Books(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.ctx = app.app_context()
            self.ctx.push()
            self.uow = db.unit_of_work(engine)
            self.session = self.uow.__enter__()
            team = factories.team(self.session)
            self.admin = factories.admin(self.session)
            self.volunteer = factories.user(self.session, team=team)
            self.places = [checkpoint(self.session, points=p, cooldown_minutes=c) for p, c in ((5, 30), (3, 0), (0, 10))]
            self.event = event(self.session, starts_at=T0, hours=24, points=10)
            self.now = T0
            self.expected = 0
            self.last = {}

        def teardown(self):
            if getattr(self, "uow", None) is not None:
                self.session.rollback()
                self.uow.__exit__(None, None, None)
                self.ctx.pop()

        @rule(minutes=st.integers(0, 45))
        def time_passes(self, minutes):
            self.now += timedelta(minutes=minutes)

        @rule(index=st.integers(0, 2))
        def scan_checkpoint(self, index):
            cp = self.places[index]
            allowed = index not in self.last or self.now - self.last[index] >= timedelta(minutes=cp.cooldown_minutes)
            try:
                result = checkins.check_in(self.session, self.volunteer, checkpoints.token(cp), now=self.now)
            except DomainError as error:
                assert error.code == "cooldown" and not allowed
                return
            assert allowed
            self.last[index] = self.now
            self.expected += cp.points
            assert result.balance == self.expected

        @rule()
        def scan_event(self):
            code, _ = codes.event_code(self.event.id, self.now)
            first = not getattr(self, "at_event", False)
            try:
                checkins.check_in(self.session, self.volunteer, code, now=self.now)
            except DomainError as error:
                assert error.code in ("already_checked_in", "event_closed")
                assert not first or error.code == "event_closed"
                return
            self.at_event = True
            self.expected += self.event.points

        @rule(amount=st.integers(-40, 40).filter(bool))
        def adjust(self, amount):
            try:
                ledger.adjust(self.session, self.admin, self.volunteer.id, amount, "随机更正")
            except DomainError as error:
                assert error.code == "insufficient_points" and self.expected + amount < 0
                return
            self.expected += amount

        @invariant()
        def books_balance(self):
            if getattr(self, "session", None) is None:
                return
            self.session.flush()
            balance = self.session.exec(select(User.balance).where(User.id == self.volunteer.id)).one()
            total = self.session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                                      .where(LedgerEntry.user_id == self.volunteer.id)).one()
            assert balance == total == self.expected >= 0
            paid = self.session.exec(select(func.count()).select_from(Checkin)
                                     .where(Checkin.user_id == self.volunteer.id, Checkin.points_awarded > 0)).one()
            entries = self.session.exec(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.user_id == self.volunteer.id, LedgerEntry.kind.in_(("checkin", "event")))).one()
            assert paid == entries

    run_state_machine_as_test(Books, settings=settings(max_examples=12, stateful_step_count=25, deadline=None,
                                                        suppress_health_check=list(HealthCheck)))
