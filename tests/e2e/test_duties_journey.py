"""The stations' other duties on real phones: a coordinator registers a household and assigns a
volunteer, who logs a visit with a concern; the coordinator sees the concern; a mediation case
with two mediators; both kinds show as hours."""
from __future__ import annotations

from datetime import timedelta


def test_a_care_visit_and_a_mediation_become_hours(new_page, live_server, journey):
    from volunteer_app import timeutil

    boss = live_server.make_user(roles=("coordinator", "volunteer"), team="湖滨义警", team_role="coordinator",
                                 display_name="陈队长")
    amy = live_server.make_user(team="湖滨义警", display_name="王阿姨")
    ben = live_server.make_user(team="湖滨义警", display_name="李师傅")
    day = (timeutil.local(timeutil.utcnow()) - timedelta(days=1)).date().isoformat()

    desk = new_page(boss)
    with journey.step("coordinator registers a household", desk):
        desk.goto("/care/new")
        desk.select_option("#f-kind", "elderly_alone")
        desk.fill("#f-label", "3组 独居老人 A")
        desk.fill("#f-grid", "3组")
        desk.fill("#f-name", "张阿婆")
        desk.fill("#f-address", "文三路 88 号 2 单元 301")
        desk.fill("#f-needs", "腿脚不便，每周买药")
        desk.fill("#f-visit_every_days", "7")
        desk.check(f"input[name=volunteer_ids][value='{amy.id}']")
        desk.locator("main form button[type=submit]").click()
        desk.get_by_text("文三路 88 号 2 单元 301").wait_for()

    phone = new_page(amy)
    with journey.step("the volunteer sees the household among hers", phone):
        phone.goto("/care")
        phone.get_by_text("3组 独居老人 A").click()
        phone.get_by_text("腿脚不便，每周买药").wait_for()

    with journey.step("logs a visit with a concern", phone):
        phone.fill("#f-day", day)
        phone.fill("#f-start", "09:00")
        phone.fill("#f-end", "10:00")
        phone.select_option("#f-condition", "poor")
        phone.check("#f-concern")
        phone.fill("#f-concern_note", "老人有点发烧，需要送医")
        phone.locator("form[action$='/visits'] button[type=submit]").click()
        phone.get_by_text("走访已登记").wait_for()
        assert "老人有点发烧，需要送医" in phone.locator("main").inner_text()

    with journey.step("the coordinator sees the concern", desk):
        desk.goto("/manage/dashboard")
        assert "1 条走访关注" in desk.locator("#care-alert").inner_text()
        desk.goto("/care")
        concerns = desk.locator("section[aria-labelledby=h-concerns]")
        assert "3组 独居老人 A" in concerns.inner_text()

    with journey.step("the coordinator logs a mediation with two mediators", desk):
        desk.goto("/mediation/new")
        desk.fill("#f-day", day)
        desk.fill("#f-start", "14:00")
        desk.fill("#f-end", "15:30")
        desk.fill("#f-place", "湖滨社区调解室")
        desk.fill("#f-parties", "张某、李某")
        desk.select_option("#f-dispute_kind", "neighbour")
        desk.uncheck(f"input[name=mediator_ids][value='{boss.id}']")
        desk.check(f"input[name=mediator_ids][value='{amy.id}']")
        desk.check(f"input[name=mediator_ids][value='{ben.id}']")
        desk.select_option("#f-outcome", "settled")
        desk.fill("#f-agreement_note", "双方互相道歉，停车位轮流使用")
        desk.locator("main form button[type=submit]").click()
        desk.get_by_text("调解已登记").wait_for()
        assert "王阿姨、李师傅" in desk.locator("main").inner_text() or "李师傅、王阿姨" in desk.locator("main").inner_text()

    with journey.step("both show as hours", phone):
        phone.goto("/")
        assert phone.locator("#hours-served").inner_text().strip() == "2.5"
        phone.goto("/me/service")
        text = phone.locator("main").inner_text()
        assert "关爱走访" in text and "调解" in text

    with journey.step("the member's record counts both", desk):
        desk.goto(f"/staff/users/{amy.id}/service?from={day}&to={day}")
        record = desk.locator("#person-record").inner_text()
        assert "2.5" in record and "1 / 1" in record
