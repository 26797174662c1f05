"""通知设置 on a phone: from my profile to the switches, a kind turned off and on again with one
tap each (htmx, the switch says 开/关 in words), in the large mode (长辈版) too; without a phone
number the SMS part asks for one."""
from __future__ import annotations


def test_a_volunteer_turns_a_kind_off_and_on_in_the_large_mode(new_page, live_server, journey):
    from sqlmodel import select

    from volunteer_app.models import NoticePreference, User
    volunteer = live_server.make_user(display_name="王阿姨")
    with live_server.session() as session:
        row = session.get(User, volunteer.id)
        row.large_mode, row.phone = True, "13800138000"
    phone = new_page(volunteer)
    with journey.step("profile links to the settings", phone):
        phone.goto("/profile")
        phone.locator("a[href='/profile/notices']").click()
        phone.wait_for_url("**/profile/notices")
    tips = phone.locator("form:has(input[name=kind][value=tips]) button")
    with journey.step("notice settings, large mode", phone):
        assert phone.locator("body.large").count() == 1
        assert tips.get_attribute("aria-checked") == "true" and tips.inner_text() == "开"
        box = tips.bounding_box()
        assert box["height"] >= 60 and box["width"] >= 60
    with journey.step("tips turned off", phone):
        tips.click()
        phone.locator("form:has(input[name=kind][value=tips]) button[aria-checked=false]").wait_for()
        assert phone.locator("form:has(input[name=kind][value=tips]) button").inner_text() == "关"
    with live_server.session() as session:
        assert session.exec(select(NoticePreference.muted).where(NoticePreference.user_id == volunteer.id)).one() == "tips"
    with journey.step("SMS for call-outs turned off", phone):
        phone.locator("form:has(input[name=sms][value=callouts]) button").click()
        phone.locator("form:has(input[name=sms][value=callouts]) button[aria-checked=false]").wait_for()
    with journey.step("security cannot be turned off", phone):
        assert phone.locator("form:has(input[name=kind][value=security]) button").is_disabled()


def test_without_a_phone_number_the_sms_part_asks_for_one(new_page, live_server, journey):
    volunteer = live_server.make_user(display_name="李师傅")
    phone = new_page(volunteer)
    with journey.step("notice settings without a phone", phone):
        phone.goto("/profile/notices")
        assert phone.locator("input[name=sms]").count() == 0
        assert phone.locator("#notice-switches a[href='/profile']").count() == 1


def test_the_call_out_form_offers_a_checkpoint_as_the_place(new_page, live_server, journey):
    from sqlmodel import select

    from volunteer_app.models import Callout, Checkpoint, Station
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="湖滨巡逻队", team_role="coordinator")
    with live_server.session() as session:
        station = session.exec(select(Station)).first()
        checkpoint = Checkpoint(station_id=station.id, name="断桥东口")
        session.add(checkpoint)
        session.flush()
        checkpoint_id = checkpoint.id
    staff = new_page(coordinator)
    with journey.step("call-out form with a checkpoint", staff):
        staff.goto("/callouts/new")
        staff.locator("details summary").click()
        staff.select_option("#c-checkpoint", str(checkpoint_id))
    with journey.step("sent with the checkpoint", staff):
        staff.locator("form[action='/callouts'] button[type=submit]").click()
        staff.wait_for_url("**/callouts/*")
    with live_server.session() as session:
        callout = session.exec(select(Callout)).one()
        assert callout.checkpoint_id == checkpoint_id and callout.place == "断桥东口"
