"""People's journeys through the phone pages, in Chinese, at 390x844, against gunicorn.

Assertions use element ids, classes and the document language rather than visible words, so that
the journeys hold before and after the catalogs are translated.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import pytest
from sqlmodel import select

from .conftest import PASSWORD, login


def _user_id(live_server, username: str) -> int:
    from volunteer_app.models import User
    with live_server.session() as session:
        return session.exec(select(User.id).where(User.username == username)).one()


def _html_lang(page) -> str:
    return page.evaluate("() => document.documentElement.lang")


def test_volunteer_registers_is_approved_and_signs_in(new_page, live_server, journey):
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="东区巡逻队",
                                        team_role="coordinator", display_name="陈队长")
    username = f"xiaoli{uuid.uuid4().hex[:6]}"
    volunteer = new_page()

    with journey.step("register form", volunteer):
        volunteer.goto("/register")
        assert _html_lang(volunteer) == "zh-CN"
        volunteer.fill("#f-display_name", "李秀英")
        volunteer.fill("#f-username", username)
        volunteer.fill("#f-phone", "13800001234")
        volunteer.fill("#f-password", PASSWORD)
        volunteer.fill("#f-password2", PASSWORD)

    with journey.step("awaiting approval", volunteer):
        volunteer.locator("main form button[type=submit]").click()
        volunteer.wait_for_url("**/pending**")

    with journey.step("signing in before approval is refused", volunteer):
        volunteer.goto("/login")
        volunteer.fill("#f-username", username)
        volunteer.fill("#f-password", PASSWORD)
        volunteer.locator("main form button[type=submit]").click()
        volunteer.wait_for_url("**/pending**")

    user_id = _user_id(live_server, username)
    staff = new_page(coordinator)
    with journey.step("coordinator sees the registration", staff):
        staff.goto("/manage/approvals")
        row = staff.locator(f"#approval-{user_id}")
        assert row.is_visible()
        assert "李秀英" in row.inner_text()

    with journey.step("coordinator approves in place", staff):
        staff.locator(f"#approval-{user_id} button.btn-primary").click()
        staff.locator(f"#approval-{user_id} .state-ok").wait_for()
        assert "/manage/approvals" in staff.url  # htmx swapped the row in place

    with journey.step("volunteer is offered large text once", volunteer):
        volunteer.goto("/login")
        volunteer.fill("#f-username", username)
        volunteer.fill("#f-password", PASSWORD)
        volunteer.locator("main form button[type=submit]").click()
        volunteer.wait_for_url("**/welcome**")

    with journey.step("home", volunteer):
        volunteer.locator("button[name=large][value='0']").click()
        volunteer.locator("#balance").wait_for()
        assert volunteer.locator("#balance").inner_text().strip() == "0"
        assert "东区巡逻队" in volunteer.locator("main").inner_text()
        assert _html_lang(volunteer) == "zh-CN"


def test_language_switch(new_page, live_server, journey):
    user = live_server.make_user(display_name="王建国")
    page = new_page()
    with journey.step("login page in chinese", page):
        page.goto("/login")
        assert _html_lang(page) == "zh-CN"

    with journey.step("switched to english", page):
        page.locator("form.lang button").click()
        page.wait_for_load_state()
        assert _html_lang(page) == "en"
        assert "/login" in page.url  # stays on the same page

    with journey.step("signed in, the person's own language", page):
        login(page, user.username)
        assert _html_lang(page) in ("zh-CN", "en")

    with journey.step("switched to english when signed in", page):
        if _html_lang(page) != "en":
            page.locator("form.lang button").click()
            page.wait_for_load_state()
        assert _html_lang(page) == "en"
        assert page.locator("#balance").count() == 1  # still on the home page

    other = new_page(user)
    with journey.step("the choice is kept for the person on another phone", other):
        other.goto("/")
        assert _html_lang(other) == "en"

    with journey.step("back to chinese", other):
        other.locator("form.lang button").click()
        other.wait_for_load_state()
        assert _html_lang(other) == "zh-CN"


def _decode_qr(png: bytes, folder) -> str:
    path = folder / "poster-qr.png"
    path.write_bytes(png)
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.skip("zbarimg is missing (Debian package 'zbar-tools'; .ci/run installs it)")
    out = subprocess.run([zbarimg, "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"zbarimg could not read the poster: {out.stderr}"
    return out.stdout.strip()


def test_volunteer_checks_in_at_a_poster(new_page, live_server, journey):
    from volunteer_app.models import User
    from volunteer_app.services import checkpoints

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="西区巡逻队",
                                        team_role="coordinator")
    volunteer_user = live_server.make_user(team="西区巡逻队", display_name="张桂兰")
    with live_server.session() as session:
        actor = session.get(User, coordinator.id)
        checkpoint = checkpoints.create(session, actor, name="湖滨路口", points=5, cooldown_minutes=30)
        checkpoint_id = checkpoint.id

    staff = new_page(coordinator)
    with journey.step("coordinator opens the poster", staff):
        staff.goto(f"/manage/checkpoints/{checkpoint_id}/poster")
        assert "湖滨路口" in staff.locator("main").inner_text()

    png = staff.request.get(f"/manage/checkpoints/{checkpoint_id}/qr.png")
    assert png.ok and png.headers["content-type"].startswith("image/png")
    url = _decode_qr(png.body(), journey.folder)
    assert url.startswith(live_server.url + "/c/"), url
    live_server.secrets.append(url.rsplit("/", 1)[1])  # a code: never in the log

    volunteer = new_page(volunteer_user)
    with journey.step("scanned poster opens the check-in page", volunteer):
        volunteer.goto(url)
        assert "湖滨路口" in volunteer.locator("main").inner_text()

    with journey.step("checked in", volunteer):
        sent = []
        volunteer.on("request", lambda request: sent.append((request.method, request.url)) if
                     request.resource_type in ("document", "xhr", "fetch") else None)
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator(".result-ok").wait_for()
        assert "5" in volunteer.locator(".result-points").inner_text()
        # one round trip (the boosted form), and the address is the result's: a reload posts nothing
        assert [method for method, _ in sent] == ["POST"], sent
        volunteer.wait_for_url("**/checkins/*")
        volunteer.reload()
        volunteer.locator(".result-ok").wait_for()

    with journey.step("home shows the points", volunteer):
        volunteer.goto("/")
        assert volunteer.locator("#balance").inner_text().strip() == "5"

    with journey.step("scanning again is refused with a reason", volunteer):
        volunteer.goto(url)
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator("section.result-info[role=alert]").wait_for()
        assert volunteer.locator(".result-ok").count() == 0
        assert "已经签到过了" in volunteer.locator("main").inner_text()


def test_check_in_with_position_over_a_weak_signal(new_page, live_server, journey):
    """A checkpoint that needs the position: the phone is asked for it before anything is sent.
    The first try reaches the server but its answer is lost (the connection drops): the page
    says so in words and the button works again; the second tap shows the check-in the first
    one made, counted once."""
    from sqlmodel import func

    from volunteer_app.models import Checkin, User
    from volunteer_app.services import checkpoints

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="山区巡逻队",
                                        team_role="coordinator")
    walker = live_server.make_user(team="山区巡逻队", display_name="赵大妈")
    with live_server.session() as session:
        place = checkpoints.create(session, session.get(User, coordinator.id), name="半山凉亭", points=8,
                                   latitude=30.2470, longitude=120.1620, require_location=True)
        token = checkpoints.token(place)
    live_server.secrets.append(token)
    volunteer = new_page(walker)
    volunteer.context.grant_permissions(["geolocation"])
    volunteer.context.set_geolocation({"latitude": 30.2471, "longitude": 120.1621, "accuracy": 10})

    with journey.step("the poster asks for the position", volunteer):
        volunteer.goto(f"/c/{token}")
        assert "半山凉亭" in volunteer.locator("main").inner_text()
        assert volunteer.locator("form.checkin-form[data-need-location]").count() == 1

    with journey.step("the signal drops: the scan is kept on the phone, told in words", volunteer):
        sent = []

        def drop(route):
            sent.append(route.request.post_data or "")
            route.fetch()  # the server records it...
            route.abort("internetdisconnected")  # ...and the answer never arrives

        volunteer.route(f"**/c/{token}", lambda route: drop(route) if route.request.method == "POST"
                        else route.continue_())
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator(".send-saved").wait_for()
        assert "信号不好" in volunteer.locator(".send-saved").inner_text()
        assert "待补交：1" in volunteer.locator("#queue-box").inner_text()
        assert len(sent) == 1 and "latitude=30.247100" in sent[0], sent  # the position went with it

    with journey.step("sent again, it shows the check-in the first try made, counted once", volunteer):
        volunteer.unroute(f"**/c/{token}")
        volunteer.locator("#queue-box [data-queue-flush]").click()
        volunteer.locator("#queue-box .queue-done").wait_for()
        assert "半山凉亭" in volunteer.locator("#queue-box .queue-done").inner_text()
        assert volunteer.evaluate("() => window.volunteerQueue.read().length") == 0
    with live_server.session() as session:
        assert session.exec(select(func.count()).select_from(Checkin).where(Checkin.user_id == walker.id)).one() == 1


def test_logged_out_scan_leads_through_login_and_back(new_page, live_server, journey):
    from volunteer_app.models import User
    from volunteer_app.services import checkpoints

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="南区巡逻队",
                                        team_role="coordinator")
    volunteer_user = live_server.make_user(team="南区巡逻队")
    with live_server.session() as session:
        checkpoint = checkpoints.create(session, session.get(User, coordinator.id), name="社区茶室", points=3)
        token = checkpoints.token(checkpoint)
    page = new_page()
    with journey.step("poster url asks to sign in", page):
        page.goto(f"/c/{token}")
        assert "/login" in page.url
    with journey.step("after signing in the check-in page opens", page):
        page.fill("#f-username", volunteer_user.username)
        page.fill("#f-password", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/c/{token}")
        assert page.locator("form.checkin-form").count() == 1


def test_clerk_redeems_against_the_member_card(new_page, live_server, journey):
    from volunteer_app.models import User
    from volunteer_app.services import ledger, store

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="北区巡逻队",
                                        team_role="coordinator")
    clerk = live_server.make_user(roles=("clerk",), display_name="店员小林")
    member = live_server.make_user(team="北区巡逻队", display_name="刘海燕")
    with live_server.session() as session:
        ledger.post(session, member.id, 40, "adjustment", f"e2e-seed:{member.id}", reason="e2e")
        item = store.create_item(session, session.get(User, coordinator.id), name=f"保温杯{uuid.uuid4().hex[:4]}",
                                 cost=25, stock=3)
        item_id = item.id

    volunteer = new_page(member)
    with journey.step("member card", volunteer):
        volunteer.goto("/store/card")
        number = volunteer.locator("#member-number").inner_text().strip()
        assert re.fullmatch(r"\d+-\d+", number), number
        live_server.secrets.append(number.split("-")[1])

    counter = new_page(clerk)
    with journey.step("clerk's counter", counter):
        counter.goto("/counter")
        counter.fill("#f-member_code", number)

    with journey.step("volunteer identified", counter):
        counter.locator("form[action$='/counter/identify'] button[type=submit]").click()
        counter.locator(".visit-name").wait_for()
        assert "刘海燕" in counter.locator(".visit-name").inner_text()
        assert counter.locator(".store-balance-value").inner_text().strip() == "40"

    with journey.step("item chosen", counter):
        counter.fill(f"#q-{item_id}", "1")

    with journey.step("handed over", counter):
        counter.locator("form.basket button[type=submit]").click()
        counter.wait_for_url("**/counter/receipt/**")
        assert "25" in counter.locator("main").inner_text()

    with journey.step("volunteer's balance went down", volunteer):
        volunteer.goto("/")
        assert volunteer.locator("#balance").inner_text().strip() == "15"


def test_coordinator_places_a_checkpoint_and_runs_an_event(new_page, live_server, journey):
    from datetime import timedelta

    from volunteer_app.models import User
    from volunteer_app.services import events
    from volunteer_app.timeutil import utcnow

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="反诈宣传队",
                                        team_role="coordinator", display_name="陈建华")
    member = live_server.make_user(team="反诈宣传队", display_name="周桂兰")
    staff = new_page(coordinator)

    with journey.step("new checkpoint form", staff):
        staff.goto("/manage/checkpoints/new")
        staff.fill("#f-name", "菜市场东门")
        staff.fill("#f-points", "4")

    with journey.step("poster page after saving", staff):
        staff.locator("main form button[type=submit]").last.click()
        staff.wait_for_url("**/poster")
        assert "菜市场东门" in staff.locator("main").inner_text()

    with live_server.session() as session:
        now = utcnow()
        event = events.create(session, session.get(User, coordinator.id), title="反诈讲座", points=10,
                              starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=1),
                              location="社区活动室")
        event_id = event.id

    with journey.step("live code on screen", staff):
        staff.goto(f"/manage/events/{event_id}/live")
        staff.locator(".live-qr").wait_for()

    shot = journey.folder / "live-code-qr.png"
    staff.locator(".live-qr").screenshot(path=str(shot))
    url = _decode_qr(shot.read_bytes(), journey.folder)
    assert url.startswith(live_server.url + "/c/"), url
    live_server.secrets.append(url.rsplit("/", 1)[1])

    volunteer = new_page(member)
    with journey.step("volunteer opens the scanned event code", volunteer):
        volunteer.goto(url)
        assert "反诈讲座" in volunteer.locator("main").inner_text()

    with journey.step("checked in at the event", volunteer):
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator(".result-ok").wait_for()
        assert "10" in volunteer.locator(".result-points").inner_text()


def test_volunteer_signs_up_for_a_shift_and_walks_the_route(new_page, live_server, journey):
    from datetime import timedelta

    from volunteer_app.models import Team, User
    from volunteer_app.services import checkpoints, shifts
    from volunteer_app.timeutil import utcnow

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="夜巡队",
                                        team_role="coordinator")
    member = live_server.make_user(team="夜巡队", display_name="吴志强")
    with live_server.session() as session:
        actor = session.get(User, coordinator.id)
        team_id = session.exec(select(Team.id).where(Team.name == "夜巡队")).one()
        first = checkpoints.create(session, actor, name="一号岗", points=2, team_id=team_id)
        second = checkpoints.create(session, actor, name="二号岗", points=2, team_id=team_id)
        tokens = [checkpoints.token(first), checkpoints.token(second)]
        now = utcnow()
        shift = shifts.create_shifts(session, actor, team_id=team_id, title="湖滨夜巡",
                                     starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(hours=2),
                                     capacity=3, checkpoint_ids=[first.id, second.id], points_per_hour=10)[0]
        shift_id = shift.id
        shift_window = (shift.starts_at, shift.ends_at)

    volunteer = new_page(member)
    with journey.step("shifts list", volunteer):
        volunteer.goto("/shifts")
        assert "湖滨夜巡" in volunteer.locator("main").inner_text()

    with journey.step("a sign-up lost on a weak signal is said in words", volunteer):
        volunteer.route(f"**/shifts/{shift_id}/signup", lambda route: route.abort("internetdisconnected"))
        volunteer.locator(f"form[hx-post$='/shifts/{shift_id}/signup'] button[type=submit]").click()
        volunteer.locator(".net-lost").wait_for()
        assert "信号不好" in volunteer.locator(".net-lost").inner_text()
        volunteer.unroute(f"**/shifts/{shift_id}/signup")

    with journey.step("signed up", volunteer):
        card_form = volunteer.locator(f"form[hx-post$='/shifts/{shift_id}/signup']")
        card_form.locator("button[type=submit]").click()
        volunteer.locator(f"form[hx-post$='/shifts/{shift_id}/withdraw']").wait_for()
        assert volunteer.locator(".net-lost").is_hidden()  # the next answer that got through clears it

    for number, token in enumerate(tokens, 1):
        with journey.step(f"route checkpoint {number}", volunteer):
            volunteer.goto(f"/c/{token}")
            volunteer.locator("form.checkin-form button[type=submit]").click()
            volunteer.locator(".result-ok").wait_for()

    with journey.step("route completed", volunteer):
        text = volunteer.locator("main").inner_text()
        assert volunteer.locator(".notice-success", has_text="✓").count() == 1, text

    with journey.step("shift points on the home page", volunteer):
        volunteer.goto("/")
        # two check-ins of 2 points; the route was walked before the shift's start (within its grace),
        # so the shift credits 0 minutes and no points: credit is the time on the route, never the schedule
        assert volunteer.locator("#balance").inner_text().strip() == str(2 + 2)
    with live_server.session() as session:
        from volunteer_app.models import ServiceRecord
        record = session.exec(select(ServiceRecord).where(ServiceRecord.user_id == member.id)).one()
        assert (record.source, record.minutes, record.started_at) == ("route", 0, shift_window[0])
