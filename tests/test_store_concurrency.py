"""Parallel redemptions through the real app, one thread (and test client) per request, on SQLite
and PostgreSQL: exactly the ones that fit succeed, and nothing ever goes below zero."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func
from sqlmodel import select

from volunteer_app import cli
from volunteer_app.models import LedgerEntry, Redemption, StoreItem, User

from . import factories
from .conftest import arrange, at_once


def parallel(app, calls):
    """Run ``calls`` (each ``(method, path, token, json)``) at once; their responses in order."""
    clients = [app.test_client() for _ in calls]

    def run(client, method, path, token, body):
        response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.get_json()

    results = at_once([lambda client=client, call=call: run(client, *call) for client, call in zip(clients, calls)])
    assert not [result for result in results if isinstance(result, BaseException)], results
    return results


def _codes(results):
    return Counter(body.get("code") if status >= 400 else status for status, body in results)


def test_fifty_parallel_redemptions_for_a_balance_that_covers_five(app):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteer = factories.user(session, balance=50)
        item = factories.store_item(session, cost=10, stock=100)
    token = factories.token_for(app, clerk)
    results = parallel(app, [("POST", "/api/v1/store/redemptions", token,
                              {"user_id": volunteer.id, "item_id": item.id})] * 50)
    assert _codes(results) == {201: 5, "insufficient_points": 45}
    balances = sorted(body["balance_after"] for status, body in results if status == 201)
    assert balances == [0, 10, 20, 30, 40]
    with arrange(app) as session:
        assert session.get(User, volunteer.id).balance == 0
        assert session.get(StoreItem, item.id).stock == 95
        assert session.exec(select(func.count()).select_from(Redemption)).one() == 5
    assert cli.run_checks(app) == []


def test_stock_of_three_and_ten_volunteers(app):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteers = [factories.user(session, balance=30) for _ in range(10)]
        item = factories.store_item(session, name="手电筒", cost=20, stock=3)
    token = factories.token_for(app, clerk)
    results = parallel(app, [("POST", "/api/v1/store/redemptions", token, {"user_id": v.id, "item_id": item.id})
                             for v in volunteers])
    assert _codes(results) == {201: 3, "out_of_stock": 7}
    assert sorted(body["stock_after"] for status, body in results if status == 201) == [0, 1, 2]
    with arrange(app) as session:
        assert session.get(StoreItem, item.id).stock == 0
        paid = [session.get(User, v.id).balance for v in volunteers]
        assert sorted(paid) == [10, 10, 10] + [30] * 7  # the refused paid nothing
    assert cli.run_checks(app) == []


def test_monthly_limit_under_parallel_requests(app):
    with arrange(app) as session:
        clerks = [factories.user(session, roles=["clerk"]) for _ in range(2)]
        volunteer = factories.user(session, balance=1000)
        item = factories.store_item(session, cost=1, stock=100, monthly_limit_per_user=2)
    tokens = [factories.token_for(app, clerk) for clerk in clerks]
    # Two counters serve the same person at once.
    results = parallel(app, [("POST", "/api/v1/store/redemptions", tokens[i % 2],
                              {"user_id": volunteer.id, "item_id": item.id}) for i in range(8)])
    assert _codes(results) == {201: 2, "monthly_limit": 6}
    with arrange(app) as session:
        assert session.get(StoreItem, item.id).stock == 98
        assert session.get(User, volunteer.id).balance == 998


def test_cancel_sent_twice_at_once_refunds_once(app):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteer = factories.user(session, balance=40)
        item = factories.store_item(session, cost=25, stock=2)
    token = factories.token_for(app, clerk)
    client = app.test_client()
    made = client.post("/api/v1/store/redemptions", json={"user_id": volunteer.id, "item_id": item.id},
                       headers={"Authorization": f"Bearer {token}"}).get_json()
    results = parallel(app, [("POST", f"/api/v1/store/redemptions/{made['id']}/cancel", token, {})] * 6)
    assert _codes(results) == {200: 1, "already_cancelled": 5}
    with arrange(app) as session:
        assert session.get(User, volunteer.id).balance == 40
        assert session.get(StoreItem, item.id).stock == 2
        refunds = session.exec(select(LedgerEntry).where(LedgerEntry.kind == "refund")).all()
        assert [entry.amount for entry in refunds] == [25]
    assert cli.run_checks(app) == []


def test_double_submit_with_one_client_ref_gives_one_redemption(app):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteer = factories.user(session, balance=100)
        item = factories.store_item(session, cost=10, stock=10)
    token = factories.token_for(app, clerk)
    body = {"user_id": volunteer.id, "item_id": item.id, "client_ref": "counter-tap-7"}
    results = parallel(app, [("POST", "/api/v1/store/redemptions", token, body)] * 5)
    statuses = Counter(status for status, _ in results)
    assert statuses[201] == 1 and statuses[201] + statuses[200] == 5, results
    assert len({body["id"] for _, body in results}) == 1
    with arrange(app) as session:
        assert session.exec(select(func.count()).select_from(Redemption)).one() == 1
        assert session.get(User, volunteer.id).balance == 90
        assert session.get(StoreItem, item.id).stock == 9
