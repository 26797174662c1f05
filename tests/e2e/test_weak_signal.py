"""Weak signal on a phone (Chromium at 390x844, the network emulated through Playwright): a scan
made without signal is kept on the phone and sent when the signal is back, counted once at the
moment it was made; a request that hangs says so in words."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from volunteer_app import timeutil


def _place(live_server, name: str, **fields):
    from volunteer_app.models import Team, User
    from volunteer_app.services import checkpoints
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="湖区巡逻队", team_role="coordinator")
    walker = live_server.make_user(team="湖区巡逻队", display_name="王阿姨")
    with live_server.session() as session:
        team = session.exec(select(Team).where(Team.name == "湖区巡逻队")).one()
        place = checkpoints.create(session, session.get(User, coordinator.id), name=name, team_id=team.id, **fields)
        token = checkpoints.token(place)
    live_server.secrets.append(token)
    return walker, token, coordinator


def _checkins(live_server, user_id):
    from volunteer_app.models import Checkin
    with live_server.session() as session:
        return session.exec(select(Checkin).where(Checkin.user_id == user_id)).all()


def test_an_offline_scan_is_kept_and_sent_on_reconnect_at_its_own_time(new_page, live_server, journey):
    walker, token, _ = _place(live_server, "湖滨亭", points=5)
    volunteer = new_page(walker)
    # The phone's clock reads 40 minutes ago at the tap: the check-in must carry that moment.
    tapped = (timeutil.utcnow() - timedelta(minutes=40)).replace(microsecond=0)
    with journey.step("the poster page, opened while there was signal", volunteer):
        volunteer.goto(f"/c/{token}")
        volunteer.clock.set_fixed_time(tapped)
    with journey.step("no signal at the tap: kept on the phone, said in words", volunteer):
        volunteer.context.set_offline(True)
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator(".send-saved").wait_for()
        box = volunteer.locator("#queue-box").inner_text()
        assert "信号不好，签到已保存在手机上，有信号时会自动补交" in box and "待补交：1" in box
        assert _checkins(live_server, walker.id) == []
    with journey.step("the signal comes back: sent by itself, the result shown", volunteer):
        volunteer.context.set_offline(False)
        volunteer.locator("#queue-box .queue-done").wait_for()
        assert "湖滨亭" in volunteer.locator("#queue-box .queue-done").inner_text()
        assert volunteer.evaluate("() => window.volunteerQueue.read().length") == 0
    [checkin] = _checkins(live_server, walker.id)
    assert checkin.created_at == tapped.replace(tzinfo=timeutil.UTC) and checkin.received_at > checkin.created_at
    with journey.step("another visit sends nothing more", volunteer):
        volunteer.goto("/")
    assert len(_checkins(live_server, walker.id)) == 1


def test_a_scan_kept_on_the_phone_is_sent_on_the_next_visit(new_page, live_server, journey):
    walker, token, _ = _place(live_server, "柳浪亭", points=5)
    volunteer = new_page(walker)
    with journey.step("no signal at the tap", volunteer):
        volunteer.goto(f"/c/{token}")
        volunteer.route(f"**/c/{token}", lambda route: route.abort("internetdisconnected")
                        if route.request.method == "POST" else route.continue_())
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator(".send-saved").wait_for()
        volunteer.unroute(f"**/c/{token}")
    with journey.step("home, later: sent and said", volunteer):
        volunteer.goto("/")
        volunteer.locator("#queue-box .queue-done").wait_for()
    assert len(_checkins(live_server, walker.id)) == 1


def test_a_hanging_check_in_says_so_and_is_kept(new_page, live_server, journey):
    walker, token, _ = _place(live_server, "断桥亭", points=5)
    volunteer = new_page(walker)
    held = []
    with journey.step("the check-in page", volunteer):
        volunteer.goto(f"/c/{token}")
        volunteer.evaluate("() => { htmx.config.timeout = 1000; }")  # the page's 15 s, shortened for the test
        volunteer.route(f"**/c/{token}", lambda route: held.append(route) if route.request.method == "POST"
                        else route.continue_())
    with journey.step("no answer: the page says the scan is kept", volunteer):
        volunteer.locator("form.checkin-form button[type=submit]").click()
        volunteer.locator(".send-saved").wait_for()
        assert "信号不好" in volunteer.locator(".send-saved").inner_text()
    assert held and _checkins(live_server, walker.id) == []


def test_a_hanging_partial_update_says_what_happened(new_page, live_server, journey):
    walker, _token, _ = _place(live_server, "西湖亭")
    page = new_page(walker)
    with journey.step("a page with a partial update", page):
        page.goto("/points")
        page.evaluate("() => { htmx.config.timeout = 1000; }")
        page.route("**/hang-here", lambda route: None)
    with journey.step("it hangs: said in words", page):
        page.evaluate("() => { htmx.ajax('GET', '/hang-here', {target: 'main', swap: 'none'}).catch(() => null); }")
        page.locator(".net-lost").wait_for()
        assert "信号" in page.locator(".net-lost").inner_text()


def test_a_checkpoint_picked_by_hand_is_held_for_the_coordinator(new_page, live_server, journey):
    from volunteer_app.models import Notice
    walker, _token, coordinator = _place(live_server, "孤山亭", points=5)
    page = new_page(walker)
    with journey.step("home leads to 待补交", page):
        page.goto("/")
        page.locator("a[href='/queued']").click()
        page.wait_for_url("**/queued")
    with journey.step("picked by hand without signal: kept", page):
        page.context.set_offline(True)
        page.locator(".unscanned-form button[type=submit]").click()
        page.locator(".queue-list li", has_text="孤山亭").wait_for()
    with journey.step("signal again: the coordinator is told, no check-in", page):
        page.context.set_offline(False)
        page.locator("#queue-box .queue-done").wait_for()
    assert _checkins(live_server, walker.id) == []
    with live_server.session() as session:
        assert session.exec(select(Notice).where(Notice.user_id == coordinator.id)).first() is not None


def test_the_member_card_shows_an_expired_code_when_the_connection_is_lost(new_page, live_server, journey):
    walker = live_server.make_user(display_name="钱大伯")
    page = new_page(walker)
    with journey.step("the member card", page):
        page.clock.install()
        page.goto("/store/card")
        assert page.locator(".member-expired").is_hidden()
        assert page.locator(".member-balance").is_visible()
    with journey.step("no connection for three minutes: expired, a large refresh button", page):
        page.context.set_offline(True)
        page.clock.run_for("03:00")
        page.locator(".member-expired").wait_for()
        assert page.locator("#member-card.is-expired").count() == 1
        assert "刷新" in page.locator("[data-card-refresh]").inner_text()
        assert page.locator(".member-balance").is_visible()
    with journey.step("signal again: refresh brings a live code", page):
        page.context.set_offline(False)
        page.locator("[data-card-refresh]").click()
        page.locator("#member-card:not(.is-expired)").wait_for()
        assert page.locator(".member-expired").is_hidden()


def test_a_form_post_with_no_answer_says_so(new_page, live_server, journey):
    walker = live_server.make_user(display_name="孙阿姨")
    page = new_page(walker)
    held = []
    with journey.step("a form", page):
        page.goto("/profile")
        page.evaluate("() => { htmx.config.timeout = 1000; }")  # the page's 15 s, shortened for the test
        page.route("**/profile", lambda route: held.append(route) if route.request.method == "POST"
                   else route.continue_())
    # No journey step and no evaluation while the post is pending (both wait for the page to load, and
    # this one never does): the page tells the console when the notice shows.
    with page.expect_console_message(lambda message: message.text.startswith("net-slow"), timeout=10_000) as said:
        page.evaluate("""() => {
          const notice = document.querySelector('.net-slow');
          new MutationObserver(() => { if (!notice.hidden) console.log('net-slow: ' + notice.textContent.trim()); })
            .observe(notice, {attributes: true});
          document.querySelector('main form').requestSubmit();
        }""")
    assert "15" in said.value.text and "信号不好" in said.value.text
    assert len(held) == 1
    held[0].abort()


def test_inside_wechat_downloads_and_printing_say_to_open_the_browser(browser, live_server, journey):
    from .conftest import PASSWORD, VIEWPORT, _watch, login, serve_axe
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="微信队", team_role="coordinator",
                                        password=PASSWORD)
    _place(live_server, "苏堤亭")
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", is_mobile=True, base_url=live_server.url,
                                  user_agent="Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 Chrome/116.0 "
                                             "Mobile Safari/537.36 MicroMessenger/8.0.44")
    serve_axe(context)
    page = context.new_page()
    _watch(page)
    login(page, coordinator.username)
    with journey.step("the posters page says where printing works", page):
        page.goto("/manage/checkpoints/posters")
        assert "请点右上角 ··· 在浏览器打开" in page.locator(".wechat-open").inner_text()
        assert page.locator(".wechat-open").is_visible()
    with journey.step("home has nothing to download: nothing said", page):
        page.goto("/")
        assert page.locator(".wechat-open").is_hidden()
    context.close()
