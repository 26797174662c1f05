"""A clerk's day at the counter, on a phone at 390x844: signed in, the counter is home; a
volunteer's member card typed in; two things 发放 (handed out) in one basket and one line of it
cancelled as a mistake; goods received (stock with its reason); the day closed with a count that
differs from what the system expects, the difference in the day summary and the audit trail."""
from __future__ import annotations

from sqlmodel import select


def test_clerk_hands_out_cancels_receives_goods_and_closes_the_day(new_page, live_server, journey):
    from volunteer_app.models import AuditEntry, Redemption, StockMovement, StoreItem, User
    from volunteer_app.services import ledger, store

    volunteer = live_server.make_user(display_name="许阿婆")
    clerk = live_server.make_user(roles=("clerk",), display_name="店员小周")
    admin = live_server.make_user(roles=("admin",))
    with live_server.session() as session:
        ledger.post(session, volunteer.id, 60, "award", f"e2e-day:{volunteer.id}", reason="e2e")
        actor = session.get(User, admin.id)
        towel = store.create_item(session, actor, name="毛巾", cost=10, stock=5)
        soap = store.create_item(session, actor, name="肥皂", cost=5, stock=8)
        towel_id, soap_id = towel.id, soap.id

    phone = new_page(volunteer)
    phone.goto("/store/card")
    number = phone.locator("#member-number").inner_text().replace(" ", "").strip()

    counter = new_page(clerk)
    with journey.step("signed in, the clerk lands on the counter", counter):
        assert counter.url.endswith("/counter"), counter.url
        assert counter.locator("#f-member_code").is_visible()

    with journey.step("member card typed in", counter):
        counter.fill("#f-member_code", number)
        counter.locator("form[data-scan-form] button[type=submit]").click()
        counter.locator(".visit-name").wait_for()
        assert "许阿婆" in counter.locator(".visit-name").inner_text()
        assert counter.locator(".visit-balance .store-balance-value").inner_text() == "60"

    with journey.step("a towel and two bars of soap handed out", counter):
        counter.locator(f"button[data-step='1'][data-target='q-{towel_id}']").click()
        for _ in range(2):
            counter.locator(f"button[data-step='1'][data-target='q-{soap_id}']").click()
        assert counter.locator("[data-total]").inner_text() == "20"
        assert "发放" in counter.locator(".basket-actions button[type=submit]").inner_text()
        counter.locator(".basket-actions button[type=submit]").dblclick()  # a double tap: one redemption
        counter.wait_for_url("**/counter/receipt/**")
        receipt = counter.locator(".receipt").inner_text()
        assert "毛巾 × 1" in receipt and "肥皂 × 2" in receipt and "已交付" not in receipt
    with live_server.session() as session:
        rows = session.exec(select(Redemption).where(Redemption.user_id == volunteer.id)).all()
        assert sorted((row.quantity, row.points_spent) for row in rows) == [(1, 10), (2, 10)]
        assert session.get(User, volunteer.id).balance == 40

    with journey.step("the soap cancelled as a mistake", counter):
        box = counter.locator("details.cancel-box", has_text="肥皂")
        box.locator("summary").click()
        box.locator("input[name=reason]").fill("拿错了，换成毛巾")
        box.locator("button[type=submit]").click()
        counter.wait_for_load_state()
        line = counter.locator(".receipt li", has_text="肥皂")
        assert "✓" not in line.inner_text() and line.locator(".tag-no").count() == 1
        assert counter.locator(".receipt li", has_text="毛巾").locator(".tag-no").count() == 0
    with live_server.session() as session:
        assert session.get(User, volunteer.id).balance == 50
        assert session.get(StoreItem, soap_id).stock == 8  # back on the shelf
        towels_before = session.get(StoreItem, towel_id).stock

    with journey.step("goods received: ten towels", counter):
        counter.goto("/counter")
        counter.locator("form[action$='/counter/end'] button[type=submit]").click()
        counter.wait_for_load_state()
        counter.locator(".bottomnav a[href$='/manage']").click()
        counter.locator(".hub-link[href$='/store/manage']").click()
        counter.locator("h3 a", has_text="毛巾").click()
        counter.wait_for_url(f"**/store/manage/{towel_id}")
        counter.select_option("#f-reason", "restock")
        counter.fill("#f-delta", "10")
        counter.fill("#f-note", "12月6日到货一箱")
        counter.locator("section[aria-labelledby=h-stock] button[type=submit]").click()
        counter.wait_for_load_state()
        assert counter.locator(".notice-success").count() == 1
        assert str(towels_before + 10) in counter.locator(".stock-line").inner_text()

    with journey.step("the day-end count, one towel short", counter):
        counter.goto("/manage")
        counter.locator(".hub-link[href$='/counter/count']").click()
        counter.wait_for_url("**/counter/count")
        assert str(towels_before + 10) in counter.locator(f"#h-count_{towel_id}").inner_text()  # expected
        counter.fill(f"#f-count_{towel_id}", str(towels_before + 10 - 1))
        counter.fill(f"#f-count_{soap_id}", "8")

    with journey.step("the day summary shows the difference", counter):
        counter.locator("main form[method=post] button[type=submit]").click()
        counter.wait_for_url("**/counter/summary**")
        assert counter.locator(".notice-success").count() == 1
        changes = counter.locator("section[aria-labelledby=h-stock-changes]").inner_text()
        assert f"实点 {towels_before + 9}，应有 {towels_before + 10}" in changes
        assert "毛巾" in changes and "-1" in changes and "12月6日到货一箱" in changes
        every = counter.locator("main").inner_text()
        assert "拿错了，换成毛巾" in every

    with live_server.session() as session:
        moves = session.exec(select(StockMovement).where(StockMovement.item_id == towel_id)
                             .order_by(StockMovement.id)).all()
        assert [(m.reason, m.delta) for m in moves][-2:] == [("restock", 10), ("count", -1)]
        assert session.get(StoreItem, towel_id).stock == towels_before + 9
        soap_moves = session.exec(select(StockMovement).where(StockMovement.item_id == soap_id,
                                                              StockMovement.reason == "count")).all()
        assert soap_moves == []  # counted as expected: nothing to record
        actions = set(session.exec(select(AuditEntry.action).where(AuditEntry.actor_id == clerk.id)))
        assert {"store.stock_restock", "store.stock_count"} <= actions
