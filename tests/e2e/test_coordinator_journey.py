"""A coordinator's day on a phone: a new team from the Manage hub, a volunteer found and added to
it, a shift planned in the week plan along a route of checkpoints, and an award (月度之星) granted
with its certificate; the volunteer, on their own phone, finds the award's notice, the
certificate, the points and the new shift.

The coordinator is also the station's administrator: creating a team is an administrator's act
(API.md, ``POST /api/v1/teams``), and the teams page offers the form only to them.
"""
from __future__ import annotations

import re

from sqlmodel import select


def test_coordinator_builds_a_team_plans_a_shift_and_grants_an_award(new_page, live_server, journey):
    from volunteer_app.models import Award, Shift, Team, TeamMembership, User
    from volunteer_app.services import checkpoints

    coordinator = live_server.make_user(roles=("admin", "coordinator", "volunteer"), team="老城巡逻队",
                                        team_role="coordinator", display_name="陈建华")
    member = live_server.make_user(display_name="赵美兰")
    namesake = live_server.make_user(display_name="赵美兰", team="老城巡逻队")
    with live_server.session() as session:
        actor = session.get(User, coordinator.id)
        for name in ("城南菜场", "南门公园", "老街茶室"):
            checkpoints.create(session, actor, name=name, points=2)

    staff = new_page(coordinator)
    with journey.step("manage hub", staff):
        staff.locator(".bottomnav a[href$='/manage']").click()
        staff.wait_for_url("**/manage")
        assert staff.locator(".hub-link[href$='/manage/teams']").count() == 1

    with journey.step("new team form", staff):
        staff.locator(".hub-link[href$='/manage/teams']").click()
        staff.wait_for_url("**/manage/teams")
        staff.fill("#f-name", "城南巡逻队")
        staff.fill("#f-description", "城南片区夜间巡逻")

    with journey.step("team page after creating", staff):
        staff.locator("section[aria-labelledby=h-new-team] button[type=submit]").click()
        staff.wait_for_url("**/manage/teams/*")
        assert staff.locator("h1").inner_text().strip() == "城南巡逻队"
        assert staff.locator(".notice-ok").count() == 1
    with live_server.session() as session:
        team_id = session.exec(select(Team.id).where(Team.name == "城南巡逻队")).one()

    with journey.step("volunteer found by name", staff):
        staff.fill("#f-q", "赵美兰")
        staff.locator("form[role=search] button[type=submit]").click()
        found = staff.locator("#candidates .row-card", has_text=member.username)
        found.wait_for()
        assert "赵美兰" in found.inner_text()

    with journey.step("volunteer added to the team", staff):
        found.locator("button[type=submit]").click()
        staff.locator(f"#member-{member.id}").wait_for()
        assert staff.locator("#members .notice-ok").count() == 1
        assert "/manage/teams/" in staff.url  # swapped in place
    with live_server.session() as session:
        roles = session.exec(select(TeamMembership.role).where(TeamMembership.team_id == team_id,
                                                               TeamMembership.user_id == member.id)).all()
        assert roles == ["member"]

    with journey.step("new team in the list", staff):
        staff.locator(".crumbs a").click()
        staff.wait_for_url("**/manage/teams")
        row = staff.locator(".hub-link", has_text="城南巡逻队")
        assert row.count() == 1
        assert re.match(r"1\D", row.locator(".hub-hint").inner_text())  # one person
        assert staff.locator(".hub-link", has_text="老城巡逻队").count() == 1

    with journey.step("week plan of the new team", staff):
        staff.goto("/manage")
        staff.locator(".hub-link[href$='/manage/shifts']").click()
        staff.wait_for_url("**/manage/shifts")
        staff.select_option("#f-team", label="城南巡逻队")
        staff.locator("form.team-pick button[type=submit]").click()
        staff.wait_for_url(f"**/manage/shifts?team={team_id}")
        assert "城南巡逻队" in staff.locator("#week-h").inner_text()
        assert staff.locator("#week .slot").count() == 0

    with journey.step("new shift form", staff):
        staff.locator(".week-actions a.btn-primary").click()
        staff.wait_for_url("**/manage/shifts/new**")
        assert staff.locator("#f-team_id option:checked").inner_text() == "城南巡逻队"
        day = staff.input_value("#f-day")  # tomorrow, offered by the form
        staff.fill("#f-title", "城南夜巡")
        staff.fill("#f-start", "19:30")
        staff.fill("#f-end", "21:30")
        staff.fill("#f-capacity", "3")
        staff.select_option("#f-stop1", label="南门公园")
        staff.select_option("#f-stop2", label="城南菜场")
        assert _gap_above(staff, "fieldset.route-pick") >= 8  # the route's legend clear of the fields above

    with journey.step("week plan after creating", staff):
        staff.locator("form.shift-form button[type=submit]").click()
        staff.wait_for_url(f"**/manage/shifts?team={team_id}&week={day}")
        slot = staff.locator(".slot", has_text="城南夜巡")
        assert slot.count() == 1
        assert "19:30–21:30" in slot.locator(".slot-time").inner_text()
        assert "0/3" in slot.locator(".slot-fill").inner_text()
        assert staff.locator(".notice-success").count() == 1

    with journey.step("the shift's route", staff):
        slot.click()
        staff.wait_for_url("**/manage/shifts/*")
        assert staff.locator("h1").inner_text().strip() == "城南夜巡"
        main = staff.locator("main").inner_text()
        assert main.index("南门公园") < main.index("城南菜场") and "老街茶室" not in main
    with live_server.session() as session:
        shift = session.exec(select(Shift).where(Shift.title == "城南夜巡")).one()
        assert shift.team_id == team_id and shift.capacity == 3
        shift_id = shift.id

    with journey.step("award form", staff):
        staff.goto("/manage")
        staff.locator(".hub-link[href$='/manage/awards']").click()
        staff.wait_for_url("**/manage/awards")
        staff.fill("#f-q", "赵美兰")  # the picker lists people as the name is typed (htmx)
        found = staff.locator("#award-people label.person-choice", has_text=f"会员编号 {member.id}")
        found.wait_for()
        namesake_row = staff.locator("#award-people label.person-choice", has_text=f"会员编号 {namesake.id}")
        assert "老城巡逻队" in namesake_row.inner_text() and "城南巡逻队" in found.inner_text()
        found.click()
        staff.locator("label.template-choice", has_text="月度之星").click()
        staff.fill("#f-note", "十一月巡逻二十次，风雨无阻")
        assert _gap_above(staff, "fieldset.award-templates") >= 8  # "Award" is not read as the select's

    with journey.step("certificate after granting", staff):
        staff.locator("main form[method=post][action$='/manage/awards'] button[type=submit]").click()
        staff.wait_for_url("**/awards/*/certificate")
        certificate = staff.locator("article.certificate").inner_text()
        assert "赵美兰" in certificate and "月度之星" in certificate
        assert staff.locator(".cert-note").inner_text().strip() == "十一月巡逻二十次，风雨无阻"
    with live_server.session() as session:
        award = session.exec(select(Award).where(Award.user_id == member.id)).one()
        assert (award.title, award.points) == ("月度之星", 50)
        award_id = award.id

    with journey.step("award in the latest awards", staff):
        staff.locator(".cert-actions a[href$='/manage/awards']").click()
        staff.wait_for_url("**/manage/awards")
        row = staff.locator(".award-row", has_text="赵美兰")
        assert row.count() == 1 and "月度之星" in row.inner_text()

    volunteer = new_page(member)
    with journey.step("volunteer told of the award", volunteer):
        volunteer.locator(".topbar .bell").click()
        volunteer.wait_for_url("**/notices")
        notice = volunteer.locator(".notice-item", has_text="月度之星")
        assert notice.count() == 1 and notice.locator(".unread-badge").count() == 1
        assert "十一月巡逻二十次" in notice.inner_text()

    with journey.step("volunteer's certificate", volunteer):
        notice.locator("a").click()
        volunteer.wait_for_url(f"**/awards/{award_id}/certificate")
        assert "赵美兰" in volunteer.locator(".cert-salutation").inner_text()
        assert volunteer.locator(".cert-actions a[href$='/badges']").count() == 1

    with journey.step("volunteer's award among the badges", volunteer):
        volunteer.locator(".cert-actions a[href$='/badges']").click()
        volunteer.wait_for_url("**/badges")
        assert volunteer.locator(".award-row", has_text="月度之星").count() == 1

    with journey.step("volunteer's points", volunteer):
        volunteer.goto("/")
        assert volunteer.locator("#balance").inner_text().strip() == "50"
        volunteer.locator(".quick a[href$='/points']").click()
        volunteer.wait_for_url("**/points")
        entry = volunteer.locator(".history .entry", has_text="月度之星")
        assert entry.locator(".entry-amount").inner_text().strip() == "+50"

    with journey.step("volunteer sees the new team's shift", volunteer):
        volunteer.goto("/shifts")
        card = volunteer.locator(f"#shift-{shift_id}")
        assert "南门公园 → 城南菜场" in card.locator(".shift-route").inner_text()
        assert "城南巡逻队" in card.locator(".shift-team").inner_text()


def _gap_above(page, selector: str) -> float:
    """CSS pixels between an element's top and the bottom of the element before it."""
    return page.locator(selector).evaluate(
        "el => el.getBoundingClientRect().top - el.previousElementSibling.getBoundingClientRect().bottom")
