"""The store's sponsors over JSON: sponsors, goods received from them, their report."""
from __future__ import annotations

from ... import db
from ...schemas.common import Attrs
from ...schemas.sponsors import (GiftCreate, GiftOut, ReportOut, ReportQuery, SponsorCreate, SponsorList, SponsorOut,
                                 SponsorPatch, VoucherCreate, VoucherList, VoucherOut)
from ...services import sponsors, vouchers
from .base import current_api_user, route

KEEPERS = ("clerk", "coordinator")


@route("/sponsors", "POST", summary="Add a sponsor of the store (爱心商家)", tag="sponsors", body=SponsorCreate,
       response=SponsorOut, status=201, idempotent=False, roles=KEEPERS)
def create_sponsor(body: SponsorCreate):
    return sponsors.create(db.get_session(), current_api_user(), **body.model_dump())


@route("/sponsors", summary="The station's sponsors", tag="sponsors", response=SponsorList, roles=KEEPERS)
def list_sponsors():
    return {"sponsors": sponsors.list_sponsors(db.get_session(), current_api_user())}


@route("/sponsors/<id:sponsor_id>", summary="A sponsor", tag="sponsors", response=SponsorOut, roles=KEEPERS)
def get_sponsor(sponsor_id: int):
    return sponsors.get(db.get_session(), current_api_user(), sponsor_id)


@route("/sponsors/<id:sponsor_id>", "PATCH", summary="Change a sponsor", tag="sponsors", body=SponsorPatch,
       response=SponsorOut, roles=KEEPERS)
def patch_sponsor(sponsor_id: int, body: SponsorPatch):
    return sponsors.update(db.get_session(), current_api_user(), sponsor_id, **body.model_dump(exclude_unset=True))


@route("/sponsors/<id:sponsor_id>/gifts", "POST", summary="Goods received from a sponsor (the stock rises)",
       tag="sponsors", body=GiftCreate, response=GiftOut, status=201, idempotent=True, roles=KEEPERS)
def receive_gift(sponsor_id: int, body: GiftCreate):
    session = db.get_session()
    gift = sponsors.receive(session, current_api_user(), sponsor_id, **body.model_dump(exclude={"client_ref"}))
    return Attrs(gift, stock_after=sponsors.stock_after(session, gift))


@route("/sponsors/<id:sponsor_id>/report", summary="What a sponsor gave and what was redeemed of it, by month",
       tag="sponsors", query=ReportQuery, response=ReportOut, roles=KEEPERS)
def sponsor_report(sponsor_id: int, query: ReportQuery):
    return sponsors.report(db.get_session(), current_api_user(), sponsor_id, query.since, query.until)


def _voucher(view, balance_after: int | None = None) -> dict:
    redemption, voucher = view.redemption, view.voucher
    return {"id": redemption.id, "item_id": view.item.id, "item_name": view.item.name, "quantity": redemption.quantity,
            "points_spent": redemption.points_spent, "balance_after": balance_after,
            "sponsor_name": view.sponsor_name, "number": voucher.number, "status": redemption.status,
            "expires_at": voucher.expires_at, "used_at": voucher.used_at}


@route("/store/items/<id:item_id>/voucher", "POST", summary="Take a voucher item for oneself (a one-time number)",
       tag="sponsors", body=VoucherCreate, response=VoucherOut, status=201, idempotent=True)
def take_voucher(item_id: int, body: VoucherCreate):
    user = current_api_user()
    view = vouchers.issue(db.get_session(), user, item_id)
    return _voucher(view, balance_after=user.balance)


@route("/me/vouchers", summary="My vouchers, newest first", tag="sponsors", response=VoucherList)
def my_vouchers():
    return {"vouchers": [_voucher(view) for view in vouchers.my_vouchers(db.get_session(), current_api_user())]}
