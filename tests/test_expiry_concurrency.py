"""Lapsing racing spending, with real threads on SQLite and PostgreSQL: parallel redemptions and
two sweeps never overspend, never lapse spent points, lapse every point once, and `check`
finds nothing wrong."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from volunteer_app import cli
from volunteer_app.models import LedgerEntry, User
from volunteer_app.services import expiry, ledger
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once

RUNS = 100


def race(app, token, calls, sweeps):
    """The redemptions (``(user id, item id)``) over the API and ``sweeps`` sweeps, all at once."""
    engine = app.extensions["db_engine"]
    clients = [app.test_client() for _ in calls]

    def redeem(client, user_id, item_id):
        response = client.post("/api/v1/store/redemptions", json={"user_id": user_id, "item_id": item_id},
                               headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.get_json().get("code")

    def sweep():
        with app.app_context():
            return expiry.sweep(engine)

    results = at_once([lambda c=c, call=call: redeem(c, *call) for c, call in zip(clients, calls)]
                      + [sweep] * sweeps)
    assert not [result for result in results if isinstance(result, BaseException)], results
    return results[:len(calls)], results[len(calls):]


def test_parallel_redemptions_and_sweeps_a_hundred_times(app):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, cost=10, stock=10_000)
    token = factories.token_for(app, clerk)
    earned_long_ago = utcnow() - timedelta(days=90)
    for run in range(RUNS):
        with arrange(app) as session:
            volunteer = factories.user(session)
            app.config["POINTS_EXPIRE"] = "months:1"  # lapsed some 60 days ago
            ledger.post(session, volunteer.id, 30, "award", f"award:race:{run}:old", now=earned_long_ago)
            app.config["POINTS_EXPIRE"] = "year_end:5"
            ledger.post(session, volunteer.id, 25, "award", f"award:race:{run}:new", now=earned_long_ago)
            app.config["POINTS_EXPIRE"] = "never"
        redemptions, sweeps = race(app, token, [(volunteer.id, item.id)] * 3, sweeps=2)
        assert Counter(status for status, _code in redemptions) == {201: 2, 409: 1}, run
        with arrange(app) as session:
            lapsed = session.exec(select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.user_id == volunteer.id, LedgerEntry.kind == "expiry")).one()
            assert lapsed == -30, run
            assert session.get(User, volunteer.id).balance == 5, run
        assert sum(result.points for result in sweeps) <= 30
        assert cli.run_checks(app) == [], run
