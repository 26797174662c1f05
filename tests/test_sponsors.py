"""The store's sponsors: goods received raise the stock and name the sponsor on the item; the
report counts what they gave and what was redeemed of it, by month; the thank-you letter."""
from __future__ import annotations

from datetime import UTC, date, datetime

from volunteer_app import cli
from volunteer_app.models import Sponsor, Station, StoreItem
from volunteer_app.services import sponsors, store

from . import factories
from .conftest import arrange, csrf_token, signed_in

JUNE = datetime(2025, 6, 3, 2, 0, tzinfo=UTC)
JULY = datetime(2025, 7, 9, 2, 0, tzinfo=UTC)


def test_goods_received_raise_the_stock_and_show_the_sponsor(app, api):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteer = factories.user(session)
        item = factories.store_item(session, name="洗衣液", stock=2)
    response = api.post("/api/v1/sponsors", user=clerk, json={"name": "百佳超市", "contact": "王经理 13800000000",
                                                               "kind": "business"})
    assert response.status_code == 201, response.get_json()
    sponsor = response.get_json()
    gift = api.post(f"/api/v1/sponsors/{sponsor['id']}/gifts", user=clerk,
                    json={"item_id": item.id, "quantity": 20, "received_on": "2025-06-01", "value": 300})
    assert gift.status_code == 201, gift.get_json()
    assert gift.get_json()["stock_after"] == 22
    items = api.get("/api/v1/store/items", user=volunteer).get_json()["items"]
    assert [(row["stock"], row["sponsor_name"]) for row in items] == [(22, "百佳超市")]
    page = signed_in(app, volunteer).get("/store").get_data(as_text=True)
    assert "由 百佳超市 提供" in page
    assert cli.run_checks(app) == []


def test_a_gift_sent_twice_with_its_client_ref_counts_once(app, api):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, stock=0)
        sponsor = sponsors.create(session, clerk, name="社区居委会", kind="community")
    body = {"item_id": item.id, "quantity": 5, "client_ref": "gift-1"}
    first = api.post(f"/api/v1/sponsors/{sponsor.id}/gifts", user=clerk, json=body)
    second = api.post(f"/api/v1/sponsors/{sponsor.id}/gifts", user=clerk, json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    with arrange(app) as session:
        assert session.get(StoreItem, item.id).stock == 5


def test_refusals(app, api):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteer = factories.user(session)
        item = factories.store_item(session)
        other_station = Station(name="东湖派出所")
        session.add(other_station)
        session.flush()
        elsewhere = Sponsor(station_id=other_station.id, name="别处商家")
        session.add(elsewhere)
        session.flush()
        sponsor = sponsors.create(session, clerk, name="爱心理发店")
    assert api.post("/api/v1/sponsors", user=volunteer, json={"name": "x"}).status_code == 403
    assert api.get(f"/api/v1/sponsors/{elsewhere.id}", user=clerk).get_json()["code"] == "not_found"
    assert api.post(f"/api/v1/sponsors/{elsewhere.id}/gifts", user=clerk,
                    json={"item_id": item.id, "quantity": 1}).status_code == 404
    for body in ({"item_id": item.id, "quantity": 0}, {"item_id": item.id, "quantity": 1, "value": -1},
                 {"item_id": item.id, "quantity": 1, "received_on": "2025-13-01"},
                 {"item_id": "x", "quantity": 1}, {"quantity": 1}):
        response = api.post(f"/api/v1/sponsors/{sponsor.id}/gifts", user=clerk, json=body)
        assert response.status_code == 422, body
    future = api.post(f"/api/v1/sponsors/{sponsor.id}/gifts", user=clerk,
                      json={"item_id": item.id, "quantity": 1, "received_on": "2099-01-01"})
    assert future.status_code == 422
    assert api.post("/api/v1/sponsors", user=clerk, json={"name": "x", "kind": "robot"}).status_code == 422
    assert api.get(f"/api/v1/sponsors/{sponsor.id}/report?since=2025-02-01&until=2025-01-01",
                   user=clerk).status_code == 422


def test_the_report_counts_gifts_and_redemptions_by_month(app, api):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        volunteers = [factories.user(session, balance=100) for _ in range(2)]
        item = factories.store_item(session, name="理发券", cost=10, stock=0)
        other = factories.store_item(session, name="肥皂", cost=5, stock=10)
        sponsor = sponsors.create(session, clerk, name="爱心理发店", kind="business")
        sponsors.receive(session, clerk, sponsor.id, item_id=item.id, quantity=10, received_on=date(2025, 6, 1),
                         value=200, now=JUNE)
        sponsors.receive(session, clerk, sponsor.id, item_id=item.id, quantity=5, received_on=date(2025, 7, 2),
                         now=JULY)
        store.redeem(session, clerk, item_id=item.id, user_id=volunteers[0].id, quantity=2, now=JUNE)
        store.redeem(session, clerk, item_id=item.id, user_id=volunteers[1].id, now=JULY)
        cancelled = store.redeem(session, clerk, item_id=item.id, user_id=volunteers[1].id, now=JULY).redemption
        store.cancel(session, clerk, cancelled.id, now=JULY)
        store.redeem(session, clerk, item_id=other.id, user_id=volunteers[1].id, now=JULY)  # not theirs
    body = api.get(f"/api/v1/sponsors/{sponsor.id}/report?since=2025-01-01&until=2025-12-31", user=clerk).get_json()
    assert [(m["month"], m["given_units"], m["given_value"], m["redeemed_units"], m["redeemed_points"],
             m["volunteers"]) for m in body["months"]] == [("2025-06", 10, 200, 2, 20, 1), ("2025-07", 5, 0, 1, 10, 1)]
    assert (body["given_units"], body["redeemed_units"], body["volunteers"]) == (15, 3, 2)
    assert body["items"] == [{"name": "理发券", "given": 15, "redeemed": 3}]
    letter = signed_in(app, clerk).get(f"/store/sponsors/{sponsor.id}/letter?year=2025").get_data(as_text=True)
    assert "感谢信" in letter and "爱心理发店：" in letter
    assert "共向我所平安志愿者积分超市捐赠物品 15 件（价值约 200 元），其中 3 件已由 2 名平安志愿者以积分兑换" in letter
    assert cli.run_checks(app) == []


def test_pages_add_a_sponsor_and_receive_goods(app):
    with arrange(app) as session:
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, name="雨伞", stock=1)
    client = signed_in(app, clerk)
    response = client.post("/store/sponsors", data={"csrf_token": csrf_token(client, "/store/sponsors"),
                                                    "name": "平安社区", "contact": "", "kind": "community"})
    assert response.status_code == 302
    url = response.headers["Location"]
    refused = client.post(url, data={"csrf_token": csrf_token(client, url), "item_id": str(item.id), "quantity": "abc"})
    assert refused.status_code == 422
    done = client.post(url, data={"csrf_token": csrf_token(client, url), "item_id": str(item.id), "quantity": "4",
                                  "received_on": "", "value": "", "note": ""})
    assert done.status_code == 302
    assert "雨伞 × 4" in client.get(url).get_data(as_text=True)
    with arrange(app) as session:
        assert session.get(StoreItem, item.id).stock == 5
    assert client.get("/store/sponsors/999999/letter").status_code == 404
    assert client.get(f"{url}/letter?year=x").status_code == 200
