"""The points store (积分超市): catalog, stock, redemptions at the counter, reservations.

Rules that hold whatever the concurrency:

* A redemption is one transaction. The volunteer's row is locked first
  (:func:`ledger.lock_user`), so two counters serving the same person are serialised and cannot
  both pass the monthly limit; the points fall through :func:`ledger.post` (a conditional
  UPDATE) and the stock through one conditional UPDATE ``stock = stock - q WHERE stock >= q``,
  taken last so the hot item row is held for the shortest time.
* The stock is the opening stock and every manual change (:class:`StockMovement`: restock,
  damage, correction, each with a reason and audited) less the units of live redemptions;
  ``check_integrity`` verifies exactly that.
* A cancellation flips the status with a conditional UPDATE (``WHERE status IN (...)``), so a
  cancel sent twice refunds once (``already_cancelled``); the refund's ledger ref is unique too.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, func, literal, true, update
from sqlmodel import Session, select

from .. import db, settings
from ..errors import DomainError, FieldError
from ..models import ITEM_KINDS, Redemption, Sponsor, StockMovement, StoreItem, User, Voucher
from ..models.base import MAX_ID
from .. import timeutil
from ..timeutil import local, local_midnight, period_start
from . import access, audit, codes, idempotency, images, ledger, notices, outbox
from .csv_export import csv_stream

MAX_QUANTITY = 99
#: A voucher's number: this many random digits.
VOUCHER_DIGITS = 12
RESERVATION_DAYS = 3
PICTURE_SIZE = 800
PICTURE_DIR = "store_pictures"
#: Statuses whose units count toward the monthly limit and hold stock and points.
LIVE_STATUSES = ("fulfilled", "reserved", "voucher")
EDITABLE_FIELDS = ("name", "description", "cost", "stock", "active", "monthly_limit_per_user",
                   "low_stock_threshold", "kind", "sponsor_id")


@dataclass
class RedeemResult:
    redemption: Redemption
    balance_after: int
    stock_after: int


# -- catalog ----------------------------------------------------------------------------------------

def _check_item_fields(fields: dict) -> dict:
    out = {}
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name or len(name) > 100:
            raise FieldError("name", _l("Enter a name of 1 to 100 characters."))
        out["name"] = name
    if "description" in fields:
        description = (fields["description"] or "").strip()
        if len(description) > 1000:
            raise FieldError("description", _l("At most 1000 characters."))
        out["description"] = description
    for name, low, message in (("cost", 1, _l("The cost is a whole number of points, at least 1.")),
                               ("stock", 0, _l("The stock is a whole number, 0 or more.")),
                               ("low_stock_threshold", 0, _l("Enter a whole number, 0 or more."))):
        if name in fields:
            value = fields[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 1_000_000:
                raise FieldError(name, message)
            out[name] = value
    if "monthly_limit_per_user" in fields:
        value = fields["monthly_limit_per_user"]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000):
            raise FieldError("monthly_limit_per_user", _l("Leave empty for no limit, or enter 1 to 1000."))
        out["monthly_limit_per_user"] = value
    if "active" in fields:
        out["active"] = bool(fields["active"])
    if "kind" in fields:
        if fields["kind"] not in ITEM_KINDS:
            raise FieldError("kind", _l("Choose goods or voucher."))
        out["kind"] = fields["kind"]
    if "sponsor_id" in fields:
        out["sponsor_id"] = fields["sponsor_id"]
    return out


def _check_sponsor(session: Session, actor: User, item: StoreItem) -> None:
    """The item's sponsor is of the actor's station; a voucher names the sponsor where it is used."""
    if item.sponsor_id is not None:
        sponsor = session.get(Sponsor, item.sponsor_id) if isinstance(item.sponsor_id, int) else None
        if sponsor is None or sponsor.station_id != actor.station_id:
            raise FieldError("sponsor_id", _l("No such sponsor."))
    if item.kind == "voucher" and item.sponsor_id is None:
        raise FieldError("sponsor_id", _l("A voucher needs the sponsor where it is used."))


def _require_manager(actor: User) -> None:
    access.require_role(actor, "coordinator")


def get_item(session: Session, actor: User, item_id: int) -> StoreItem:
    return access.get_in_station(session, StoreItem, item_id, actor, _l("No such item."))


def create_item(session: Session, actor: User, *, name: str, cost: int, stock: int = 0,
                description: str | None = None, monthly_limit_per_user: int | None = None,
                low_stock_threshold: int | None = None, kind: str = "goods", sponsor_id: int | None = None,
                now: datetime | None = None) -> StoreItem:
    """A new item of the actor's station (coordinators and admins): goods, or a voucher used at
    its sponsor's."""
    _require_manager(actor)
    fields = _check_item_fields({"name": name, "description": description or "", "cost": cost, "stock": stock,
                                 "monthly_limit_per_user": monthly_limit_per_user, "kind": kind or "goods",
                                 "sponsor_id": sponsor_id,
                                 **({"low_stock_threshold": low_stock_threshold} if low_stock_threshold is not None else {})})
    now = now or timeutil.utcnow()
    item = StoreItem(station_id=actor.station_id, created_at=now, updated_at=now, **fields)
    _check_sponsor(session, actor, item)
    session.add(item)
    session.flush()
    if item.stock:
        session.add(StockMovement(item_id=item.id, delta=item.stock, reason="initial", stock_after=item.stock,
                                  actor_id=actor.id, created_at=now))
    audit.record(session, actor, "store.item_create", "store_item", item.id, name=item.name, cost=item.cost,
                 stock=item.stock)
    session.flush()
    return item


def update_item(session: Session, actor: User, item_id: int, *, now: datetime | None = None,
                stock_note: str = "", **changes) -> StoreItem:
    """Change an item. A new ``stock`` is recorded as a correction of the difference."""
    _require_manager(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], _l("Unknown field."))
    fields = _check_item_fields(changes)
    item = get_item(session, actor, item_id)
    now = now or timeutil.utcnow()
    new_stock = fields.pop("stock", None)
    before = {name: getattr(item, name) for name in fields}
    for name, value in fields.items():
        setattr(item, name, value)
    _check_sponsor(session, actor, item)
    item.updated_at = now
    session.add(item)
    session.flush()
    if new_stock is not None:
        # Lock the row so the difference is taken against the stock as it is now.
        current = session.exec(select(StoreItem.stock).where(StoreItem.id == item.id).with_for_update()).one()
        if new_stock != current:
            _move_stock(session, item, new_stock - current, "correction",
                        stock_note or str(_l("Stock set to %(n)s", n=new_stock)), actor, now)
        before["stock"] = current
    audit.record(session, actor, "store.item_update", "store_item", item.id,
                 changes={name: [before.get(name), value] for name, value in
                          {**fields, **({"stock": new_stock} if new_stock is not None else {})}.items()})
    session.refresh(item)
    return item


def list_items(session: Session, actor: User, *, include_inactive: bool = False) -> list[StoreItem]:
    stmt = select(StoreItem).where(StoreItem.station_id == actor.station_id)
    if include_inactive:
        _require_manager(actor)
    else:
        stmt = stmt.where(StoreItem.active == True)  # noqa: E712
    return list(session.exec(stmt.order_by(StoreItem.cost, StoreItem.id)))


def is_low_stock(item: StoreItem) -> bool:
    return item.active and item.stock <= item.low_stock_threshold


# -- stock ------------------------------------------------------------------------------------------

_items = StoreItem.__table__
_MOVE_STOCK = db.Prepared(
    update(_items).where(_items.c.id == bindparam("move_item"), _items.c.stock + bindparam("move_delta") >= 0)
    .values(stock=_items.c.stock + bindparam("move_delta")).returning(_items.c.stock))


def _move_stock(session: Session, item: StoreItem, delta: int, reason: str, note: str, actor: User | None,
                now: datetime, *, record: bool = True) -> int:
    """Change the stock by ``delta`` with one conditional UPDATE; ``out_of_stock`` when it
    would fall below zero. Returns the stock after. Manual changes are recorded as a
    :class:`StockMovement`; redemptions are their own record (``record=False``)."""
    row = _MOVE_STOCK.first(session, {"move_item": item.id, "move_delta": delta})
    if row is None:
        raise DomainError("out_of_stock", _l("Not enough of %(name)s in stock.", name=item.name))
    if record:
        session.add(StockMovement(item_id=item.id, delta=delta, reason=reason, note=note[:500], stock_after=row[0],
                                  actor_id=actor.id if actor else None, created_at=now))
    return row[0]


def _require_stock_keeper(actor: User) -> None:
    access.require_role(actor, "clerk", "coordinator")


def adjust_stock(session: Session, actor: User, item_id: int, delta: int, reason: str, note: str,
                 *, now: datetime | None = None) -> StockMovement:
    """Restock (+), damaged (-) or a correction (either way), with a required note; audited.
    Clerks keep stock as well as coordinators."""
    _require_stock_keeper(actor)
    if reason not in ("restock", "damage", "correction"):
        raise FieldError("reason", _l("Choose restock, damaged or correction."))
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0 or abs(delta) > 1_000_000:
        raise FieldError("delta", _l("Enter a whole number other than 0."))
    if reason == "restock" and delta < 0 or reason == "damage" and delta > 0:
        delta = -delta if reason == "damage" else abs(delta)
    note = (note or "").strip()
    if not note:
        raise FieldError("note", _l("Please give a reason."))
    item = get_item(session, actor, item_id)
    now = now or timeutil.utcnow()
    after = _move_stock(session, item, delta, reason, note, actor, now)
    audit.record(session, actor, f"store.stock_{reason}", "store_item", item.id, delta=delta, note=note,
                 stock_after=after)
    session.flush()
    return session.exec(select(StockMovement).where(StockMovement.item_id == item.id)
                        .order_by(StockMovement.id.desc())).first()


def change_stock(session: Session, actor: User, item_id: int, change: int, reason: str,
                 *, now: datetime | None = None) -> StoreItem:
    """Goods received (``change`` > 0) or a count corrected (< 0), with the reason in words;
    ``out_of_stock`` below zero. The API's stock call."""
    kind = "restock" if isinstance(change, int) and change > 0 else "correction"
    movement = adjust_stock(session, actor, item_id, change, kind, reason, now=now)
    item = session.get(StoreItem, movement.item_id)
    session.refresh(item)
    return item


def count_stock(session: Session, actor: User, counted: dict[int, int], *,
                now: datetime | None = None) -> list[StockMovement]:
    """Close the day: ``counted`` is what is on the shelf, by item id. Each item whose count
    differs from the stock the system expects gets a ``count`` movement of the difference
    (audited); the others leave no record. Every count is checked before anything is written."""
    _require_stock_keeper(actor)
    for item_id, number in counted.items():
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 1_000_000:
            raise FieldError(f"count_{item_id}", _l("The stock is a whole number, 0 or more."))
    items = [get_item(session, actor, item_id) for item_id in sorted(counted)]
    now = now or timeutil.utcnow()
    differences = []
    for item in items:
        expected = session.exec(select(StoreItem.stock).where(StoreItem.id == item.id).with_for_update()).one()
        number = counted[item.id]
        if number == expected:
            continue
        _move_stock(session, item, number - expected, "count", "", actor, now)
        audit.record(session, actor, "store.stock_count", "store_item", item.id, expected=expected, counted=number,
                     delta=number - expected)
        session.flush()
        differences.append(session.exec(select(StockMovement).where(StockMovement.item_id == item.id)
                                        .order_by(StockMovement.id.desc())).first())
    return differences


def day_stock_changes(session: Session, actor: User, day: date) -> list[tuple[StockMovement, str, str | None]]:
    """The day's stock changes by hand (goods received, damage, corrections, the day-end count),
    with the item's name and who made them."""
    _require_stock_keeper(actor)
    start, end = _day_bounds(day)
    rows = session.execute(
        select(StockMovement, StoreItem.name, User.display_name)
        .join(StoreItem, StoreItem.id == StockMovement.item_id)
        .outerjoin(User, User.id == StockMovement.actor_id)
        .where(StoreItem.station_id == actor.station_id, StockMovement.reason != "initial",
               StockMovement.created_at >= start, StockMovement.created_at < end)
        .order_by(StockMovement.id)).all()
    return [tuple(row) for row in rows]


def movements(session: Session, actor: User, item_id: int, limit: int = 30) -> list[StockMovement]:
    _require_stock_keeper(actor)
    get_item(session, actor, item_id)
    return list(session.exec(select(StockMovement).where(StockMovement.item_id == item_id)
                             .order_by(StockMovement.id.desc()).limit(limit)))


# -- redemptions ------------------------------------------------------------------------------------

def month_start(now: datetime) -> datetime:
    return period_start("month", now)


def units_this_month(session: Session, user_id: int, item_id: int, now: datetime) -> int:
    """Units of an item a person has redeemed (and not cancelled) in the station-local month."""
    total = session.exec(select(func.coalesce(func.sum(Redemption.quantity), 0)).where(
        Redemption.user_id == user_id, Redemption.item_id == item_id,
        Redemption.status.in_(LIVE_STATUSES), Redemption.created_at >= month_start(now))).one()
    return int(total or 0)


def _check_quantity(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise FieldError("quantity", _l("Enter a quantity from 1 to %(n)s.", n=MAX_QUANTITY))
    return quantity


def _customer(session: Session, actor: User, user_id: int) -> User:
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.status != "active":
        raise DomainError("forbidden", _l("This account is not active."))
    return user


def _take(session: Session, actor: User, user: User, item: StoreItem, quantity: int, *, status: str,
          now: datetime, expires_at: datetime | None = None) -> RedeemResult:
    """Points and stock out for one redemption row; the caller holds the user's lock."""
    if not item.active:
        raise DomainError("not_found", _l("%(name)s is no longer offered.", name=item.name))
    if item.monthly_limit_per_user is not None:
        used = units_this_month(session, user.id, item.id, now)
        if used + quantity > item.monthly_limit_per_user:
            left = max(item.monthly_limit_per_user - used, 0)
            raise DomainError("monthly_limit",
                              _l("Monthly limit for %(name)s: %(left)s more this month.", name=item.name, left=left),
                              remaining=left)
    cost = item.cost * quantity
    if item.kind == "voucher":  # used at the sponsor's: a code on the phone, not the counter
        status, expires_at = "voucher", now + timedelta(days=int(settings.setting("VOUCHER_DAYS")))
    redemption = db.insert_now(session, Redemption(
        station_id=item.station_id, user_id=user.id, item_id=item.id, quantity=quantity, points_spent=cost,
        status=status, created_at=now, expires_at=expires_at, clerk_id=actor.id if status == "fulfilled" else None,
        sponsor_id=item.sponsor_id,
        fulfilled_at=now if status == "fulfilled" else None))
    entry = ledger.post(session, user.id, -cost, "redemption", f"redemption:{redemption.id}",
                        reason=f"{item.name} × {quantity}", actor_id=actor.id, now=now)
    stock_after = _move_stock(session, item, -quantity, "redemption", "", actor, now, record=False)
    if stock_after <= item.low_stock_threshold < stock_after + quantity:
        _flag_low_stock(session, item, stock_after, now)
    if status == "voucher":
        session.add(Voucher(station_id=item.station_id, redemption_id=redemption.id, sponsor_id=item.sponsor_id,
                            number=f"{secrets.randbelow(10 ** VOUCHER_DIGITS):0{VOUCHER_DIGITS}d}", created_at=now,
                            expires_at=expires_at))
        session.flush()
    return RedeemResult(redemption, entry.balance_after, stock_after)


def _flag_low_stock(session: Session, item: StoreItem, stock: int, now: datetime) -> None:
    """Tell the station's coordinators once, when a redemption takes the stock down to its
    threshold (the conditional UPDATE makes exactly one redemption cross it)."""
    staff = session.exec(select(User.id).where(
        User.station_id == item.station_id, User.status == "active",
        User.roles.like("%coordinator%") | User.roles.like("%admin%")))
    for user_id in staff:
        notices.notify(session, user_id, "store_low_stock", _l("Low stock: %(name)s", name=item.name),
                       _l("%(n)s left. Restock it in the store's catalog.", n=stock), f"/store/manage/{item.id}",
                       now=now)
    from ..schemas.common import Attrs
    from ..schemas.store import ItemOut
    outbox.emit(session, item.station_id, "store.low_stock",
                lambda: outbox.dump(ItemOut, Attrs(item, stock=stock, low_stock=True, picture_url=None)), now=now)


#: The volunteer's row locked (as ``ledger.lock_user``) and the item, in one round trip.
_LOCK_WITH_ITEM = (select(User, StoreItem).join(StoreItem, true())
                   .where(User.id == bindparam("user_id"), StoreItem.id == bindparam("item_id"))
                   .with_for_update(of=User).execution_options(populate_existing=True))


def redeem(session: Session, clerk: User, *, item_id: int, user_id: int | None = None,
           member_code: str | None = None, quantity: int = 1, now: datetime | None = None) -> RedeemResult:
    """Hand ``quantity`` of an item to a volunteer at the counter.

    The volunteer is named by the member card code they show (``member_code``; the step is then
    this clerk's for the visit) or by ``user_id`` (a visit already identified). Refusals:
    ``forbidden`` (not a clerk), ``invalid_code``/``expired_code``, ``monthly_limit``,
    ``insufficient_points``, ``out_of_stock``; nothing is written then.
    """
    access.require_role(clerk, "clerk")
    now = now or timeutil.utcnow()
    quantity = _check_quantity(quantity)
    if member_code:
        user_id = codes.read_member_code(session, member_code, used_by=clerk.id, now=now)
    if not user_id:
        raise FieldError("member_code", _l("Scan the member card or give the user id."))
    in_range = 0 < user_id <= MAX_ID and 0 < item_id <= MAX_ID  # a larger id names no row
    row = session.exec(_LOCK_WITH_ITEM, params={"user_id": user_id, "item_id": item_id}).first() if in_range else None
    if row is None:  # say which one is missing
        get_item(session, clerk, item_id)
        ledger.lock_user(session, user_id)
    user, item = row
    if item.station_id != clerk.station_id:
        raise DomainError("not_found", _l("No such item."))
    if user.station_id != clerk.station_id:
        raise DomainError("not_found", _l("No such user."))
    if user.status != "active":
        raise DomainError("forbidden", _l("This account is not active."))
    # The redemption row itself (with its clerk) and the ledger entry are the record of it.
    return _take(session, clerk, user, item, quantity, status="fulfilled", now=now)


#: Under this name the counter's baskets are remembered (their receipts), per clerk.
BASKET_ENDPOINT = "pages.counter_redeem"
#: The most lines one basket takes.
BASKET_LINES = 50


def redeem_basket(session: Session, clerk: User, *, user_id: int, basket: list[tuple[int, int]], client_ref: str,
                  now: datetime | None = None) -> dict:
    """Hand a volunteer every line of a basket, ``(item id, quantity)``, at once: all of them or,
    on any refusal (as :func:`redeem`), none. The receipt, ``{"ids": [...], "user_id": ...}``, is
    kept under ``client_ref``: a second tap with it redeems nothing and gets the first receipt."""
    access.require_role(clerk, "clerk")
    earlier = idempotency.lookup_data(session, clerk.id, BASKET_ENDPOINT, client_ref)
    if earlier is not None:
        return earlier
    now = now or timeutil.utcnow()
    ids = [redeem(session, clerk, item_id=item_id, user_id=user_id, quantity=quantity, now=now).redemption.id
           for item_id, quantity in basket[:BASKET_LINES]]
    receipt = {"ids": ids, "user_id": user_id}
    idempotency.remember(session, clerk.id, BASKET_ENDPOINT, client_ref, receipt)
    return receipt


def basket_receipt(session: Session, clerk: User, client_ref: str) -> tuple[dict, datetime] | None:
    """A basket's receipt and when it was made, for the clerk who made it."""
    access.require_role(clerk, "clerk")
    row = idempotency.find(session, clerk.id, BASKET_ENDPOINT, client_ref)
    return (json.loads(row.response), row.created_at) if row is not None else None


def identify(session: Session, clerk: User, member_code: str, *, now: datetime | None = None) -> User:
    """The volunteer a scanned member card names (the step becomes this clerk's visit)."""
    access.require_role(clerk, "clerk")
    user_id = codes.read_member_code(session, member_code, used_by=clerk.id, now=now or timeutil.utcnow())
    return _customer(session, clerk, user_id)


def visit_customer(session: Session, clerk: User, user_id: int) -> User:
    access.require_role(clerk, "clerk")
    return _customer(session, clerk, user_id)


def visit_customer_or_none(session: Session, clerk: User, user_id: int) -> User | None:
    """:func:`visit_customer`, or ``None`` when the visit cannot go on (the person is gone or no
    longer active, the clerk no longer a clerk)."""
    try:
        return visit_customer(session, clerk, user_id)
    except DomainError:
        return None


def balance_and_stock(session: Session, redemption: Redemption) -> tuple[int, int]:
    """The customer's balance and the item's stock as they stand now."""
    return session.get(User, redemption.user_id).balance, session.get(StoreItem, redemption.item_id).stock


def get_redemption(session: Session, actor: User, redemption_id: int) -> Redemption:
    redemption = access.get_in_station(session, Redemption, redemption_id, actor, _l("No such redemption."))
    if redemption.user_id != actor.id and not actor.has_role("clerk", "coordinator"):
        access.forbid(_l("You may only see your own data."))
    return redemption


def cancel(session: Session, clerk: User, redemption_id: int, reason: str = "",
           *, now: datetime | None = None) -> Redemption:
    """Undo a mistaken redemption: points refunded (a ``refund`` entry), stock restored, audited.
    A second cancel is ``already_cancelled``."""
    access.require_role(clerk, "clerk")
    redemption = access.get_in_station(session, Redemption, redemption_id, clerk, _l("No such redemption."))
    return _give_back(session, clerk, redemption, "cancelled", (reason or "").strip(), now or timeutil.utcnow())


def give_back(session: Session, actor: User | None, redemption: Redemption, status: str, reason: str,
              now: datetime) -> Redemption:
    """Points refunded and stock restored for a live redemption, which becomes ``status``
    (``cancelled`` or ``lapsed``); ``already_cancelled`` when it is no longer live."""
    return _give_back(session, actor, redemption, status, reason, now)


def _give_back(session: Session, actor: User | None, redemption: Redemption, status: str, reason: str,
               now: datetime) -> Redemption:
    ledger.lock_user(session, redemption.user_id)
    result = session.execute(
        update(Redemption).where(Redemption.id == redemption.id, Redemption.status.in_(LIVE_STATUSES))
        .values(status=status, cancel_reason=reason[:500], cancelled_at=now,
                cancelled_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError("already_cancelled", _l("This redemption has already been cancelled."))
    session.refresh(redemption)
    item = session.get(StoreItem, redemption.item_id)
    kind_ref = "refund" if status == "cancelled" else "lapse"
    ledger.post(session, redemption.user_id, redemption.points_spent, "refund",
                f"{kind_ref}:redemption:{redemption.id}", reason=reason or f"{item.name} × {redemption.quantity}",
                actor_id=actor.id if actor else None, now=now, refunds=f"redemption:{redemption.id}")
    _move_stock(session, item, redemption.quantity, "cancel", reason, actor, now, record=False)
    audit.record(session, actor, f"store.redemption_{status}", "redemption", redemption.id,
                 station_id=redemption.station_id, user_id=redemption.user_id, item_id=item.id,
                 quantity=redemption.quantity, points=redemption.points_spent, reason=reason)
    session.flush()
    return redemption


def user_redemptions(session: Session, actor: User, user_id: int, *, limit: int = 50) -> list[tuple[Redemption, StoreItem]]:
    target = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if actor.id != target.id and not actor.has_role("clerk"):
        access.require_view_user(session, actor, target)
    return list(session.exec(select(Redemption, StoreItem).join(StoreItem, StoreItem.id == Redemption.item_id)
                             .where(Redemption.user_id == user_id).order_by(Redemption.id.desc()).limit(limit)))


# -- reservations -----------------------------------------------------------------------------------

def reserve(session: Session, user: User, item_id: int, quantity: int = 1, *, days: int = RESERVATION_DAYS,
            now: datetime | None = None) -> RedeemResult:
    """A volunteer holds an item online: points and stock are taken now; a clerk hands it over
    (:func:`fulfil_reservation`) or it lapses after ``days`` with everything given back."""
    now = now or timeutil.utcnow()
    quantity = _check_quantity(quantity)
    item = get_item(session, user, item_id)
    locked = ledger.lock_user(session, user.id)
    if locked.status != "active":
        raise DomainError("forbidden", _l("This account is not active."))
    result = _take(session, user, locked, item, quantity, status="reserved", now=now,
                   expires_at=now + timedelta(days=days))
    return result


def fulfil_reservation(session: Session, clerk: User, redemption_id: int, user_id: int | None = None,
                       *, now: datetime | None = None) -> Redemption:
    """Hand over a reserved item; ``user_id`` (the visit's volunteer) must match when given."""
    access.require_role(clerk, "clerk")
    now = now or timeutil.utcnow()
    redemption = access.get_in_station(session, Redemption, redemption_id, clerk, _l("No such redemption."))
    if user_id is not None and redemption.user_id != user_id:
        raise DomainError("forbidden", _l("This reservation belongs to someone else."))
    result = session.execute(
        update(Redemption).where(Redemption.id == redemption.id, Redemption.status == "reserved",
                                 Redemption.expires_at > now)
        .values(status="fulfilled", clerk_id=clerk.id, fulfilled_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError("already_cancelled", _l("This reservation is no longer open."))
    session.refresh(redemption)
    audit.record(session, clerk, "store.reservation_fulfil", "redemption", redemption.id, user_id=redemption.user_id)
    return redemption


def open_reservations(session: Session, actor: User, user_id: int, now: datetime | None = None) -> list[tuple[Redemption, StoreItem]]:
    now = now or timeutil.utcnow()
    return list(session.exec(select(Redemption, StoreItem).join(StoreItem, StoreItem.id == Redemption.item_id).where(
        Redemption.user_id == user_id, Redemption.station_id == actor.station_id, Redemption.status == "reserved",
        Redemption.expires_at > now).order_by(Redemption.id)))


def lapse_reservations(session: Session, *, station_id: int | None = None, now: datetime | None = None) -> int:
    """Give back points and stock of every reservation past its day (of one station, or all);
    returns how many lapsed."""
    now = now or timeutil.utcnow()
    stmt = select(Redemption.id).where(Redemption.status == "reserved", Redemption.expires_at <= now)
    if station_id is not None:
        stmt = stmt.where(Redemption.station_id == station_id)
    ids = list(session.exec(stmt))
    count = 0
    for redemption_id in ids:
        redemption = session.get(Redemption, redemption_id)
        try:
            with session.begin_nested():
                _give_back(session, None, redemption, "lapsed", "", now)
            count += 1
        except DomainError:
            continue  # fulfilled or cancelled meanwhile
    return count


# -- the day at the counter -------------------------------------------------------------------------

def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def today(now: datetime | None = None) -> date:
    return local(now or timeutil.utcnow()).date()


def _counter_time():
    """When a redemption counts for the counter's day: when it was handed over (a reservation
    fulfilled later counts on that day), else when it was made."""
    return func.coalesce(Redemption.fulfilled_at, Redemption.created_at)


def day_redemptions(session: Session, actor: User, day: date) -> list[tuple[Redemption, StoreItem, User, User | None]]:
    access.require_role(actor, "clerk", "coordinator")
    start, end = _day_bounds(day)
    customer = User.__table__.alias("customer")
    clerk = User.__table__.alias("clerk")
    rows = session.execute(
        select(Redemption, StoreItem, customer.c.display_name, clerk.c.display_name)
        .join(StoreItem, StoreItem.id == Redemption.item_id)
        .join(customer, customer.c.id == Redemption.user_id)
        .outerjoin(clerk, clerk.c.id == Redemption.clerk_id)
        .where(Redemption.station_id == actor.station_id, _counter_time() >= start, _counter_time() < end)
        .order_by(Redemption.id.desc())).all()
    return [tuple(row) for row in rows]


def day_summary(session: Session, actor: User, day: date) -> dict:
    """Per clerk: items handed out (by name), units and points taken; cancellations apart."""
    rows = day_redemptions(session, actor, day)
    clerks: dict = {}
    totals = {"units": 0, "points": 0, "redemptions": 0, "cancelled": 0}
    for redemption, item, _customer_name, clerk_name in rows:
        if redemption.status == "cancelled":
            totals["cancelled"] += 1
            continue
        if redemption.status != "fulfilled":
            continue
        entry = clerks.setdefault(redemption.clerk_id, {"clerk_id": redemption.clerk_id, "clerk": clerk_name or "",
                                                       "units": 0, "points": 0, "redemptions": 0, "items": {}})
        entry["units"] += redemption.quantity
        entry["points"] += redemption.points_spent
        entry["redemptions"] += 1
        entry["items"][item.name] = entry["items"].get(item.name, 0) + redemption.quantity
        totals["units"] += redemption.quantity
        totals["points"] += redemption.points_spent
        totals["redemptions"] += 1
    return {"day": day.isoformat(), "clerks": sorted(clerks.values(), key=lambda c: -c["points"]), "totals": totals}


CSV_HEADER = (_l("Redemption id"), _l("Time"), _l("User id"), _l("Volunteer"), _l("Item"), _l("Quantity"),
              _l("Points"), _l("Status"), _l("Clerk"), _l("Cancel reason"))


def export_csv(session: Session, actor: User, since: date, until: date) -> Iterator[str]:
    """The redemptions of station-local days ``since``..``until`` as CSV text chunks
    (``csv_export``: a BOM first, so that Excel shows the Chinese)."""
    access.require_role(actor, "clerk", "coordinator")
    if until < since:
        raise FieldError("until", _l("The end date is before the start date."))
    if (until - since).days > 366:
        raise FieldError("until", _l("Export at most one year at a time."))
    start, end = local_midnight(since), local_midnight(until + timedelta(days=1))
    customer = User.__table__.alias("customer")
    clerk = User.__table__.alias("clerk")
    stmt = (select(Redemption, StoreItem.name, customer.c.display_name, clerk.c.display_name)
            .join(StoreItem, StoreItem.id == Redemption.item_id)
            .join(customer, customer.c.id == Redemption.user_id)
            .outerjoin(clerk, clerk.c.id == Redemption.clerk_id)
            .where(Redemption.station_id == actor.station_id, _counter_time() >= start, _counter_time() < end)
            .order_by(Redemption.id))
    rows = session.execute(stmt).all()  # read now, inside the request's session
    return csv_stream(CSV_HEADER, coded=(7,), rows=(
        (redemption.id, redemption.fulfilled_at or redemption.created_at, redemption.user_id, customer_name,
         item_name, redemption.quantity, redemption.points_spent, redemption.status, clerk_name,
         redemption.cancel_reason)
        for redemption, item_name, customer_name, clerk_name in rows))


# -- pictures ---------------------------------------------------------------------------------------

def process_picture(data: bytes) -> bytes:
    """A JPEG of at most PICTURE_SIZE px a side from an uploaded JPEG or PNG (``services.images``)."""
    return images.reencode(data, max_side=PICTURE_SIZE, keep_png=False, quality=82).data


def set_picture(session: Session, actor: User, item_id: int, data: bytes, folder: str | Path) -> StoreItem:
    """Store a new picture for an item under ``folder`` (the instance folder); audited."""
    _require_manager(actor)
    item = get_item(session, actor, item_id)
    jpeg = process_picture(data)
    directory = Path(folder) / PICTURE_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{item.id}-{secrets.token_hex(8)}.jpg"
    tmp = directory / (name + ".part")
    tmp.write_bytes(jpeg)
    tmp.replace(directory / name)
    old = item.picture
    item.picture = name
    item.updated_at = timeutil.utcnow()
    session.add(item)
    audit.record(session, actor, "store.item_picture", "store_item", item.id, picture=name, previous=old)
    session.flush()
    return item


def picture_path(folder: str | Path, name: str) -> Path | None:
    """The stored file for a picture name, or None (names are ours: ``<id>-<hex>.jpg``)."""
    if not name or "/" in name or "\\" in name or not name.endswith(".jpg") or name.startswith("."):
        return None
    path = Path(folder) / PICTURE_DIR / name
    return path if path.is_file() else None


# -- integrity --------------------------------------------------------------------------------------

def check_integrity(session: Session) -> list[str]:
    """No stock is negative; every stock equals its movements (opening stock, restocks, damage,
    corrections) less the units of live redemptions; no redemption lacks its ledger entry."""
    problems = []
    moved = (select(StockMovement.item_id, func.sum(StockMovement.delta).label("total"))
             .group_by(StockMovement.item_id).subquery())
    taken = (select(Redemption.item_id, func.sum(Redemption.quantity).label("units"))
             .where(Redemption.status.in_(LIVE_STATUSES)).group_by(Redemption.item_id).subquery())
    for item_id, name, stock, total, units in session.execute(
            select(StoreItem.id, StoreItem.name, StoreItem.stock, moved.c.total, taken.c.units)
            .outerjoin(moved, moved.c.item_id == StoreItem.id).outerjoin(taken, taken.c.item_id == StoreItem.id)):
        expected = (total or 0) - (units or 0)
        if stock < 0:
            problems.append(f"store item {item_id} ({name}): negative stock {stock}")
        if stock != expected:
            problems.append(f"store item {item_id} ({name}): stock {stock} != movements less redeemed units "
                            f"{expected}")
    from ..models import LedgerEntry
    missing = session.exec(
        select(func.count()).select_from(Redemption).where(
            ~select(LedgerEntry.id).where(
                LedgerEntry.ref == literal("redemption:").concat(cast(Redemption.id, String))).exists())
    ).one()
    if missing:
        problems.append(f"{missing} redemption(s) without their ledger entry")
    return problems


# -- demo -------------------------------------------------------------------------------------------

DEMO_ITEMS = [
    # name, description, cost, stock, monthly limit
    ("肥皂", "洗衣皂一块", 5, 60, None),
    ("水杯", "平安志愿者保温杯", 10, 25, 2),
    ("帽子", "红色志愿者遮阳帽", 15, 20, 1),
    ("手电筒", "夜巡用强光手电", 30, 2, 1),
    ("雨伞", "折叠雨伞", 40, 8, 1),
]


def seed_demo(session: Session, coordinator: User, volunteers: list[User]) -> list[StoreItem]:
    """A few items with stock, and an opening balance for the demo volunteers (deterministic)."""
    items = [create_item(session, coordinator, name=name, description=description, cost=cost, stock=stock,
                         monthly_limit_per_user=limit) for name, description, cost, stock, limit in DEMO_ITEMS]
    for number, volunteer in enumerate(volunteers):
        ledger.post(session, volunteer.id, 20 + (number * 17) % 90, "adjustment", f"demo-opening:{volunteer.id}",
                    reason="演示：期初积分", actor_id=coordinator.id)
    return items
