"""The points store pages: the store and member card for volunteers, the clerk's counter, and the
coordinators' catalog and stock."""
from __future__ import annotations

import base64
import uuid
from datetime import date

from flask import (Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   stream_with_context, url_for)
from flask import session as web_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ... import db, timeutil
from ...errors import DomainError
from ...services import accounts, codes, expiry, images, qr, sponsors, store
from ...parsing import BadValue, parse_number
from ..params import arg_day, to_id
from . import bp
from .common import field_errors, flash_and_redirect, form_int, render, role_required, unit_of_work

VISIT_KEY = "counter_visit"


def _picture_url(item) -> str | None:
    return url_for("pages.store_picture", name=item.picture) if item.picture else None


# -- volunteers -------------------------------------------------------------------------------------

def _offers(session_db, user, items: list, now) -> list[dict]:
    """Each item with what this person can do about it now (in words, not only colour)."""
    offers = []
    for item in items:
        used = store.units_this_month(session_db, user.id, item.id, now) if item.monthly_limit_per_user else 0
        left = None if item.monthly_limit_per_user is None else max(item.monthly_limit_per_user - used, 0)
        if item.stock <= 0:
            state = "out"
        elif left == 0:
            state = "limit"
        elif user.balance < item.cost:
            state = "short"
        else:
            state = "ok"
        offers.append({"item": item, "picture": _picture_url(item), "state": state, "left": left,
                       "short_by": max(item.cost - user.balance, 0)})
    return offers


@bp.get("/store", endpoint="store")
@login_required
def store_page():
    session_db = db.get_session()
    now = timeutil.utcnow()
    offers = _offers(session_db, current_user, store.list_items(session_db, current_user), now)
    offers.sort(key=lambda offer: (offer["state"] != "ok", offer["item"].cost))
    reservations = store.open_reservations(session_db, current_user, current_user.id, now)
    return render_template("pages/store/index.html", offers=offers, reservations=reservations,
                           sponsor_names=sponsors.names(session_db, current_user.station_id),
                           affordable=sum(1 for offer in offers if offer["state"] == "ok"),
                           reservation_days=store.RESERVATION_DAYS)



def _card_context(user_id: int) -> dict:
    now = timeutil.utcnow()
    code, expires_at = codes.member_code(user_id, now)
    image = base64.b64encode(qr.png(code, box_size=8)).decode()
    user_part, digits = code.split("-")
    return {"code": code, "digits": digits, "user_part": user_part, "expires_at": expires_at,
            "qr_data": f"data:image/png;base64,{image}", "expiring": expiry.expiring(db.get_session(), user_id, now),
            # the counter takes the previous step too: how long this code is good from now
            "valid_seconds": int((expires_at - now).total_seconds()) + codes.MEMBER_STEP_SECONDS}


@bp.get("/store/card")
@login_required
def member_card():
    return render("pages/store/card.html", "pages/store/_card.html", **_card_context(current_user.id))


@bp.get("/store/mine")
@login_required
def my_redemptions():
    rows = store.user_redemptions(db.get_session(), current_user, current_user.id, limit=100)
    return render_template("pages/store/mine.html", rows=rows)


@bp.post("/store/items/<id:item_id>/reserve")
@login_required
@unit_of_work(on_error=flash_and_redirect(lambda item_id: url_for("pages.store")))
def reserve_item(item_id: int):
    session_db = db.get_session()
    result = store.reserve(session_db, current_user, item_id, 1)
    if result.redemption.status == "voucher":  # a voucher item: the code on the phone
        return redirect(url_for("pages.voucher_page", redemption_id=result.redemption.id))
    item = store.get_item(session_db, current_user, result.redemption.item_id)
    flash(_("Reserved: %(name)s. Show your member card at the counter within %(days)s days.",
            name=item.name, days=store.RESERVATION_DAYS), "success")
    return redirect(url_for("pages.my_redemptions"))


@bp.get("/store/pictures/<name>")
@login_required
def store_picture(name: str):
    path = store.picture_path(current_app.instance_path, name)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=31536000)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


# -- the counter ------------------------------------------------------------------------------------

def _visit_user(session_db):
    """The customer of the visit under way at the counter, if any (a visit that cannot go on ends)."""
    user_id = to_id(str(web_session.get(VISIT_KEY) or ""))
    customer = store.visit_customer_or_none(session_db, current_user, user_id) if user_id else None
    if customer is None:
        web_session.pop(VISIT_KEY, None)
    return customer


def _counter_page(errors: dict | None = None, status: int = 200, code: str = ""):
    session_db = db.get_session()
    customer = _visit_user(session_db)
    context = {"customer": customer, "errors": errors or {}, "code": code, "client_ref": uuid.uuid4().hex}
    if customer is not None:
        now = timeutil.utcnow()
        context["offers"] = _offers(session_db, customer, store.list_items(session_db, current_user), now)
        context["reservations"] = store.open_reservations(session_db, current_user, customer.id, now)
    return render("pages/store/counter.html", "pages/store/_counter.html", **context), status


@bp.get("/counter")
@role_required("clerk")
def counter():
    return _counter_page()


def _identify_refused(error: DomainError):
    status = 410 if error.code == "expired_code" else 422
    return _counter_page({"member_code": str(error.message)}, status, (request.form.get("member_code") or "")[:60])


@bp.post("/counter/identify")
@role_required("clerk")
@unit_of_work(on_error=_identify_refused)
def counter_identify():
    customer = store.identify(db.get_session(), current_user, (request.form.get("member_code") or "")[:60])
    web_session[VISIT_KEY] = customer.id
    return redirect(url_for("pages.counter"))


@bp.post("/counter/end")
@role_required("clerk")
def counter_end():
    web_session.pop(VISIT_KEY, None)
    return redirect(url_for("pages.counter"))


def _basket_ref() -> str:
    return (request.form.get("client_ref") or "")[:64] or uuid.uuid4().hex


def _basket_refused(error: DomainError):
    return _counter_page({"_form": str(error.message)}, error.status)


def _twin_receipt(error):
    """The twin tap won the race for the receipt: show it."""
    client_ref = _basket_ref()
    if store.basket_receipt(db.get_session(), current_user, client_ref) is None:
        raise error
    return redirect(url_for("pages.counter_receipt", ref=client_ref))


@bp.post("/counter/redeem")
@role_required("clerk")
@unit_of_work(on_error=_basket_refused, on_conflict=_twin_receipt)
def counter_redeem():
    """Every item of the basket in one transaction; a second tap (same ``client_ref``) shows the
    first receipt instead of redeeming again."""
    session_db = db.get_session()
    client_ref = _basket_ref()
    customer = _visit_user(session_db)
    if customer is None:
        flash(_("Scan the member card first."), "error")
        return redirect(url_for("pages.counter"))
    basket = []
    for key in request.form:
        if key.startswith("qty_"):
            quantity = form_int(key, 0)
            item_id = to_id(key[4:])
            if quantity and item_id is not None:
                basket.append((item_id, quantity))
    if not basket:
        return _counter_page({"_form": _("Choose at least one item.")}, 422)
    store.redeem_basket(session_db, current_user, user_id=customer.id, basket=basket, client_ref=client_ref)
    return redirect(url_for("pages.counter_receipt", ref=client_ref))


@bp.get("/counter/receipt/<ref>")
@role_required("clerk")
def counter_receipt(ref: str):
    session_db = db.get_session()
    found = store.basket_receipt(session_db, current_user, ref[:64])
    if found is None:
        abort(404)
    data, created_at = found
    rows = [(redemption, store.get_item(session_db, current_user, redemption.item_id))
            for redemption in (store.get_redemption(session_db, current_user, rid) for rid in data["ids"])]
    customer = accounts.person(session_db, current_user, data["user_id"])
    return render_template("pages/store/receipt.html", rows=rows, customer=customer, ref=ref,
                           total=sum(r.points_spent for r, _item in rows if r.status == "fulfilled"),
                           created_at=created_at)


def _cancel_target() -> str:
    back = request.form.get("back") or ""
    return url_for("pages.counter_receipt", ref=back[:64]) if back else url_for("pages.counter_summary")


@bp.post("/counter/redemptions/<id:redemption_id>/cancel")
@role_required("clerk")
@unit_of_work(on_error=flash_and_redirect(lambda redemption_id: _cancel_target()))
def counter_cancel(redemption_id: int):
    session_db = db.get_session()
    reason = (request.form.get("reason") or "").strip()[:500]
    if not reason:
        flash(_("Please give a reason for the cancellation."), "error")
        return redirect(_cancel_target())
    redemption = store.cancel(session_db, current_user, redemption_id, reason)
    item = store.get_item(session_db, current_user, redemption.item_id)
    flash(_("Cancelled: %(name)s × %(n)s. %(points)s points given back.", name=item.name, n=redemption.quantity,
            points=redemption.points_spent), "success")
    return redirect(_cancel_target())


@bp.post("/counter/reservations/<id:redemption_id>/fulfil")
@role_required("clerk")
@unit_of_work(on_error=flash_and_redirect(lambda redemption_id: url_for("pages.counter")))
def counter_fulfil(redemption_id: int):
    session_db = db.get_session()
    customer = _visit_user(session_db)
    redemption = store.fulfil_reservation(session_db, current_user, redemption_id,
                                          user_id=customer.id if customer else None)
    item = store.get_item(session_db, current_user, redemption.item_id)
    flash(_("Handed over: %(name)s × %(n)s.", name=item.name, n=redemption.quantity), "success")
    return redirect(url_for("pages.counter"))


def _day_arg(name: str, default: date) -> date:
    return arg_day(name) or default


@bp.get("/counter/summary")
@role_required("clerk", "coordinator")
def counter_summary():
    session_db = db.get_session()
    day = _day_arg("day", store.today())
    return render_template("pages/store/summary.html", day=day, summary=store.day_summary(session_db, current_user, day),
                           rows=store.day_redemptions(session_db, current_user, day),
                           stock_changes=store.day_stock_changes(session_db, current_user, day))


def _export_days() -> tuple[date, date]:
    since = _day_arg("since", _day_arg("day", store.today()))
    return since, _day_arg("until", since)


def _summary_url() -> str:
    _export_days()  # a day the address cannot name is the error page (refused again here)
    return url_for("pages.counter_summary")


@bp.get("/counter/export.csv")
@role_required("clerk", "coordinator")
@unit_of_work(on_error=flash_and_redirect(_summary_url))
def counter_export():
    since, until = _export_days()
    chunks = store.export_csv(db.get_session(), current_user, since, until)
    filename = f"redemptions-{since.isoformat()}" + ("" if until == since else f"-{until.isoformat()}") + ".csv"
    return Response(stream_with_context(chunk.encode("utf-8") for chunk in chunks),
                    mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                  "Content-Type": "text/csv; charset=utf-8"})


# -- coordinators: catalog and stock ----------------------------------------------------------------

def _item_form() -> dict:
    form = {name: (request.form.get(name) or "").strip()[:1000] for name in
            ("name", "description", "cost", "stock", "monthly_limit_per_user", "low_stock_threshold", "kind",
             "sponsor_id")}
    return form


def _item_fields(form: dict, *, with_stock: bool) -> dict:
    def number(name, blank=None):
        raw = form.get(name, "")
        if raw == "":
            return blank
        try:
            return parse_number(raw)
        except BadValue:
            return -1  # refused by the service with the field's message

    fields = {"name": form["name"], "description": form["description"], "cost": number("cost", 0),
              "monthly_limit_per_user": number("monthly_limit_per_user"),
              "low_stock_threshold": number("low_stock_threshold", 3)}
    if with_stock:
        fields["stock"] = number("stock", 0)
    if "kind" in request.form:  # the forms that offer vouchers and sponsors
        fields["kind"] = request.form.get("kind") or "goods"
        fields["sponsor_id"] = to_id(request.form.get("sponsor_id")) if request.form.get("sponsor_id") else None
        if request.form.get("sponsor_id") and fields["sponsor_id"] is None:
            fields["sponsor_id"] = -1  # refused by the service with the field's message
    return fields


def _catalog_page(errors: dict | None = None, form: dict | None = None):
    session_db = db.get_session()
    can_edit = current_user.has_role("coordinator")
    items = store.list_items(session_db, current_user, include_inactive=can_edit)
    low = [item for item in items if store.is_low_stock(item)]
    return render_template("pages/store/manage.html", items=items, low=low, errors=errors or {}, form=form or {},
                           sponsors=sponsors.list_sponsors(session_db, current_user),
                           picture_url=_picture_url, is_low=store.is_low_stock, can_edit=can_edit), \
        (422 if errors else 200)


@bp.route("/store/manage", methods=["GET", "POST"])
@role_required("coordinator", "clerk")
@unit_of_work(on_error=lambda error: _catalog_page(field_errors(error), _item_form()))
def store_manage():
    """The catalog: coordinators add and edit items; clerks see it to keep stock."""
    if request.method == "POST":
        if not current_user.has_role("coordinator"):
            abort(403)
        item = store.create_item(db.get_session(), current_user, **_item_fields(_item_form(), with_stock=True))
        flash(_("Added: %(name)s.", name=item.name), "success")
        return redirect(url_for("pages.store_item_edit", item_id=item.id))
    return _catalog_page()


def _item_page(item_id: int, errors: dict | None = None):
    session_db = db.get_session()
    item = store.get_item(session_db, current_user, item_id)
    return render_template("pages/store/edit.html", item=item, errors=errors or {},
                           action=request.form.get("action", ""), movements=store.movements(session_db, current_user, item.id),
                           picture=_picture_url(item), can_edit=current_user.has_role("coordinator"),
                           low=store.is_low_stock(item)), (422 if errors else 200)


def _item_refused(error: DomainError, item_id: int):
    errors = {"file": str(error.message)} if error.code == "payload_too_large" else field_errors(error)
    return _item_page(item_id, errors)


@bp.route("/store/manage/<id:item_id>", methods=["GET", "POST"])
@role_required("coordinator", "clerk")
@unit_of_work(on_error=_item_refused)
def store_item_edit(item_id: int):
    """An item's stock (clerks and coordinators), details and picture (coordinators)."""
    session_db = db.get_session()
    item = store.get_item(session_db, current_user, item_id)
    action = request.form.get("action", "")
    if request.method == "GET":
        return _item_page(item.id)
    if action != "stock" and not current_user.has_role("coordinator"):
        abort(403)
    if action == "details":
        fields = _item_fields(_item_form(), with_stock=False)
        fields["active"] = request.form.get("active") == "1"
        store.update_item(session_db, current_user, item.id, **fields)
        message = _("Saved.")
    elif action == "stock":
        store.adjust_stock(session_db, current_user, item.id, form_int("delta", 0) or 0, request.form.get("reason", ""),
                           request.form.get("note", "")[:500])
        message = _("Stock changed.")
    elif action == "picture":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise DomainError("validation_error", _("Choose a picture first."),
                              errors=[{"field": "file", "message": _("Choose a picture first.")}])
        store.set_picture(session_db, current_user, item.id, images.read_upload(upload.stream),
                          current_app.instance_path)
        message = _("Picture saved.")
    else:
        abort(400)
    flash(message, "success")
    return redirect(url_for("pages.store_item_edit", item_id=item.id))


def _count_form() -> tuple[dict, dict]:
    """What was counted (``{item id: number}``, -1 for what is not a number) and the form as typed."""
    counted, form = {}, {}
    for item in store.list_items(db.get_session(), current_user):
        raw = (request.form.get(f"count_{item.id}") or "").strip()[:20]
        form[item.id] = raw
        if raw == "":
            continue  # not counted: left as it is
        try:
            counted[item.id] = int(raw)
        except ValueError:
            counted[item.id] = -1  # refused by the service with the field's message
    return counted, form


def _count_page(errors: dict | None = None, form: dict | None = None):
    items = store.list_items(db.get_session(), current_user)
    return render_template("pages/store/count.html", items=items, errors=errors or {}, form=form or {}), \
        (422 if errors else 200)


@bp.route("/counter/count", methods=["GET", "POST"])
@role_required("clerk", "coordinator")
@unit_of_work(on_error=lambda error: _count_page(field_errors(error), _count_form()[1]))
def stock_count():
    """Close the day: what is on the shelf against what the system expects; the differences
    are recorded and shown in the day summary."""
    if request.method == "GET":
        return _count_page()
    counted, _form = _count_form()
    differences = store.count_stock(db.get_session(), current_user, counted)
    if differences:
        flash(ngettext("Count saved: %(num)s difference recorded.", "Count saved: %(num)s differences recorded.",
                       len(differences)), "success")
    else:
        flash(_("Count saved: everything is as expected."), "success")
    return redirect(url_for("pages.counter_summary"))
