"""The store's sponsors (爱心商家, the community, the station, a person): the goods received from
each (raising the stock, shown on the item as "由 XX 提供"), and their report: what they gave
and what volunteers redeemed of it, by month, printable as a thank-you letter."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from .. import timeutil
from ..errors import DomainError, FieldError
from ..models import SPONSOR_KINDS, Redemption, Sponsor, SponsorGift, Station, StockMovement, StoreItem, User
from . import access, audit, store

EDITABLE_FIELDS = ("name", "contact", "kind", "active")


def _require_keeper(actor: User) -> None:
    access.require_role(actor, "clerk", "coordinator")


def _check_fields(fields: dict) -> dict:
    out = {}
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name or len(name) > 100:
            raise FieldError("name", _l("Enter a name of 1 to 100 characters."))
        out["name"] = name
    if "contact" in fields:
        contact = (fields["contact"] or "").strip()
        if len(contact) > 200:
            raise FieldError("contact", _l("At most 200 characters."))
        out["contact"] = contact
    if "kind" in fields:
        if fields["kind"] not in SPONSOR_KINDS:
            raise FieldError("kind", _l("Choose business, community, station or person."))
        out["kind"] = fields["kind"]
    if "active" in fields:
        out["active"] = bool(fields["active"])
    return out


def create(session: Session, actor: User, *, name: str, contact: str | None = None, kind: str = "business",
           now: datetime | None = None) -> Sponsor:
    _require_keeper(actor)
    fields = _check_fields({"name": name, "contact": contact or "", "kind": kind})
    sponsor = Sponsor(station_id=actor.station_id, created_at=now or timeutil.utcnow(), **fields)
    session.add(sponsor)
    session.flush()
    audit.record(session, actor, "store.sponsor_create", "sponsor", sponsor.id, name=sponsor.name, kind=sponsor.kind)
    return sponsor


def update(session: Session, actor: User, sponsor_id: int, **changes) -> Sponsor:
    _require_keeper(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise FieldError(sorted(unknown)[0], _l("Unknown field."))
    sponsor = get(session, actor, sponsor_id)
    fields = _check_fields(changes)
    before = {name: getattr(sponsor, name) for name in fields}
    for name, value in fields.items():
        setattr(sponsor, name, value)
    session.add(sponsor)
    session.flush()
    audit.record(session, actor, "store.sponsor_update", "sponsor", sponsor.id,
                 changes={name: [before[name], value] for name, value in fields.items()})
    return sponsor


def get(session: Session, actor: User, sponsor_id: int) -> Sponsor:
    return access.get_in_station(session, Sponsor, sponsor_id, actor, _l("No such sponsor."))


def list_sponsors(session: Session, actor: User) -> list[Sponsor]:
    _require_keeper(actor)
    return list(session.exec(select(Sponsor).where(Sponsor.station_id == actor.station_id)
                             .order_by(Sponsor.active.desc(), Sponsor.name, Sponsor.id)))


def names(session: Session, station_id: int) -> dict[int, str]:
    """Sponsor id -> name, for showing "由 XX 提供" on a list of items."""
    return dict(session.exec(select(Sponsor.id, Sponsor.name).where(Sponsor.station_id == station_id)).all())


def name_of(session: Session, sponsor_id: int | None) -> str | None:
    sponsor = session.get(Sponsor, sponsor_id) if sponsor_id else None
    return sponsor.name if sponsor is not None else None


def stock_after(session: Session, gift: SponsorGift) -> int:
    """The item's stock right after the gift was received."""
    return session.get(StockMovement, gift.movement_id).stock_after


def receive(session: Session, actor: User, sponsor_id: int, *, item_id: int, quantity: int,
            received_on: date | None = None, value: int | None = None, note: str = "",
            now: datetime | None = None) -> SponsorGift:
    """Goods received from a sponsor: the item's stock rises (a restock, audited), the item
    shows the sponsor from now on. ``received_on`` is not in the future; ``value`` in yuan."""
    _require_keeper(actor)
    sponsor = get(session, actor, sponsor_id)
    if not sponsor.active:
        raise DomainError("not_found", _l("No such sponsor."))
    if not isinstance(item_id, int) or item_id <= 0:
        raise FieldError("item_id", _l("Choose an item."))
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 100_000:
        raise FieldError("quantity", _l("Enter a quantity from 1 to %(n)s.", n=100_000))
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000_000):
        raise FieldError("value", _l("Enter the value in yuan, a whole number, or leave it empty."))
    now = now or timeutil.utcnow()
    received_on = received_on or store.today(now)
    if received_on > store.today(now):
        raise FieldError("received_on", _l("The day cannot be in the future."))
    note = (note or "").strip()[:500]
    movement = store.adjust_stock(session, actor, item_id, quantity, "restock",
                                  note or str(_l("Given by %(name)s", name=sponsor.name)), now=now)
    item = session.get(StoreItem, item_id)
    item.sponsor_id = sponsor.id
    session.add(item)
    gift = SponsorGift(station_id=sponsor.station_id, sponsor_id=sponsor.id, item_id=item_id, quantity=quantity,
                       received_on=received_on, value=value, note=note, movement_id=movement.id, actor_id=actor.id,
                       created_at=now)
    session.add(gift)
    session.flush()
    audit.record(session, actor, "store.sponsor_gift", "sponsor", sponsor.id, item_id=item_id, quantity=quantity,
                 value=value, received_on=received_on.isoformat())
    return gift


def gifts(session: Session, actor: User, sponsor_id: int, limit: int = 100) -> list[tuple[SponsorGift, str]]:
    """A sponsor's gifts with the item's name, newest first."""
    get(session, actor, sponsor_id)
    _require_keeper(actor)
    return [tuple(row) for row in session.execute(
        select(SponsorGift, StoreItem.name).join(StoreItem, StoreItem.id == SponsorGift.item_id)
        .where(SponsorGift.sponsor_id == sponsor_id)
        .order_by(SponsorGift.received_on.desc(), SponsorGift.id.desc()).limit(limit)).all()]


@dataclass
class Month:
    month: str  # "2026-11"
    given_units: int = 0
    given_value: int = 0
    redeemed_units: int = 0
    redeemed_points: int = 0
    volunteers: int = 0


@dataclass
class Report:
    sponsor: Sponsor
    since: date
    until: date
    months: list[Month] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    given_units: int = 0
    given_value: int = 0
    redeemed_units: int = 0
    redeemed_points: int = 0
    volunteers: int = 0


def report(session: Session, actor: User, sponsor_id: int, since: date, until: date) -> Report:
    """What the sponsor gave (units, value where known) and what volunteers redeemed of it
    (units, points, people; redemptions not cancelled), by station-local month."""
    _require_keeper(actor)
    sponsor = get(session, actor, sponsor_id)
    if until < since:
        raise FieldError("until", _l("The end date is before the start date."))
    if (until - since).days > 3 * 366:
        raise FieldError("until", _l("At most three years at a time."))
    months: dict[str, Month] = {}
    items: dict[str, dict] = {}

    def month_of(key: str) -> Month:
        return months.setdefault(key, Month(key))

    for gift, item_name in session.execute(
            select(SponsorGift, StoreItem.name).join(StoreItem, StoreItem.id == SponsorGift.item_id)
            .where(SponsorGift.sponsor_id == sponsor.id, SponsorGift.received_on >= since,
                   SponsorGift.received_on <= until)).all():
        entry = month_of(gift.received_on.strftime("%Y-%m"))
        entry.given_units += gift.quantity
        entry.given_value += gift.value or 0
        line = items.setdefault(item_name, {"name": item_name, "given": 0, "redeemed": 0})
        line["given"] += gift.quantity
    start, end = timeutil.local_midnight(since), timeutil.local_midnight(until + timedelta(days=1))
    people: dict[str, set] = {}
    for redemption, item_name in session.execute(
            select(Redemption, StoreItem.name).join(StoreItem, StoreItem.id == Redemption.item_id)
            .where(Redemption.sponsor_id == sponsor.id, Redemption.status.in_(("fulfilled", "voucher")),
                   Redemption.created_at >= start, Redemption.created_at < end)).all():
        key = timeutil.local(redemption.created_at).strftime("%Y-%m")
        entry = month_of(key)
        entry.redeemed_units += redemption.quantity
        entry.redeemed_points += redemption.points_spent
        people.setdefault(key, set()).add(redemption.user_id)
        line = items.setdefault(item_name, {"name": item_name, "given": 0, "redeemed": 0})
        line["redeemed"] += redemption.quantity
    for key, users in people.items():
        months[key].volunteers = len(users)
    result = Report(sponsor, since, until, [months[key] for key in sorted(months)],
                    sorted(items.values(), key=lambda line: line["name"]))
    for entry in result.months:
        result.given_units += entry.given_units
        result.given_value += entry.given_value
        result.redeemed_units += entry.redeemed_units
        result.redeemed_points += entry.redeemed_points
    result.volunteers = len(set().union(*people.values())) if people else 0
    return result


def station_name(session: Session, actor: User) -> str:
    station = session.get(Station, actor.station_id)
    return station.name if station is not None else ""


def letter_wording(result: Report, year: int, station: str, written: date) -> dict:
    """The words of a thank-you letter (感谢信): a formal document in Chinese whatever the
    language of the screen, as the certificates are."""
    sponsor = result.sponsor
    given = f"{year}年，贵方共向我所平安志愿者积分超市捐赠物品 {result.given_units} 件"
    given += f"（价值约 {result.given_value} 元）" if result.given_value else ""
    redeemed = (f"其中 {result.redeemed_units} 件已由 {result.volunteers} 名平安志愿者以积分兑换，"
                f"合计 {result.redeemed_points} 积分。") if result.redeemed_units else "。"
    return {
        "heading": "感谢信",
        "salutation": f"{sponsor.name}：",
        "body": given + ("，" if result.redeemed_units else "") + redeemed,
        "meaning": "您的爱心让每一次巡逻、每一份守护都得到回报，为辖区平安建设注入了温暖的力量。",
        "closing": "谨此致以诚挚的感谢！",
        "station": station,
        "date": f"{written.year}年{written.month}月{written.day}日",
    }
