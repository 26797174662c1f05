"""The points store over JSON: items, the member card code, redemptions and cancellations."""
from __future__ import annotations

from flask import current_app, request, url_for

from ... import db
from ...errors import FieldError
from ...schemas.common import Attrs
from ...schemas.store import (ItemCreate, ItemList, ItemOut, ItemPatch, MemberCodeOut, PictureOut, RedemptionCancel,
                              RedemptionCreate, RedemptionOut, StockChange)
from ...services import codes, images, sponsors, store
from ... import timeutil
from ...timeutil import isoformat
from .base import current_api_user, route


def picture_url(item) -> str | None:
    return url_for("pages.store_picture", name=item.picture) if item.picture else None


def _item(item) -> Attrs:
    return Attrs(item, low_stock=store.is_low_stock(item), picture_url=picture_url(item),
                 sponsor_name=sponsors.name_of(db.get_session(), item.sponsor_id))


def _redemption(redemption, balance_after: int | None, stock_after: int | None) -> Attrs:
    return Attrs(redemption, balance_after=balance_after, stock_after=stock_after,
                 cancel_reason=redemption.cancel_reason or None)


@route("/store/items", "POST", summary="Add an item to the store", tag="store", body=ItemCreate, response=ItemOut,
       status=201, roles=("coordinator",))
def create_item(body: ItemCreate):
    return _item(store.create_item(db.get_session(), current_api_user(), **body.model_dump()))


@route("/store/items/<id:item_id>", "PATCH", summary="Change an item (a new stock is a correction)", tag="store",
       body=ItemPatch, response=ItemOut, roles=("coordinator",))
def patch_item(item_id: int, body: ItemPatch):
    changes = body.model_dump(exclude_unset=True)
    return _item(store.update_item(db.get_session(), current_api_user(), item_id, **changes))


@route("/store/items/<id:item_id>/stock", "POST", summary="Goods received or a count corrected (audited)",
       tag="store", body=StockChange, response=ItemOut)
def change_stock(item_id: int, body: StockChange):
    return _item(store.change_stock(db.get_session(), current_api_user(), item_id, body.change, body.reason))


@route("/store/items", summary="The store's active items", tag="store", response=ItemList)
def list_items():
    return {"items": [_item(item) for item in store.list_items(db.get_session(), current_api_user())]}


@route("/store/items/<id:item_id>/picture", "POST", summary="Upload an item's picture (multipart file, JPEG or PNG)",
       tag="store", response=PictureOut, status=201, multipart={"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}},
       roles=("coordinator",))
def upload_picture(item_id: int):
    upload = request.files.get("file")
    if upload is None:
        raise FieldError("file", "Send the picture as the multipart field 'file'.")
    data = images.read_upload(upload.stream)
    item = store.set_picture(db.get_session(), current_api_user(), item_id, data, current_app.instance_path)
    return {"id": item.id, "picture_url": picture_url(item)}


@route("/me/member-code", summary="My member card code (changes every 60 s)", tag="store", response=MemberCodeOut)
def member_code():
    user = current_api_user()
    code, expires_at = codes.member_code(user.id, timeutil.utcnow())
    return {"code": code, "expires_at": isoformat(expires_at), "user_id": user.id}


@route("/store/redemptions", "POST", summary="Redeem an item for a volunteer at the counter", tag="store",
       body=RedemptionCreate, response=RedemptionOut, status=201, idempotent=True, roles=("clerk",))
def redeem(body: RedemptionCreate):
    result = store.redeem(db.get_session(), current_api_user(), item_id=body.item_id, user_id=body.user_id,
                          member_code=body.member_code, quantity=body.quantity)
    return _redemption(result.redemption, result.balance_after, result.stock_after)


@route("/store/redemptions/<id:redemption_id>/cancel", "POST", summary="Cancel a redemption (refund, restock)",
       tag="store", body=RedemptionCancel, response=RedemptionOut, roles=("clerk",))
def cancel(redemption_id: int, body: RedemptionCancel):
    session = db.get_session()
    redemption = store.cancel(session, current_api_user(), redemption_id, body.reason or "")
    balance, stock = store.balance_and_stock(session, redemption)
    return _redemption(redemption, balance, stock)
