"""A call-out's journey on real phones: the coordinator sends one in three taps (Manage, 紧急召集,
发送), two volunteers see it at the top of their pages and answer on their phones, and the
coordinator watches the answers arrive without reloading, marks an arrival and closes it."""
from __future__ import annotations

from sqlmodel import select


def test_coordinator_calls_out_and_sees_two_answers_live(new_page, live_server, journey):
    from volunteer_app.models import Callout
    team = "湖滨巡逻队"
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team=team, team_role="coordinator",
                                        display_name="陈队长")
    first = live_server.make_user(team=team, display_name="王阿姨")
    second = live_server.make_user(team=team, display_name="李师傅")

    staff = new_page(coordinator)
    with journey.step("manage hub", staff):
        staff.goto("/manage")
    with journey.step("call-out form", staff):
        staff.locator("a[href='/callouts/new']").click()  # tap 1 (after the hub)
        staff.wait_for_url("**/callouts/new")
    with journey.step("sent and watching", staff):
        staff.locator("form[action='/callouts'] button[type=submit]").click()  # tap 2: send
        staff.wait_for_url("**/callouts/*")
        assert staff.locator("#callout-answers li.muted").count() == 1  # "no answers yet"
    with live_server.session() as session:
        callout = session.exec(select(Callout)).one()
        assert callout.needed == 3 and callout.status == "open"

    for volunteer, button in ((first, "coming"), (second, "cannot")):
        phone = new_page(volunteer)
        with journey.step(f"{volunteer.display_name} sees the call-out", phone):
            phone.goto("/")
            banner = phone.locator(".callout-banner")
            banner.wait_for()
            assert callout.title in banner.inner_text()
        with journey.step(f"{volunteer.display_name} answers", phone):
            banner.locator(f"button[value={button}]").click()
            phone.locator(".callout-banner [aria-pressed=true]").wait_for()

    with journey.step("answers arrived live", staff):
        staff.locator("#answer-%d" % first.id).wait_for(timeout=15_000)  # the list polls every 5 s
        staff.locator("#answer-%d" % second.id).wait_for(timeout=15_000)
        text = staff.locator("#callout-answers").inner_text()
        assert "王阿姨" in text and "李师傅" in text and "1/3" in text
    with journey.step("arrival marked and closed", staff):
        staff.locator(f"form[action$='/arrived/{first.id}'] button").click()
        staff.locator(f"#answer-{first.id} strong").wait_for()
        staff.locator("form[action$='/close'] button").click()
        staff.wait_for_load_state()
        assert staff.locator("form[action$='/close']").count() == 0
