"""A shift's journey on real phones: the coordinator plans a night patrol with a route, two
volunteers tap to sign up for one place (the second joins the waitlist), the first withdraws and
the second is promoted with a notice; the coordinator pages through weeks in place."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

CST = ZoneInfo("Asia/Shanghai")


def test_plan_sign_up_waitlist_and_promotion(new_page, live_server, journey):
    from volunteer_app.models import Checkpoint, Shift, ShiftSignup, Team
    team_name = "夜巡队"
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team=team_name, team_role="coordinator",
                                        display_name="陈队长")
    first = live_server.make_user(team=team_name, display_name="王阿姨")
    second = live_server.make_user(team=team_name, display_name="李师傅")
    with live_server.session() as session:
        team = session.exec(select(Team).where(Team.name == team_name)).one()
        for name in ("断桥东口", "白堤中段"):
            session.add(Checkpoint(station_id=team.station_id, team_id=team.id, name=name))
        session.flush()
        stops = [cp.id for cp in session.exec(select(Checkpoint).where(Checkpoint.team_id == team.id)
                                              .order_by(Checkpoint.id))]
    day = (datetime.now(CST) + timedelta(days=2)).date()

    staff = new_page(coordinator)
    with journey.step("new night shift form", staff):
        staff.goto("/manage/shifts/new")
        staff.fill("#f-title", "西湖夜巡")
        staff.fill("#f-day", day.isoformat())
        staff.fill("#f-start", "22:00")
        staff.fill("#f-end", "02:00")
        staff.fill("#f-capacity", "1")
        staff.select_option("#f-stop1", str(stops[0]))
        staff.select_option("#f-stop2", str(stops[1]))
    with journey.step("week plan after creating", staff):
        staff.locator("form.shift-form button[type=submit]").click()
        staff.wait_for_url("**/manage/shifts?**")
        slot = staff.locator(".slot", has_text="西湖夜巡")
        assert slot.count() == 1 and "0/1" in slot.inner_text()
    with live_server.session() as session:
        shift = session.exec(select(Shift).where(Shift.title == "西湖夜巡")).one()
        assert shift.ends_at - shift.starts_at == timedelta(hours=4)  # across midnight
        shift_id = shift.id

    one = new_page(first)
    with journey.step("one tap to sign up", one):
        one.goto("/shifts")
        card = one.locator(f"#shift-{shift_id}")
        card.locator("button").click()
        one.wait_for_function(f"() => document.querySelector('#shift-{shift_id} .status-confirmed') !== null")
        assert "断桥东口 → 白堤中段" in one.locator(f"#shift-{shift_id}").inner_text()

    two = new_page(second)
    with journey.step("full: join the waitlist", two):
        two.goto("/shifts")
        two.locator(f"#shift-{shift_id} button").click()
        two.wait_for_function(f"() => document.querySelector('#shift-{shift_id} .status-waitlisted') !== null")

    with journey.step("withdraw, asked first", one):
        one.locator(f"#shift-{shift_id} button").click()
        one.locator(f"#shift-{shift_id} .confirm-box button[type=submit]").click()
        one.wait_for_function(f"() => document.querySelector('#shift-{shift_id} .status-confirmed') === null")

    with journey.step("promoted with a notice", two):
        two.goto("/notices")
        assert "西湖夜巡" in two.locator(".notices-list").inner_text()
        assert two.locator(".topbar .bell").count() == 1
    with live_server.session() as session:
        rows = dict(session.exec(select(ShiftSignup.user_id, ShiftSignup.status)
                                 .where(ShiftSignup.shift_id == shift_id)).all())
        assert rows == {first.id: "cancelled", second.id: "confirmed"}

    with journey.step("next week in place", staff):
        staff.goto(f"/manage/shifts?week={day.isoformat()}")
        before = staff.url
        staff.locator(".week-nav a").nth(1).click()
        staff.wait_for_function("() => !document.body.innerText.includes('西湖夜巡')")
        assert staff.url != before and "week=" in staff.url
