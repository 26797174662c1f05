"""The points store on real phones: a volunteer opens the store and the member card; the clerk
types the card's number, taps items, double-taps confirm (one redemption), cancels it with a
reason; the volunteer sees it cancelled and the points back."""
from __future__ import annotations

from sqlmodel import select


def test_store_counter_journey(new_page, live_server, journey):
    from volunteer_app.models import Redemption, User
    from volunteer_app.services import ledger, store
    volunteer = live_server.make_user(display_name="王阿姨")
    clerk = live_server.make_user(roles=("clerk",), display_name="店员小林")
    admin = live_server.make_user(roles=("admin",))
    with live_server.session() as session:
        ledger.post(session, volunteer.id, 40, "award", f"e2e-store:{volunteer.id}", reason="e2e")
        actor = session.get(User, admin.id)
        cap = store.create_item(session, actor, name="帽子", cost=15, stock=3)
        store.create_item(session, actor, name="雨伞", cost=400, stock=2)
        cap_id = cap.id

    phone = new_page(volunteer)
    with journey.step("store with balance and what I can afford", phone):
        phone.goto("/store")
        assert phone.locator(".store-balance-value").inner_text() == "40"
        assert phone.locator(".state-ok").count() == 1 and phone.locator(".state-short").count() == 1

    with journey.step("member card", phone):
        phone.goto("/store/card")
        number = phone.locator("#member-number").inner_text().replace(" ", "").strip()
        assert number.startswith(f"{volunteer.id}-") and len(number.split("-")[1]) == 6
        assert phone.locator("img.member-qr").get_attribute("src").startswith("data:image/png;base64,")

    counter = new_page(clerk)
    with journey.step("clerk types the member number", counter):
        counter.goto("/counter")
        counter.fill("#f-member_code", number)
        counter.locator("form[data-scan-form] button[type=submit]").click()
        counter.wait_for_load_state()
        assert "王阿姨" in counter.locator(".visit-name").inner_text()

    with journey.step("two caps, confirmed with a double tap", counter):
        counter.locator(f"button[data-step='1'][data-target='q-{cap_id}']").click()
        counter.locator(f"button[data-step='1'][data-target='q-{cap_id}']").click()
        assert counter.locator("[data-total]").inner_text() == "30"
        counter.locator(".basket-actions button[type=submit]").dblclick()
        counter.wait_for_url("**/counter/receipt/**")
        assert "帽子 × 2" in counter.locator(".receipt").inner_text()

    with live_server.session() as session:
        rows = session.exec(select(Redemption).where(Redemption.user_id == volunteer.id)).all()
        assert [(row.quantity, row.points_spent) for row in rows] == [(2, 30)]
        assert session.get(User, volunteer.id).balance == 10

    with journey.step("cancel a mistake with a reason", counter):
        counter.locator("details.cancel-box summary").first.click()
        counter.locator("details.cancel-box input[name=reason]").first.fill("拿错了")
        counter.locator("details.cancel-box button[type=submit]").first.click()
        counter.wait_for_load_state()
        assert counter.locator(".notice-success").count() == 1

    with journey.step("volunteer sees it cancelled, points back", phone):
        phone.goto("/store/mine")
        assert phone.locator(".redemption .tag-no").count() == 1
        phone.goto("/store")
        assert phone.locator(".store-balance-value").inner_text() == "40"
