"""Sub-units on a phone: a coordinator splits the team, names a leader, sees the sub-units
with their leaders and counts on the team page (also in large mode)."""
from __future__ import annotations


def test_coordinator_splits_the_team_into_sub_units(new_page, live_server, journey):
    boss = live_server.make_user(roles=("coordinator", "volunteer"), team="湖滨义警", team_role="coordinator",
                                 display_name="陈队长")
    amy = live_server.make_user(team="湖滨义警", display_name="王阿姨")
    live_server.make_user(team="湖滨义警", display_name="李师傅")
    from sqlmodel import select

    from volunteer_app.models import Team
    with live_server.session() as session:
        team_id = session.exec(select(Team.id).where(Team.name == "湖滨义警")).one()

    desk = new_page(boss)
    with journey.step("creates a sub-unit", desk):
        desk.goto(f"/manage/teams/{team_id}")
        desk.fill("#f-unit-new", "一分队")
        desk.locator("form[action$='/units'] button[type=submit]").click()
        desk.get_by_text("已建立分队一分队。").wait_for()

    with journey.step("makes a member its leader", desk):
        row = desk.locator(f"#member-{amy.id}")
        row.locator("summary").click()
        row.locator("select[name=unit_id]").select_option(label="一分队")
        row.locator("input[name=leader]").check()
        row.locator("form[action$='/unit'] button[type=submit]").click()
        desk.get_by_text("已保存王阿姨的分队。").wait_for()

    with journey.step("the team page shows the sub-unit, its leader and count", desk):
        desk.goto(f"/manage/teams/{team_id}")
        units = desk.locator("#units").inner_text()
        assert "一分队" in units and "分队长：王阿姨" in units and "1 人" in units

    large = new_page(boss)
    with journey.step("in large mode too", large):
        large.goto("/profile")
        large.check("input[name=large_mode]")
        large.locator("main form button[type=submit]").first.click()
        large.goto(f"/manage/teams/{team_id}")
        assert "一分队" in large.locator("#units").inner_text()
