"""The camera inside the page (scanner.js with the vendored jsQR): Chromium is given a poster's
QR code as its camera (a fake capture device reading a .y4m file made from the poster's PNG)."""
from __future__ import annotations

import io

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _watch, login, serve_axe


def _y4m(png: bytes, path) -> None:
    """A few frames of the QR code on white (YUV 4:2:0), as Chromium's fake camera reads them."""
    from PIL import Image
    qr = Image.open(io.BytesIO(png)).convert("RGB")
    qr.thumbnail((420, 420))
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(qr, ((640 - qr.width) // 2, (480 - qr.height) // 2))
    y, u, v = frame.convert("YCbCr").split()
    u, v = u.resize((320, 240)), v.resize((320, 240))
    data = b"FRAME\n" + y.tobytes() + u.tobytes() + v.tobytes()
    path.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + data * 5)


@pytest.fixture
def camera_page(browser, live_server, tmp_path):
    """``camera_page(png, user)``: a page of a browser whose camera shows ``png``."""
    made = []

    def make(png: bytes, user):
        video = tmp_path / "camera.y4m"
        _y4m(png, video)
        fake = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS + [
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"])
        context = fake.new_context(viewport=VIEWPORT, locale="zh-CN", is_mobile=True, has_touch=True,
                                   base_url=live_server.url, permissions=["camera"])
        context.set_default_timeout(15_000)
        serve_axe(context)
        made.append(fake)
        page = context.new_page()
        _watch(page)
        login(page, user.username)
        return page

    yield make
    for fake in made:
        fake.close()


def test_the_scan_tab_reads_a_poster_with_the_camera(camera_page, live_server, journey):
    from volunteer_app.models import User
    from volunteer_app.services import checkpoints, qr
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="镜头队", team_role="coordinator")
    walker = live_server.make_user(team="镜头队")
    with live_server.session() as session:
        place = checkpoints.create(session, session.get(User, coordinator.id), name="雷峰塔下")
        url = live_server.url + "/c/" + checkpoints.token(place)
    live_server.secrets.append(url.rsplit("/", 1)[1])
    page = camera_page(qr.png(url), walker)
    with journey.step("the scan tab offers the camera", page):
        page.goto("/scan")
        assert page.locator("[data-scanner] [data-scan-start]").is_visible()
        assert page.evaluate("() => 'BarcodeDetector' in window") is False  # so jsQR does the reading
    with journey.step("the poster seen by the camera opens its check-in page", page):
        page.locator("[data-scan-start]").click()
        page.wait_for_url("**/c/**")
        assert "雷峰塔下" in page.locator("main").inner_text()


def test_the_counter_reads_a_member_card_with_the_camera_and_a_scanner_gun(camera_page, new_page, live_server,
                                                                             journey):
    from volunteer_app.services import codes, qr
    clerk = live_server.make_user(roles=("clerk",))
    member = live_server.make_user(display_name="周阿婆")
    with live_server.session():  # the code is signed with the server's key
        code, _ = codes.member_code(member.id)
    page = camera_page(qr.png(code), clerk)
    with journey.step("the counter reads the member card with the camera", page):
        page.goto("/counter")
        page.locator("[data-scan-start]").click()
        page.locator(".visit-name", has_text="周阿婆").wait_for()
    gun = new_page(clerk)
    with journey.step("a scanner gun types the code and Enter", gun):
        gun.goto("/counter")
        gun.locator("h1").click()  # the focus is anywhere but the number field
        with live_server.session():
            gun_code = codes.member_code(member.id)[0]
        gun.keyboard.type(gun_code, delay=5)
        gun.keyboard.press("Enter")
        gun.locator(".visit-name", has_text="周阿婆").wait_for()
