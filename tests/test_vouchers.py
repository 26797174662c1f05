"""Vouchers used at a sponsor's: a one-time number on the volunteer's phone, taken once on the
sponsor's own page (a signed link), lapsing unused with the points given back."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from sqlmodel import select

from volunteer_app import cli
from volunteer_app.models import Redemption, StoreItem, User, Voucher
from volunteer_app.services import expiry, sponsors, store, vouchers
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, at_once, csrf_token, signed_in


def voucher_world(app, *, balance=50, stock=5):
    with arrange(app) as session:
        coordinator = factories.user(session, roles=["coordinator", "clerk"])
        volunteer = factories.user(session, balance=balance)
        sponsor = sponsors.create(session, coordinator, name="爱心理发店")
        item = store.create_item(session, coordinator, name="理发券", cost=20, stock=stock, kind="voucher",
                                 sponsor_id=sponsor.id)
        token = vouchers.link_token(session, coordinator, sponsor.id)
    return coordinator, volunteer, sponsor, item, token


def test_a_voucher_needs_its_sponsor(app):
    with arrange(app) as session:
        coordinator = factories.user(session, roles=["coordinator"])
        try:
            store.create_item(session, coordinator, name="餐券", cost=10, kind="voucher")
        except store.DomainError as error:
            assert error.details["errors"][0]["field"] == "sponsor_id"
        else:
            raise AssertionError("a voucher without a sponsor was accepted")


def test_the_volunteer_gets_a_number_and_qr_and_the_sponsor_takes_it_once(app, api):
    _coordinator, volunteer, _sponsor, item, token = voucher_world(app)
    response = api.post(f"/api/v1/store/items/{item.id}/voucher", user=volunteer, json={"client_ref": "v1"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["points_spent"], body["balance_after"], body["sponsor_name"]) == \
        ("voucher", 20, 30, "爱心理发店")
    assert re.fullmatch(r"\d{12}", body["number"])
    again = api.post(f"/api/v1/store/items/{item.id}/voucher", user=volunteer, json={"client_ref": "v1"})
    assert again.status_code == 200 and again.get_json()["number"] == body["number"]
    phone = signed_in(app, volunteer).get(f"/store/vouchers/{body['id']}").get_data(as_text=True)
    assert "data:image/png;base64," in phone and " ".join(re.findall(r"\d{4}", body["number"])) in phone
    sponsor_phone = app.test_client()
    page = f"/v/{token}"
    spaced = f"{body['number'][:4]} {body['number'][4:8]}-{body['number'][8:]}"
    taken = sponsor_phone.post(page, data={"csrf_token": csrf_token(sponsor_phone, page), "number": spaced})
    assert taken.status_code == 200
    assert "理发券 × 1" in taken.get_data(as_text=True)
    twice = sponsor_phone.post(page, data={"csrf_token": csrf_token(sponsor_phone, page), "number": body["number"]})
    assert twice.status_code == 409
    mine = api.get("/api/v1/me/vouchers", user=volunteer).get_json()["vouchers"]
    assert [(row["status"], row["used_at"] is not None) for row in mine] == [("fulfilled", True)]
    assert cli.run_checks(app) == []


def test_bad_numbers_and_links_are_refused(app, api):
    coordinator, volunteer, _sponsor, item, token = voucher_world(app)
    number = api.post(f"/api/v1/store/items/{item.id}/voucher", user=volunteer, json={}).get_json()["number"]
    with arrange(app) as session:
        other = sponsors.create(session, coordinator, name="别的商家")
        other_token = vouchers.link_token(session, coordinator, other.id)
    client = app.test_client()
    for bad in ("", "abc", "²" * 12, "9" * 40, "000000000000"):
        response = client.post(f"/v/{token}", data={"csrf_token": csrf_token(client, f"/v/{token}"), "number": bad})
        assert response.status_code == 400, bad
    elsewhere = client.post(f"/v/{other_token}", data={"csrf_token": csrf_token(client, f"/v/{other_token}"),
                                                       "number": number})
    assert elsewhere.status_code == 400  # another sponsor's page does not know it
    assert client.get("/v/not-a-token").status_code == 400
    assert client.get(f"/v/{token}x").status_code == 400
    with arrange(app) as session:
        vouchers.new_link(session, coordinator, _sponsor.id)
    assert client.get(f"/v/{token}").status_code == 400  # the old link stops working


def test_an_unused_voucher_lapses_and_gives_the_points_back(app, api):
    _coordinator, volunteer, _sponsor, item, token = voucher_world(app)
    body = api.post(f"/api/v1/store/items/{item.id}/voucher", user=volunteer, json={}).get_json()
    later = utcnow() + timedelta(days=31)
    result = expiry.sweep(app.extensions["db_engine"], now=later)
    assert result.vouchers == 1
    assert expiry.sweep(app.extensions["db_engine"], now=later).vouchers == 0
    with arrange(app) as session:
        assert session.get(User, volunteer.id).balance == 50
        assert session.get(StoreItem, item.id).stock == 5
        assert session.get(Redemption, body["id"]).status == "lapsed"
    client = app.test_client()
    response = client.post(f"/v/{token}", data={"csrf_token": csrf_token(client, f"/v/{token}"),
                                                "number": body["number"]})
    assert response.status_code == 410
    assert cli.run_checks(app) == []


def test_a_voucher_past_its_day_is_refused_before_the_sweep(app, api):
    _coordinator, volunteer, _sponsor, item, token = voucher_world(app)
    number = api.post(f"/api/v1/store/items/{item.id}/voucher", user=volunteer, json={}).get_json()["number"]
    with arrange(app) as session:
        voucher = session.exec(select(Voucher).where(Voucher.number == number)).one()
        try:
            vouchers.take(session, token, number, now=voucher.expires_at + timedelta(seconds=1))
        except vouchers.DomainError as error:
            assert error.code == "expired_code"
        else:
            raise AssertionError("an expired voucher was taken")


def test_the_volunteer_pages_show_and_take_vouchers(app):
    _coordinator, volunteer, _sponsor, item, _token = voucher_world(app)
    client = signed_in(app, volunteer)
    page = client.get("/store").get_data(as_text=True)
    assert "在 爱心理发店 使用" in page
    response = client.post(f"/store/items/{item.id}/voucher", data={"csrf_token": csrf_token(client, "/store")})
    assert response.status_code == 302 and "/store/vouchers/" in response.headers["Location"]
    assert "出示券" in client.get("/store/mine").get_data(as_text=True)
    other = factories_other_volunteer(app)
    assert signed_in(app, other).get(response.headers["Location"]).status_code == 404


def factories_other_volunteer(app):
    with arrange(app) as session:
        return factories.user(session)


def test_two_phones_taking_one_voucher_at_once_exactly_one_succeeds(app, api):
    _coordinator, volunteer, _sponsor, item, token = voucher_world(app, balance=200)
    numbers = [api.post(f"/api/v1/store/items/{item.id}/voucher", user=volunteer, json={}).get_json()["number"]
               for _ in range(3)]
    for number in numbers:
        clients = [app.test_client() for _ in range(4)]
        forms = [{"csrf_token": csrf_token(client, f"/v/{token}"), "number": number} for client in clients]
        results = at_once([lambda c=c, form=form: c.post(f"/v/{token}", data=form).status_code
                           for c, form in zip(clients, forms)])
        assert Counter(results) == {200: 1, 409: 3}, results
    with arrange(app) as session:
        assert [r.status for r in session.exec(select(Redemption).where(Redemption.user_id == volunteer.id))] \
            == ["fulfilled"] * 3
    assert cli.run_checks(app) == []
