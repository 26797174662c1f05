"""The store's sponsors for clerks and coordinators: the list, goods received, the report and
its A4 thank-you letter."""
from __future__ import annotations

from datetime import date

import base64

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import db
from ...errors import DomainError, FieldError
from ...parsing import BadValue, parse_day, parse_id, parse_number
from ...services import qr, sponsors, store, vouchers
from . import bp
from .common import field_errors, flash_and_redirect, role_required, unit_of_work

KEEPERS = ("clerk", "coordinator")


def _kinds() -> list[tuple[str, str]]:
    return [("business", _("Business")), ("community", _("Community")), ("station", _("Police station")),
            ("person", _("Person"))]


def _list_page(errors: dict | None = None):
    return render_template("pages/sponsors/index.html", sponsors=sponsors.list_sponsors(db.get_session(), current_user),
                           kinds=_kinds(), errors=errors or {}, form=request.form if errors else {}), \
        (422 if errors else 200)


@bp.route("/store/sponsors", methods=["GET", "POST"])
@role_required(*KEEPERS)
@unit_of_work(on_error=lambda error: _list_page(field_errors(error)))
def sponsors_page():
    if request.method == "POST":
        sponsor = sponsors.create(db.get_session(), current_user, name=request.form.get("name", ""),
                                  contact=request.form.get("contact", ""), kind=request.form.get("kind", ""))
        flash(_("Added: %(name)s.", name=sponsor.name), "success")
        return redirect(url_for("pages.sponsor_page", sponsor_id=sponsor.id))
    return _list_page()


def _number(name: str, blank=None):
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return blank
    try:
        return parse_number(raw)
    except BadValue:
        return -1  # refused by the service with the field's message


def _day(name: str) -> date | None:
    raw = (request.form.get(name) or "").strip()
    try:
        return parse_day(raw) if raw else None
    except BadValue:
        raise FieldError(name, _("Enter a date.")) from None


def _sponsor_page(sponsor_id: int, errors: dict | None = None):
    session_db = db.get_session()
    sponsor = sponsors.get(session_db, current_user, sponsor_id)
    link = url_for("pages.sponsor_vouchers", token=vouchers.link_token(session_db, current_user, sponsor.id),
                   _external=True)
    return render_template("pages/sponsors/detail.html", sponsor=sponsor, errors=errors or {}, link=link,
                           link_qr="data:image/png;base64," + base64.b64encode(qr.png(link, box_size=6)).decode(),
                           form=request.form if errors else {},
                           gifts=sponsors.gifts(session_db, current_user, sponsor.id),
                           items=store.list_items(session_db, current_user, include_inactive=False),
                           today=store.today(), year=store.today().year), (422 if errors else 200)


@bp.route("/store/sponsors/<id:sponsor_id>", methods=["GET", "POST"])
@role_required(*KEEPERS)
@unit_of_work(on_error=lambda error, sponsor_id: _sponsor_page(sponsor_id, field_errors(error)))
def sponsor_page(sponsor_id: int):
    """A sponsor: goods received from them (the form raises the item's stock), their report."""
    if request.method == "POST":
        try:
            item_id = parse_id(request.form.get("item_id") or "")
        except BadValue:
            item_id = 0
        gift = sponsors.receive(db.get_session(), current_user, sponsor_id, item_id=item_id,
                                quantity=_number("quantity", 0), received_on=_day("received_on"),
                                value=_number("value"), note=request.form.get("note", ""))
        flash(_("Received: %(n)s more in stock.", n=gift.quantity), "success")
        return redirect(url_for("pages.sponsor_page", sponsor_id=sponsor_id))
    return _sponsor_page(sponsor_id)


@bp.get("/store/sponsors/<id:sponsor_id>/letter")
@role_required(*KEEPERS)
def sponsor_letter(sponsor_id: int):
    """The sponsor's report for a year as a thank-you letter on one A4 page, in Chinese."""
    try:
        year = int(parse_number(request.args.get("year") or str(store.today().year)))
    except BadValue:
        year = store.today().year
    year = min(max(year, 2000), 2100)
    session_db = db.get_session()
    result = sponsors.report(session_db, current_user, sponsor_id, date(year, 1, 1), date(year, 12, 31))
    return render_template("pages/sponsors/letter.html", report=result, year=year,
                           wording=sponsors.letter_wording(result, year, sponsors.station_name(session_db, current_user),
                                                           store.today()))


@bp.post("/store/sponsors/<id:sponsor_id>/link")
@role_required(*KEEPERS)
@unit_of_work(on_error=lambda error, sponsor_id: _sponsor_page(sponsor_id, field_errors(error)))
def sponsor_new_link(sponsor_id: int):
    """A new voucher link for the sponsor; the old one stops working."""
    vouchers.new_link(db.get_session(), current_user, sponsor_id)
    flash(_("A new link was made; the old one no longer works."), "success")
    return redirect(url_for("pages.sponsor_page", sponsor_id=sponsor_id))


# -- vouchers: the volunteer's phone, and the sponsor's own page ------------------------------------

def _qr_data(text: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr.png(text, box_size=8)).decode()


def _spaced(number: str) -> str:
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


@bp.post("/store/items/<id:item_id>/voucher")
@login_required
@unit_of_work(on_error=flash_and_redirect(lambda item_id: url_for("pages.store")))
def voucher_take(item_id: int):
    view = vouchers.issue(db.get_session(), current_user, item_id)
    return redirect(url_for("pages.voucher_page", redemption_id=view.redemption.id))


@bp.get("/store/vouchers/<id:redemption_id>")
@login_required
def voucher_page(redemption_id: int):
    """The voucher on the volunteer's phone: its number and QR code, to show at the sponsor's."""
    view = vouchers.mine(db.get_session(), current_user, redemption_id)
    return render_template("pages/vouchers/mine.html", view=view, number=_spaced(view.voucher.number),
                           qr_data=_qr_data(view.voucher.number))


def _sponsor_vouchers_page(token: str, result=None, error=None, status: int = 200):
    sponsor = vouchers.sponsor_of(db.get_session(), token)
    return render_template("pages/vouchers/sponsor.html", sponsor=sponsor, token=token, result=result, error=error,
                           number=request.form.get("number", "") if error else ""), status


STATUS_OF_REFUSAL = {"voucher_used": 409, "expired_code": 410}


def _take_refused(error: DomainError, token: str):
    """The page again with the refusal (a bad link refuses again here: the error page)."""
    return _sponsor_vouchers_page(token, error=error, status=STATUS_OF_REFUSAL.get(error.code, 400))


@bp.route("/v/<token>", methods=["GET", "POST"])
@unit_of_work(on_error=_take_refused)
def sponsor_vouchers(token: str):
    """The sponsor's own page (a signed link, no account): take a voucher by its number, once."""
    if request.method == "POST":
        view = vouchers.take(db.get_session(), token, request.form.get("number", ""))
        return _sponsor_vouchers_page(token, result=view)
    return _sponsor_vouchers_page(token)
