"""A sponsor's goods and a voucher, on phones at 390x844: a clerk adds a sponsor (爱心理发店) and
records the haircut vouchers it gives; a coordinator offers them as a voucher item; a volunteer
whose points lapse soon sees it on the home page, takes a voucher (a number and its QR code); the
sponsor, on its own page reached by the signed link, takes it once, and a second time is refused."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select


def test_sponsor_goods_a_voucher_redeemed_and_validated(new_page, live_server, journey):
    from volunteer_app.models import Redemption, Sponsor, StoreItem
    from volunteer_app.services import ledger
    from volunteer_app.timeutil import utcnow

    volunteer = live_server.make_user(display_name="陈大爷")
    keeper = live_server.make_user(roles=("clerk", "coordinator"), display_name="店长老李")
    config = live_server.app.config
    config["POINTS_EXPIRE"] = "months:1"  # these points lapse within the next 60 days
    try:
        with live_server.session() as session:
            ledger.post(session, volunteer.id, 45, "award", f"e2e-voucher:{volunteer.id}", reason="e2e",
                        now=utcnow() - timedelta(days=20))
    finally:
        config["POINTS_EXPIRE"] = "never"

    staff = new_page(keeper)
    with journey.step("a sponsor added", staff):
        staff.goto("/store/sponsors")
        staff.fill("#f-name", "爱心理发店")
        staff.fill("#f-contact", "张师傅 13900000000")
        staff.select_option("#f-kind", "business")
        staff.locator("form.stack button[type=submit]").click()
        staff.wait_for_url("**/store/sponsors/*")
        assert staff.locator("h1").inner_text() == "爱心理发店"
    with live_server.session() as session:
        sponsor_id = session.exec(select(Sponsor.id).where(Sponsor.name == "爱心理发店")).one()

    with journey.step("a voucher item of the sponsor", staff):
        staff.goto("/store/manage")
        staff.fill("#f-name", "理发券")
        staff.fill("#f-cost", "20")
        staff.fill("#f-stock", "0")
        staff.select_option("#f-kind", "voucher")
        staff.select_option("#f-sponsor_id", str(sponsor_id))
        staff.locator("form.stack button[type=submit]").click()
        staff.wait_for_url("**/store/manage/*")
    with live_server.session() as session:
        item = session.exec(select(StoreItem).where(StoreItem.name == "理发券")).one()
        assert (item.kind, item.sponsor_id, item.stock) == ("voucher", sponsor_id, 0)

    with journey.step("ten vouchers received from the sponsor", staff):
        staff.goto(f"/store/sponsors/{sponsor_id}")
        staff.select_option("#f-item_id", str(item.id))
        staff.fill("#f-quantity", "10")
        staff.fill("#f-value", "300")
        staff.locator("form.stack button[type=submit]").first.click()
        staff.wait_for_load_state()
        assert "理发券 × 10" in staff.locator("#h-gifts + ul").inner_text()
        link = staff.locator(".voucher-link a").get_attribute("href")

    phone = new_page(volunteer)
    with journey.step("home says which points lapse soon", phone):
        phone.goto("/")
        assert "将有 45 积分过期" in phone.locator(".expiring").inner_text()

    with journey.step("the store names the sponsor", phone):
        phone.goto("/store")
        assert "券：在 爱心理发店 使用" in phone.locator(".store-item").inner_text()

    with journey.step("the volunteer takes a voucher: a number and its QR code", phone):
        phone.locator(".store-item form button[type=submit]").click()
        phone.wait_for_url("**/store/vouchers/*")
        number = phone.locator("#voucher-number").inner_text()
        assert len(number.replace(" ", "")) == 12
        assert phone.locator("img.member-qr").get_attribute("src").startswith("data:image/png;base64,")

    sponsor_phone = new_page()  # no account: the signed link is the key
    with journey.step("the sponsor takes the voucher on its own page", sponsor_phone):
        sponsor_phone.goto(link)
        sponsor_phone.fill("#f-number", number)
        sponsor_phone.locator("form.stack button[type=submit]").click()
        sponsor_phone.wait_for_load_state()
        assert "有效，已核销" in sponsor_phone.locator(".voucher-result").inner_text()
        assert "理发券 × 1" in sponsor_phone.locator(".voucher-result").inner_text()

    with journey.step("a second time is refused", sponsor_phone):
        sponsor_phone.fill("#f-number", number)
        sponsor_phone.locator("form.stack button[type=submit]").click()
        sponsor_phone.wait_for_load_state()
        assert "已经用过" in sponsor_phone.locator(".voucher-refused").inner_text()

    with journey.step("the volunteer sees it used", phone):
        phone.goto("/store/mine")
        assert "券已使用" in phone.locator(".redemption").inner_text()

    with journey.step("the thank-you letter", staff):
        staff.goto(f"/store/sponsors/{sponsor_id}")
        staff.locator("a[href*='/letter']").click()
        staff.wait_for_load_state()
        assert "感谢信" in staff.locator(".certificate").inner_text()
    with live_server.session() as session:
        rows = session.exec(select(Redemption).where(Redemption.user_id == volunteer.id)).all()
        assert [(row.status, row.points_spent) for row in rows] == [("fulfilled", 20)]
