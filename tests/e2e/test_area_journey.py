"""A police assistant on a phone: the admin gives the role and an area; the assistant finds
"my area" on the home page with the tips and care households of that grid, and opens one."""
from __future__ import annotations


def test_police_assistant_sees_their_area(new_page, live_server, journey):
    admin = live_server.make_user(roles=("admin", "coordinator"), display_name="周警官")
    helper = live_server.make_user(display_name="刘助理")
    reporter = live_server.make_user(display_name="王阿姨")
    from volunteer_app.services import care, tips
    with live_server.session() as session:
        from volunteer_app.models import User
        boss = session.get(User, admin.id)
        tips.submit(session, session.get(User, reporter.id), category="hazard", description="三组路灯坏了",
                    grid="三组")
        tips.submit(session, session.get(User, reporter.id), category="dispute", description="四组有人吵架",
                    grid="四组")
        care.create_household(session, boss, kind="elderly_alone", label="三组 独居老人 A", grid="三组",
                              name="张阿婆", address="三组 12 号")

    desk = new_page(admin)
    with journey.step("the admin makes them police assistant of 三组", desk):
        desk.goto(f"/manage/users/{helper.id}")
        desk.check("input[name=roles][value=police_assistant]")
        desk.fill("#f-area", "三组")
        desk.locator("form[action$='/roles'] button[type=submit]").click()
        desk.get_by_text("警务助理").first.wait_for()

    phone = new_page(helper)
    with journey.step("the assistant's area", phone):
        phone.goto("/")
        phone.get_by_role("link", name="我的片区").click()
        main = phone.locator("main").inner_text()
        assert "三组路灯坏了" in main and "四组有人吵架" not in main and "三组 独居老人 A" in main

    with journey.step("opens a household of the area", phone):
        phone.get_by_text("三组 独居老人 A").click()
        phone.get_by_text("三组 12 号").wait_for()
