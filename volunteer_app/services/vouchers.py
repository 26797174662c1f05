"""Vouchers used at a sponsor's (a haircut, a meal, a ticket): redeeming a voucher item issues a
one-time number (and its QR code) on the volunteer's phone (``store``); the sponsor takes it on
a phone page of its own, reached by a signed link, exactly once; a voucher not used within
``VOUCHER_DAYS`` lapses and its points and stock are given back (by the daily sweep).

Taking a voucher is one conditional UPDATE (``status = 'voucher'`` and not expired), so of two
sponsors' phones taking the same number at once exactly one succeeds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, select

from .. import timeutil
from ..errors import DomainError
from ..models import Redemption, Sponsor, StoreItem, User, Voucher
from . import access, audit, codes, store


@dataclass
class VoucherView:
    voucher: Voucher
    redemption: Redemption
    item: StoreItem
    sponsor_name: str


def _view(session: Session, voucher: Voucher) -> VoucherView:
    redemption = session.get(Redemption, voucher.redemption_id)
    sponsor = session.get(Sponsor, voucher.sponsor_id)
    return VoucherView(voucher, redemption, session.get(StoreItem, redemption.item_id), sponsor.name)


def issue(session: Session, user: User, item_id: int, *, now: datetime | None = None) -> VoucherView:
    """A volunteer takes a voucher item for themselves: points and stock now, a number to show."""
    item = store.get_item(session, user, item_id)
    if item.kind != "voucher":
        raise DomainError("not_found", _l("%(name)s is not a voucher.", name=item.name))
    result = store.reserve(session, user, item_id, 1, now=now)
    return _view(session, session.exec(select(Voucher).where(Voucher.redemption_id == result.redemption.id)).one())


def mine(session: Session, user: User, redemption_id: int) -> VoucherView:
    """One of the user's own vouchers (anyone else's is ``not_found``)."""
    voucher = session.exec(select(Voucher).where(Voucher.redemption_id == redemption_id)).first() \
        if isinstance(redemption_id, int) else None
    if voucher is None or voucher.station_id != user.station_id or \
            session.get(Redemption, voucher.redemption_id).user_id != user.id:
        raise DomainError("not_found", _l("No such voucher."))
    return _view(session, voucher)


def my_vouchers(session: Session, user: User, limit: int = 50) -> list[VoucherView]:
    rows = session.exec(select(Voucher).join(Redemption, Redemption.id == Voucher.redemption_id)
                        .where(Redemption.user_id == user.id).order_by(Voucher.id.desc()).limit(limit))
    return [_view(session, voucher) for voucher in rows]


def link_token(session: Session, actor: User, sponsor_id: int) -> str:
    """The signed link's token for a sponsor's voucher page (clerks and coordinators)."""
    access.require_role(actor, "clerk", "coordinator")
    sponsor = access.get_in_station(session, Sponsor, sponsor_id, actor, _l("No such sponsor."))
    return codes.sponsor_token(sponsor.id, sponsor.link_version)


def new_link(session: Session, actor: User, sponsor_id: int) -> str:
    """A new link for the sponsor; the links given before stop working. Audited."""
    access.require_role(actor, "clerk", "coordinator")
    sponsor = access.get_in_station(session, Sponsor, sponsor_id, actor, _l("No such sponsor."))
    sponsor.link_version += 1
    session.add(sponsor)
    session.flush()
    audit.record(session, actor, "store.sponsor_new_link", "sponsor", sponsor.id, link_version=sponsor.link_version)
    return codes.sponsor_token(sponsor.id, sponsor.link_version)


def sponsor_of(session: Session, token: str) -> Sponsor:
    """The sponsor a link names, while the link is the current one; else ``invalid_code``."""
    sponsor_id, version = codes.read_sponsor_token(token)
    sponsor = session.get(Sponsor, sponsor_id)
    if sponsor is None or not sponsor.active or sponsor.link_version != version:
        raise DomainError("invalid_code", _l("This link is not valid. Ask the station for a new one."))
    return sponsor


def normalise(number: str) -> str | None:
    """The voucher number without spaces or dashes, when it is one (ASCII digits only)."""
    digits = "".join((number or "").split()).replace("-", "")
    return digits if len(digits) == store.VOUCHER_DIGITS and digits.isascii() and digits.isdigit() else None


def take(session: Session, token: str, number: str, *, now: datetime | None = None) -> VoucherView:
    """The sponsor takes a voucher: ``invalid_code`` (no such number at this sponsor's),
    ``expired_code`` (past its day, or lapsed), ``voucher_used`` (taken before, or cancelled)."""
    sponsor = sponsor_of(session, token)
    now = now or timeutil.utcnow()
    digits = normalise(number)
    voucher = session.exec(select(Voucher).where(Voucher.number == digits, Voucher.sponsor_id == sponsor.id)).first() \
        if digits else None
    if voucher is None:
        raise DomainError("invalid_code", _l("No voucher has this number here. Check the digits."))
    result = session.execute(
        update(Redemption).where(Redemption.id == voucher.redemption_id, Redemption.status == "voucher",
                                 Redemption.expires_at > now)
        .values(status="fulfilled", fulfilled_at=now).execution_options(synchronize_session=False))
    redemption = session.get(Redemption, voucher.redemption_id)
    session.refresh(redemption)
    if result.rowcount != 1:
        if redemption.status == "lapsed" or (redemption.status == "voucher" and redemption.expires_at <= now):
            raise DomainError("expired_code", _l("This voucher has expired."))
        raise DomainError("voucher_used", _l("This voucher has already been used."))
    voucher.used_at = now
    session.add(voucher)
    session.flush()
    audit.record(session, None, "store.voucher_used", "redemption", redemption.id, station_id=voucher.station_id,
                 sponsor_id=sponsor.id, user_id=redemption.user_id)
    return _view(session, voucher)


def lapse_unused(session: Session, *, station_id: int | None = None, now: datetime | None = None) -> int:
    """Give back points and stock of every voucher past its day (of one station, or all);
    returns how many lapsed."""
    now = now or timeutil.utcnow()
    stmt = select(Redemption.id).where(Redemption.status == "voucher", Redemption.expires_at <= now)
    if station_id is not None:
        stmt = stmt.where(Redemption.station_id == station_id)
    ids = list(session.exec(stmt))
    count = 0
    for redemption_id in ids:
        try:
            with session.begin_nested():
                store.give_back(session, None, session.get(Redemption, redemption_id), "lapsed", "", now)
            count += 1
        except DomainError:
            continue  # used or cancelled meanwhile
    return count
