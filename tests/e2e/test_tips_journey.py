"""A tip's journey on real phones: a volunteer reports with the phone's position and a big camera
photo (made smaller on the phone), taps twice, sees it once; the coordinator triages it in place
and verifies it; the volunteer sees the points."""
from __future__ import annotations

import io

from PIL import Image
from sqlmodel import select


def _camera_photo(path) -> int:
    """A noisy 4000x3000 JPEG, like a phone camera's (several MB)."""
    image = Image.effect_noise((4000, 3000), 60).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def test_volunteer_reports_a_tip_and_gets_points(new_page, live_server, journey, tmp_path):
    from volunteer_app.models import Tip, TipPhoto
    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="湖滨巡逻队",
                                        team_role="coordinator", display_name="陈队长")
    volunteer = live_server.make_user(team="湖滨巡逻队", display_name="王阿姨")
    photo = tmp_path / "IMG_2041.jpg"
    original_size = _camera_photo(photo)
    assert original_size > 3 * 1024 * 1024

    page = new_page(volunteer)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.2592, "longitude": 120.1489, "accuracy": 12})
    with journey.step("report form", page):
        page.goto("/tips/new")
        page.locator("label.cat-ecology").click()
        page.fill("#f-description", "断桥边有人夜里电鱼")
        page.locator("#locate").click()
        page.wait_for_function("() => document.getElementById('f-latitude').value !== ''")
        page.fill("#f-place", "北山街断桥东侧")
        page.set_input_files("#f-photos", str(photo))
        page.wait_for_function("() => document.getElementById('f-photos').files[0].size < 1500000")

    with journey.step("sent once despite a double tap", page):
        button = page.locator("button.btn-huge[type=submit]")
        button.dblclick()
        page.wait_for_url("**/tips/mine**")
        assert page.locator(".tip-card").count() == 1
        assert page.locator(".notice-success").count() == 1

    with live_server.session() as session:
        [tip] = session.exec(select(Tip).where(Tip.reporter_id == volunteer.id)).all()
        assert (tip.category, round(tip.latitude, 4), tip.place) == ("ecology", 30.2592, "北山街断桥东侧")
        [stored] = session.exec(select(TipPhoto).where(TipPhoto.tip_id == tip.id)).all()
        assert max(stored.width, stored.height) == 1600 and stored.size < original_size
        tip_id = tip.id

    staff = new_page(coordinator)
    with journey.step("inbox with triage in place", staff):
        staff.goto("/manage/tips")
        row = staff.locator(f"#tip-row-{tip_id}")
        row.locator("button.level-btn-red").click()
        staff.wait_for_selector(f"#tip-row-{tip_id} .level-red")
        assert staff.locator(f"#tip-row-{tip_id} .state-ok").is_visible()
        assert staff.url.endswith("/manage/tips")  # swapped in place, no page change

    with journey.step("review as valid", staff):
        staff.goto(f"/tips/{tip_id}")
        assert staff.locator(".photo-grid img").count() == 1
        staff.fill("#f-points", "25")
        staff.fill("#f-note", "已到场制止，谢谢王阿姨")
        staff.locator("#review button[value='1']").click()
        staff.wait_for_load_state()
        assert staff.locator(".points-earned").inner_text().strip() == "+25"

    with journey.step("volunteer sees the points", page):
        page.goto("/tips/mine")
        assert page.locator(".tip-card.is-fresh .points-earned").inner_text().strip().startswith("+25")
