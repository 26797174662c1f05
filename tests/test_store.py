"""The points store: catalog, member codes, redemptions, cancellations, reservations, export."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from flask_babel import force_locale
from sqlmodel import select

from volunteer_app import cli, timeutil
from volunteer_app.errors import DomainError
from volunteer_app.models import AuditEntry, LedgerEntry, Redemption, StockMovement, StoreItem, User
from volunteer_app.services import codes, ledger, store

from . import factories
from .conftest import arrange

#: Every test runs with db.Prepared on its direct path and on its plain fallback.
pytestmark = pytest.mark.usefixtures("prepared_path")

NOW = datetime(2026, 11, 23, 6, 0, 30, tzinfo=timezone.utc)


@pytest.fixture
def people(app):
    with arrange(app) as session:
        team = factories.team(session)
        clerk = factories.user(session, roles=["clerk"])
        coordinator = factories.coordinator(session, team)
        volunteer = factories.user(session, team=team, balance=100, display_name="王建国")
        other = factories.user(session, team=team, balance=5)
    return {"clerk": clerk, "coordinator": coordinator, "volunteer": volunteer, "other": other, "team": team}


def _fresh(session, model, row_id):
    session.expire_all()
    return session.get(model, row_id)


# -- services ---------------------------------------------------------------------------------------

def test_redeem_moves_points_and_stock_once(session, people):
    item = factories.store_item(session, name="帽子", cost=15, stock=4)
    result = store.redeem(session, people["clerk"], item_id=item.id, user_id=people["volunteer"].id, quantity=2,
                          now=NOW)
    session.commit()
    assert (result.balance_after, result.stock_after) == (70, 2)
    assert result.redemption.points_spent == 30 and result.redemption.status == "fulfilled"
    entry = session.exec(select(LedgerEntry).where(LedgerEntry.ref == f"redemption:{result.redemption.id}")).one()
    assert entry.amount == -30 and entry.kind == "redemption"
    assert _fresh(session, User, people["volunteer"].id).lifetime_points == 100  # spending never lowers it
    assert result.redemption.clerk_id == people["clerk"].id and entry.actor_id == people["clerk"].id
    assert store.check_integrity(session) == [] and ledger.check_integrity(session) == []


@pytest.mark.parametrize("cost, stock, quantity, code", [
    (200, 5, 1, "insufficient_points"),
    (10, 1, 2, "out_of_stock"),
    (10, 0, 1, "out_of_stock"),
])
def test_redeem_refusals_leave_nothing(session, people, cost, stock, quantity, code):
    item = factories.store_item(session, cost=cost, stock=stock)
    session.commit()
    with pytest.raises(DomainError) as error:
        store.redeem(session, people["clerk"], item_id=item.id, user_id=people["volunteer"].id, quantity=quantity)
    assert error.value.code == code
    session.rollback()
    assert session.exec(select(Redemption)).all() == []
    assert _fresh(session, User, people["volunteer"].id).balance == 100
    assert _fresh(session, StoreItem, item.id).stock == stock


def test_a_basket_is_redeemed_whole_once_per_client_ref(session, people):
    cap = factories.store_item(session, name="帽子", cost=15, stock=4)
    cup = factories.store_item(session, name="水杯", cost=20, stock=1)
    clerk, volunteer = people["clerk"], people["volunteer"]
    receipt = store.redeem_basket(session, clerk, user_id=volunteer.id, basket=[(cap.id, 2), (cup.id, 1)],
                                  client_ref="tap-1", now=NOW)
    session.commit()
    again = store.redeem_basket(session, clerk, user_id=volunteer.id, basket=[(cap.id, 2), (cup.id, 1)],
                                client_ref="tap-1", now=NOW)  # the double tap
    session.commit()
    assert again == receipt and receipt["user_id"] == volunteer.id and len(receipt["ids"]) == 2
    assert len(session.exec(select(Redemption)).all()) == 2
    assert _fresh(session, User, volunteer.id).balance == 100 - 30 - 20
    assert store.basket_receipt(session, clerk, "tap-1")[0] == receipt
    assert store.basket_receipt(session, clerk, "tap-2") is None
    with pytest.raises(DomainError) as error:  # the cup is gone: the cap is not taken either
        store.redeem_basket(session, clerk, user_id=volunteer.id, basket=[(cap.id, 1), (cup.id, 1)],
                            client_ref="tap-2", now=NOW)
    assert error.value.code == "out_of_stock"
    session.rollback()
    assert len(session.exec(select(Redemption)).all()) == 2 and store.basket_receipt(session, clerk, "tap-2") is None
    with pytest.raises(DomainError) as error:
        store.redeem_basket(session, volunteer, user_id=volunteer.id, basket=[(cap.id, 1)], client_ref="tap-3")
    assert error.value.code == "forbidden"


def test_monthly_limit_counts_uncancelled_units_in_the_station_month(session, people):
    item = factories.store_item(session, cost=1, stock=50, monthly_limit_per_user=3)
    clerk, volunteer = people["clerk"], people["volunteer"]
    # 2026-10-31 23:30 in Shanghai is still October: it does not count toward November.
    october = datetime(2026, 10, 31, 15, 30, tzinfo=timezone.utc)
    store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, quantity=3, now=october)
    first = store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, quantity=2, now=NOW)
    with pytest.raises(DomainError) as error:
        store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, quantity=2, now=NOW)
    assert error.value.code == "monthly_limit" and error.value.details["remaining"] == 1
    store.cancel(session, clerk, first.redemption.id, "wrong size", now=NOW)
    store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, quantity=3, now=NOW)
    # Another person has a limit of their own.
    store.redeem(session, clerk, item_id=item.id, user_id=people["other"].id, quantity=3, now=NOW)
    session.commit()
    assert store.units_this_month(session, volunteer.id, item.id, NOW) == 3


def test_cancel_refunds_once_and_restores_stock(session, people):
    item = factories.store_item(session, cost=20, stock=2)
    result = store.redeem(session, people["clerk"], item_id=item.id, user_id=people["volunteer"].id, now=NOW)
    session.commit()
    store.cancel(session, people["clerk"], result.redemption.id, "扫错了", now=NOW)
    session.commit()
    with pytest.raises(DomainError) as error:
        store.cancel(session, people["clerk"], result.redemption.id, "again", now=NOW)
    assert error.value.code == "already_cancelled"
    session.rollback()
    assert _fresh(session, User, people["volunteer"].id).balance == 100
    assert _fresh(session, StoreItem, item.id).stock == 2
    refunds = session.exec(select(LedgerEntry).where(LedgerEntry.kind == "refund")).all()
    assert [entry.amount for entry in refunds] == [20]
    cancelled = _fresh(session, Redemption, result.redemption.id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "扫错了"
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "store.redemption_cancelled")).first()
    assert store.check_integrity(session) == [] and ledger.check_integrity(session) == []


def test_volunteers_and_coordinators_do_not_run_the_counter(session, people):
    item = factories.store_item(session)
    for actor in (people["volunteer"], people["coordinator"]):
        with pytest.raises(DomainError) as error:
            store.redeem(session, actor, item_id=item.id, user_id=people["other"].id)
        assert error.value.code == "forbidden"


def test_stock_changes_need_a_reason_and_are_audited(session, people):
    item = factories.store_item(session, stock=5)
    coordinator = people["coordinator"]
    with pytest.raises(DomainError) as error:
        store.adjust_stock(session, coordinator, item.id, 3, "restock", "  ")
    assert error.value.code == "validation_error"
    store.adjust_stock(session, coordinator, item.id, 10, "restock", "新到一箱")
    store.adjust_stock(session, coordinator, item.id, 2, "damage", "受潮")  # damage always lowers
    with pytest.raises(DomainError) as error:
        store.adjust_stock(session, coordinator, item.id, -50, "correction", "盘点")
    assert error.value.code == "out_of_stock"
    updated = store.update_item(session, coordinator, item.id, stock=7, cost=12)
    session.commit()
    assert (updated.stock, updated.cost) == (7, 12)
    reasons = [m.reason for m in session.exec(select(StockMovement).where(StockMovement.item_id == item.id)
                                               .order_by(StockMovement.id))]
    assert reasons == ["initial", "restock", "damage", "correction"]
    actions = {a.action for a in session.exec(select(AuditEntry))}
    assert {"store.stock_restock", "store.stock_damage", "store.item_update"} <= actions
    assert store.check_integrity(session) == []
    store.adjust_stock(session, people["clerk"], item.id, 1, "restock", "店员收货")  # clerks keep stock too
    with pytest.raises(DomainError) as error:
        store.adjust_stock(session, people["volunteer"], item.id, 1, "restock", "x")
    assert error.value.code == "forbidden"


def test_check_finds_negative_or_drifting_stock(app, session, people):
    item = factories.store_item(session, stock=3)
    session.commit()
    assert cli.run_checks(app) == []
    item.stock = 9  # written around the service: the movements no longer add up
    session.add(item)
    session.commit()
    problems = cli.run_checks(app)
    assert any("movements less redeemed units" in problem for problem in problems)


def test_reservation_holds_then_lapses_with_points_back(session, people):
    item = factories.store_item(session, cost=30, stock=1)
    volunteer = people["volunteer"]
    held = store.reserve(session, volunteer, item.id, now=NOW, days=2)
    session.commit()
    assert (held.balance_after, held.stock_after, held.redemption.status) == (70, 0, "reserved")
    assert store.lapse_reservations(session, now=NOW + timedelta(days=1)) == 0
    assert store.lapse_reservations(session, now=NOW + timedelta(days=2, seconds=1)) == 1
    session.commit()
    assert _fresh(session, Redemption, held.redemption.id).status == "lapsed"
    assert _fresh(session, User, volunteer.id).balance == 100
    assert _fresh(session, StoreItem, item.id).stock == 1
    assert store.check_integrity(session) == [] and ledger.check_integrity(session) == []


def test_reservation_fulfilled_by_the_clerk(session, people):
    item = factories.store_item(session, cost=10, stock=3)
    held = store.reserve(session, people["volunteer"], item.id, quantity=2, now=NOW)
    session.commit()
    with pytest.raises(DomainError) as error:
        store.fulfil_reservation(session, people["clerk"], held.redemption.id, user_id=people["other"].id, now=NOW)
    assert error.value.code == "forbidden"
    done = store.fulfil_reservation(session, people["clerk"], held.redemption.id, user_id=people["volunteer"].id,
                                    now=NOW)
    session.commit()
    assert done.status == "fulfilled" and done.clerk_id == people["clerk"].id
    assert store.lapse_reservations(session, now=NOW + timedelta(days=30)) == 0


def test_day_summary_by_clerk_and_csv_keeps_chinese(app, session, people):
    item = factories.store_item(session, name="肥皂, 大块", cost=5, stock=10)
    cup = factories.store_item(session, name="水杯", cost=10, stock=10)
    second_clerk = factories.user(session, roles=["clerk"], display_name="=店员小梅")
    store.redeem(session, people["clerk"], item_id=item.id, user_id=people["volunteer"].id, quantity=2, now=NOW)
    store.redeem(session, second_clerk, item_id=cup.id, user_id=people["volunteer"].id, now=NOW)
    wrong = store.redeem(session, second_clerk, item_id=cup.id, user_id=people["volunteer"].id, now=NOW)
    store.cancel(session, second_clerk, wrong.redemption.id, "多扫了", now=NOW)
    session.commit()
    day = store.today(NOW)
    summary = store.day_summary(session, people["clerk"], day)
    assert summary["totals"] == {"units": 3, "points": 20, "redemptions": 2, "cancelled": 1}
    by_clerk = {entry["clerk_id"]: entry for entry in summary["clerks"]}
    assert by_clerk[people["clerk"].id]["items"] == {"肥皂, 大块": 2}
    assert by_clerk[second_clerk.id]["points"] == 10
    with app.test_request_context(), force_locale("zh_CN"):
        text = "".join(store.export_csv(session, people["clerk"], day, day))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.encode("utf-8").decode("utf-8-sig"))))
    assert rows[0][:4] == ["兑换编号", "时间", "用户编号", "志愿者"] and len(rows) == 4  # the station's language
    assert rows[1][4] == "肥皂, 大块" and rows[1][3] == "王建国"
    assert rows[2][8] == "'=店员小梅"  # no formula injection
    assert rows[1][7] == "已发放" and rows[3][7] == "已撤销" and rows[3][9] == "多扫了"
    with pytest.raises(DomainError):
        store.export_csv(session, people["volunteer"], day, day)


# -- member codes -----------------------------------------------------------------------------------

def test_member_code_steps(session, people):
    clerk, volunteer = people["clerk"], people["volunteer"]
    current, _ = codes.member_code(volunteer.id, NOW)
    previous, _ = codes.member_code(volunteer.id, NOW - timedelta(seconds=60))
    older, _ = codes.member_code(volunteer.id, NOW - timedelta(seconds=120))
    assert store.identify(session, clerk, current, now=NOW).id == volunteer.id
    assert store.identify(session, clerk, previous, now=NOW).id == volunteer.id
    for code, expected in ((older, "expired_code"), (current[:-1] + str((int(current[-1]) + 1) % 10), "invalid_code"),
                           ("hello", "invalid_code"), (f"{people['other'].id}-{current.split('-')[1]}", "invalid_code")):
        with pytest.raises(DomainError) as error:
            store.identify(session, clerk, code, now=NOW)
        assert error.value.code == expected, code


def test_member_code_passed_to_another_clerk_is_refused(session, people):
    item = factories.store_item(session, cost=1, stock=10)
    other_clerk = factories.user(session, roles=["clerk"])
    code, _ = codes.member_code(people["volunteer"].id, NOW)
    store.redeem(session, people["clerk"], item_id=item.id, member_code=code, now=NOW)
    # The same clerk may go on using it during the visit.
    store.redeem(session, people["clerk"], item_id=item.id, member_code=code, now=NOW)
    session.commit()
    with pytest.raises(DomainError) as error:
        store.redeem(session, other_clerk, item_id=item.id, member_code=code, now=NOW)
    assert error.value.code == "expired_code"


# -- API --------------------------------------------------------------------------------------------

def test_api_items_crud_and_roles(api, people):
    body = {"name": "雨伞", "description": "折叠伞", "cost": 40, "stock": 6, "monthly_limit_per_user": 1}
    assert api.post("/api/v1/store/items", json=body, user=people["volunteer"]).status_code == 403
    assert api.post("/api/v1/store/items", json=body, user=people["clerk"]).status_code == 403
    created = api.post("/api/v1/store/items", json=body, user=people["coordinator"])
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert item["name"] == "雨伞" and item["stock"] == 6 and item["monthly_limit_per_user"] == 1
    bad = api.post("/api/v1/store/items", json={**body, "cost": 0}, user=people["coordinator"])
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "cost"
    assert api.post("/api/v1/store/items", json={**body, "colour": "red"}, user=people["coordinator"]).status_code == 422
    patched = api.patch(f"/api/v1/store/items/{item['id']}", json={"stock": 9, "monthly_limit_per_user": None},
                        user=people["coordinator"])
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["stock"] == 9 and patched.get_json()["monthly_limit_per_user"] is None
    assert api.patch(f"/api/v1/store/items/{item['id']}", json={"cost": None},
                     user=people["coordinator"]).status_code == 422
    listed = api.get("/api/v1/store/items", user=people["volunteer"]).get_json()["items"]
    assert [row["id"] for row in listed] == [item["id"]]
    api.patch(f"/api/v1/store/items/{item['id']}", json={"active": False}, user=people["coordinator"])
    assert api.get("/api/v1/store/items", user=people["volunteer"]).get_json()["items"] == []
    assert api.patch("/api/v1/store/items/999999", json={"cost": 3}, user=people["coordinator"]).status_code == 404
    assert api.get("/api/v1/store/items").status_code == 401


def test_api_member_code_and_redemption(api, people, monkeypatch):
    with arrange(api.app) as session:
        item = factories.store_item(session, cost=30, stock=2)
    monkeypatch.setattr(timeutil, "utcnow", lambda: NOW)
    mine = api.get("/api/v1/me/member-code", user=people["volunteer"])
    assert mine.status_code == 200
    code = mine.get_json()["code"]
    with api.app.app_context():
        assert code == codes.member_code(people["volunteer"].id, NOW)[0]
        old_code = codes.member_code(people["volunteer"].id, NOW - timedelta(minutes=3))[0]
    assert mine.get_json()["expires_at"].endswith("+08:00")
    response = api.post("/api/v1/store/redemptions", json={"member_code": code, "item_id": item.id},
                        user=people["clerk"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["balance_after"] == 70 and body["stock_after"] == 1 and body["status"] == "fulfilled"
    assert body["points_spent"] == 30 and body["user_id"] == people["volunteer"].id and body["quantity"] == 1
    for payload, status, code_word in (
        ({"user_id": people["volunteer"].id, "item_id": item.id, "quantity": 2}, 409, "out_of_stock"),
        ({"user_id": people["other"].id, "item_id": item.id}, 409, "insufficient_points"),
        ({"member_code": "123-000000", "item_id": item.id}, 400, "invalid_code"),
        ({"member_code": old_code, "item_id": item.id}, 410, "expired_code"),
    ):
        refused = api.post("/api/v1/store/redemptions", json=payload, user=people["clerk"])
        assert refused.status_code == status, refused.get_json()
        assert refused.get_json()["code"] == code_word
    both = api.post("/api/v1/store/redemptions", json={"member_code": code, "user_id": 1, "item_id": item.id},
                    user=people["clerk"])
    assert both.status_code == 422
    with arrange(api.app) as session:
        limited = factories.store_item(session, cost=1, stock=9, monthly_limit_per_user=1)
    api.post("/api/v1/store/redemptions", json={"user_id": people["volunteer"].id, "item_id": limited.id},
             user=people["clerk"])
    refused = api.post("/api/v1/store/redemptions", json={"user_id": people["volunteer"].id, "item_id": limited.id},
                       user=people["clerk"])
    assert refused.status_code == 409 and refused.get_json()["code"] == "monthly_limit"


def test_api_volunteer_cannot_redeem_for_others(api, people):
    with arrange(api.app) as session:
        item = factories.store_item(session, cost=1, stock=5)
    response = api.post("/api/v1/store/redemptions", json={"user_id": people["other"].id, "item_id": item.id},
                        user=people["volunteer"])
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    with arrange(api.app) as session:
        assert session.get(User, people["other"].id).balance == 5


def test_api_client_ref_gives_one_redemption(api, people):
    with arrange(api.app) as session:
        item = factories.store_item(session, cost=10, stock=5)
    payload = {"user_id": people["volunteer"].id, "item_id": item.id, "client_ref": "tap-1"}
    first = api.post("/api/v1/store/redemptions", json=payload, user=people["clerk"])
    second = api.post("/api/v1/store/redemptions", json=payload, user=people["clerk"])
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json() == second.get_json()
    with arrange(api.app) as session:
        assert len(session.exec(select(Redemption)).all()) == 1
        assert session.get(User, people["volunteer"].id).balance == 90


def test_api_cancel(api, people):
    with arrange(api.app) as session:
        item = factories.store_item(session, cost=10, stock=5)
    made = api.post("/api/v1/store/redemptions", json={"user_id": people["volunteer"].id, "item_id": item.id},
                    user=people["clerk"]).get_json()
    assert api.post(f"/api/v1/store/redemptions/{made['id']}/cancel", user=people["volunteer"]).status_code == 403
    first = api.post(f"/api/v1/store/redemptions/{made['id']}/cancel", json={"reason": "错了"}, user=people["clerk"])
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "cancelled" and first.get_json()["balance_after"] == 100
    again = api.post(f"/api/v1/store/redemptions/{made['id']}/cancel", user=people["clerk"])
    assert again.status_code == 409 and again.get_json()["code"] == "already_cancelled"
    assert api.post("/api/v1/store/redemptions/999999/cancel", user=people["clerk"]).status_code == 404
    assert cli.run_checks(api.app) == []


def test_api_stock_change_by_clerk_is_audited_and_never_below_zero(api, app, people):
    with arrange(app) as session:
        item_id = factories.store_item(session, stock=4).id
    url = f"/api/v1/store/items/{item_id}/stock"
    received = api.post(url, json={"change": 6, "reason": "新到一箱"}, user=people["clerk"])
    assert received.status_code == 200, received.get_json()
    assert received.get_json()["stock"] == 10 and received.get_json()["id"] == item_id
    counted = api.post(url, json={"change": -3, "reason": "盘点少了三个"}, user=people["coordinator"])
    assert counted.status_code == 200 and counted.get_json()["stock"] == 7
    below = api.post(url, json={"change": -8, "reason": "盘点"}, user=people["clerk"])
    assert below.status_code == 409 and below.get_json()["code"] == "out_of_stock"
    for body in ({"change": 0, "reason": "x"}, {"change": 2, "reason": "  "}, {"change": 2},
                 {"change": "2", "reason": "x"}, {"change": 1.5, "reason": "x"}, {"reason": "x"}):
        assert api.post(url, json=body, user=people["clerk"]).status_code == 422, body
    assert api.post(url, json={"change": 1, "reason": "x"}, user=people["volunteer"]).status_code == 403
    assert api.post("/api/v1/store/items/999999/stock", json={"change": 1, "reason": "x"},
                    user=people["clerk"]).status_code == 404
    with arrange(app) as session:
        assert session.get(StoreItem, item_id).stock == 7
        notes = [m.note for m in session.exec(select(StockMovement).where(StockMovement.item_id == item_id)
                                              .order_by(StockMovement.id))]
        assert notes[1:] == ["新到一箱", "盘点少了三个"]
        actions = [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.target_id == item_id)
                                                   .order_by(AuditEntry.id))]
        assert actions[-2:] == ["store.stock_restock", "store.stock_correction"]
        assert store.check_integrity(session) == []


def test_openapi_lists_store_endpoints(api, people):
    document = api.get("/api/v1/openapi.json").get_json()
    assert "post" in document["paths"]["/api/v1/store/items/{item_id}/stock"]
    assert "/api/v1/store/redemptions" in document["paths"]
    assert "/api/v1/me/member-code" in document["paths"]


def test_lapse_command(app, session, people):
    from click.testing import CliRunner
    item = factories.store_item(session, cost=10, stock=2)
    held = store.reserve(session, people["volunteer"], item.id, now=NOW - timedelta(days=10))
    session.commit()
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test-secret-key",
           "INSTANCE_PATH": app.instance_path}
    result = CliRunner().invoke(cli.main, ["lapse-reservations"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 reservations lapsed" in result.output
    assert _fresh(session, Redemption, held.redemption.id).status == "lapsed"
    assert _fresh(session, User, people["volunteer"].id).balance == 100


def test_a_reservation_counts_on_the_day_it_is_handed_over(session, people):
    item = factories.store_item(session, cost=10, stock=3)
    held = store.reserve(session, people["volunteer"], item.id, now=NOW)
    store.fulfil_reservation(session, people["clerk"], held.redemption.id, now=NOW + timedelta(days=1))
    session.commit()
    assert store.day_summary(session, people["clerk"], store.today(NOW))["totals"]["units"] == 0
    later = store.day_summary(session, people["clerk"], store.today(NOW + timedelta(days=1)))
    assert later["totals"] == {"units": 1, "points": 10, "redemptions": 1, "cancelled": 0}
    assert later["clerks"][0]["clerk_id"] == people["clerk"].id


def test_coordinators_hear_once_when_a_redemption_brings_the_stock_low(session, people):
    from volunteer_app.models import Notice
    item = factories.store_item(session, name="手电筒", cost=1, stock=5)  # threshold 3
    clerk, volunteer = people["clerk"], people["volunteer"]
    store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, now=NOW)  # 4 left
    assert session.exec(select(Notice)).all() == []
    store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, now=NOW)  # 3 left: flagged
    store.redeem(session, clerk, item_id=item.id, user_id=volunteer.id, now=NOW)  # 2 left: already said
    session.commit()
    notes = session.exec(select(Notice)).all()
    assert [(n.user_id, n.kind, n.url) for n in notes] == [
        (people["coordinator"].id, "store_low_stock", f"/store/manage/{item.id}")]
    assert "手电筒" in notes[0].title
