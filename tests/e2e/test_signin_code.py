"""A one-time sign-in code: the coordinator shows it, the member scans it with their own phone,
taps 登录, sets a password; the same code scanned again is refused."""
from __future__ import annotations

import base64

from .conftest import login
from .test_journeys import _decode_qr, _user_id

NEW_PASSWORD = "wang's new pass 7"


def test_member_signs_in_with_a_one_time_code(new_page, live_server, journey):
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="东区巡逻队",
                                        team_role="coordinator", display_name="陈队长")
    member = live_server.make_user(team="东区巡逻队", display_name="王大爷")
    live_server.secrets.append(NEW_PASSWORD)
    staff = new_page(coordinator)

    with journey.step("the member's page offers a sign-in code", staff):
        staff.goto(f"/manage/users/{_user_id(live_server, member.username)}")
        button = staff.locator("form[action$='/signin-code'] button")
        assert button.inner_text().strip() == "生成一次性登录码"

    with journey.step("the code, large, on the coordinator's phone", staff):
        button.click()
        staff.locator("img.signin-qr").wait_for()
        assert "王大爷" in staff.locator("main h1").inner_text()
        src = staff.locator("img.signin-qr").get_attribute("src")

    assert src.startswith("data:image/png;base64,")
    url = _decode_qr(base64.b64decode(src.split(",", 1)[1]), journey.folder)
    assert url.startswith(live_server.url + "/s/"), url
    live_server.secrets.append(url.rsplit("/", 1)[1])  # a code: never in the log

    phone = new_page()
    with journey.step("scanned: whom it is for and one button", phone):
        phone.goto(url)
        assert "王大爷" in phone.locator("main h1").inner_text()
        assert phone.locator("main form button[type=submit]").inner_text().strip() == "登录"

    with journey.step("signed in, a new password offered", phone):
        phone.locator("main form button[type=submit]").click()
        phone.wait_for_url("**/signin/password")
        phone.fill("#f-new_password", NEW_PASSWORD)
        phone.fill("#f-new_password2", NEW_PASSWORD)

    with journey.step("password saved", phone):
        phone.locator("button[name=action][value=set]").click()
        phone.locator(".notice-ok").wait_for()
        phone.locator("main a.btn-primary").click()
        phone.locator("#balance").wait_for()  # home, signed in

    other = new_page()
    with journey.step("the new password works", other):
        login(other, member.username, NEW_PASSWORD)
        other.locator("#balance").wait_for()

    replay = new_page()
    with journey.step("the same code scanned again is refused in words", replay):
        response = replay.goto(url)
        assert response.status == 410
        assert replay.locator("main .signin-refused").inner_text().strip()
        assert replay.locator("main form button[type=submit]").count() == 0
