"""Hours on real phones: a volunteer signs in at the tea room's poster, sees the running duty on
home, signs out with the big button and sees the hours; asks for make-up hours, the coordinator
confirms them, and the certificate counts both kinds."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select


def test_tea_room_duty_and_a_make_up_reach_the_certificate(new_page, live_server, journey):
    from volunteer_app import timeutil
    from volunteer_app.models import Checkpoint, ServiceRecord
    from volunteer_app.services import checkpoints

    coordinator = live_server.make_user(roles=("coordinator", "volunteer"), team="调解茶室", team_role="coordinator",
                                        display_name="陈队长")
    volunteer = live_server.make_user(team="调解茶室", display_name="王阿姨")
    with live_server.session() as session:
        post = Checkpoint(station_id=volunteer.station_id, name="断桥茶室", duty_post=True, service_kind="tea_room")
        session.add(post)
        session.flush()
        token = checkpoints.token(post)
    live_server.secrets.append(token)

    phone = new_page(volunteer)
    with journey.step("signs in at the tea room's poster", phone):
        phone.goto(f"/c/{token}")
        assert "断桥茶室" in phone.locator("main").inner_text()
        phone.locator("form.checkin-form button[type=submit]").click()
        phone.locator(".result-ok").wait_for()

    with live_server.session() as session:  # two hours and ten minutes pass
        [record] = session.exec(select(ServiceRecord).where(ServiceRecord.user_id == volunteer.id)).all()
        record.started_at = timeutil.utcnow() - timedelta(hours=2, minutes=10)
        session.add(record)

    with journey.step("home shows the running duty", phone):
        phone.goto("/")
        card = phone.locator("section.duty.is-running")
        assert "值守中 · 断桥茶室" in card.inner_text() and "已 2 小时 10 分" in card.inner_text()

    with journey.step("signs out with the big button", phone):
        button = card.locator("button[type=submit]")
        assert button.inner_text().strip() == "签退"
        button.click()
        phone.get_by_text("已签退", exact=False).wait_for()
        assert phone.locator("#hours-served").inner_text().strip() == "2.17"
        assert phone.locator("section.duty.is-running").count() == 0

    day = (timeutil.local(timeutil.utcnow()) - timedelta(days=1)).date().isoformat()
    with journey.step("asks for make-up hours", phone):
        phone.goto("/me/service/makeup")
        phone.select_option("#f-kind", "mediation")
        phone.fill("#f-place", "湖滨社区调解室")
        phone.fill("#f-day", day)
        phone.fill("#f-start", "09:00")
        phone.fill("#f-end", "11:00")
        phone.fill("#f-note", "手机没电，没能扫码")
        phone.locator("main form button[type=submit]").click()
        phone.wait_for_url("**/me/service")
        assert "待审核" in phone.locator("main").inner_text()

    staff = new_page(coordinator)
    with journey.step("the coordinator confirms it", staff):
        staff.goto("/staff/service")
        review = staff.locator("section.review").first
        assert "王阿姨" in review.inner_text() and "湖滨社区调解室" in review.inner_text()
        review.locator("form").first.locator("button[type=submit]").click()
        staff.wait_for_url("**/staff/service")
        assert "已确认" in staff.locator("main").inner_text()

    with journey.step("the certificate counts both kinds", phone):
        phone.goto(f"/reports/certificate/{volunteer.id}")
        text = phone.locator("main").inner_text()
        assert "其中茶室值守" in text and "其中调解" in text
        assert "4.2 小时" in text  # 2 h 10 min + 2 h
