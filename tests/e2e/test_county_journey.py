"""A county's day: the county administrator creates a station and prints its join code, makes
the station's administrator; a new volunteer scans the code and registers there; the station's
administrator approves them; the county dashboard shows the station with its two members."""
from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from sqlmodel import select

from .conftest import PASSWORD


def test_county_admin_opens_a_station_and_a_volunteer_joins_it(new_page, live_server, journey, tmp_path):
    from volunteer_app.models import Station, User

    boss = live_server.make_user(roles=("county_admin",), display_name="县局 王科长")
    county = new_page(boss)
    with journey.step("new station form", county):
        county.goto("/county/stations")
        county.fill("#f-name", "灵隐派出所")
        county.fill("#f-short_name", "灵隐")

    with journey.step("join code printed", county):
        county.locator("main form.stack button[type=submit]").last.click()
        county.wait_for_url("**/stations/*/invite")
        join_url = county.locator("[data-join-url]").inner_text().strip()
        assert "/join/" in join_url and county.locator(".poster-name").inner_text().strip() == "灵隐派出所"
    if shutil.which("zbarimg"):
        shot = tmp_path / "join-qr.png"
        county.emulate_media(media="print")  # as printed: no header or bottom bar over the code
        county.locator(".poster-qr").screenshot(path=str(shot))
        county.emulate_media(media="screen")
        decoded = subprocess.run(["zbarimg", "-q", "--raw", str(shot)], capture_output=True, text=True)
        assert decoded.stdout.strip() == join_url
    with live_server.session() as session:
        station_id = session.exec(select(Station.id).where(Station.name == "灵隐派出所")).one()

    admin_name = f"ly{uuid.uuid4().hex[:6]}"
    with journey.step("station admin created", county):
        county.goto("/manage/users/new")
        county.fill("#f-display_name", "灵隐 李所长")
        county.fill("#f-username", admin_name)
        county.fill("#f-password", PASSWORD)
        county.locator("input[name=roles][value=admin]").check()
        county.locator("main form.stack button[type=submit]").click()
        county.wait_for_load_state()
    with live_server.session() as session:
        admin = session.exec(select(User).where(User.username == admin_name)).one()
        assert admin.station_id == station_id and admin.is_admin

    newcomer = new_page()
    volunteer_name = f"v{uuid.uuid4().hex[:7]}"
    live_server.secrets.append(join_url.rsplit("/", 1)[1])
    with journey.step("registration through the join code", newcomer):
        newcomer.goto(join_url)
        assert "灵隐派出所" in newcomer.locator("[data-joining]").inner_text()
        newcomer.fill("#f-display_name", "新人 周晓")
        newcomer.fill("#f-username", volunteer_name)
        newcomer.fill("#f-password", PASSWORD)
        newcomer.fill("#f-password2", PASSWORD)
    with journey.step("waiting for approval", newcomer):
        newcomer.locator("main form button[type=submit]").click()
        newcomer.wait_for_url("**/pending*")
    with live_server.session() as session:
        joined = session.exec(select(User).where(User.username == volunteer_name)).one()
        assert joined.station_id == station_id and joined.status == "pending"

    station_admin = new_page(admin)
    with journey.step("approval by the station's admin", station_admin):
        station_admin.goto("/manage/approvals")
        with station_admin.expect_response(f"**/manage/approvals/{joined.id}/approve"):
            station_admin.locator(f"form[action$='/manage/approvals/{joined.id}/approve'] button.btn-primary").click()
    with live_server.session() as session:
        assert session.get(User, joined.id).status == "active"

    with journey.step("county dashboard", county):
        county.goto("/county")
        card = county.locator(f"[data-station='{station_id}']")
        assert "灵隐派出所" in card.inner_text()
        assert card.locator("table.figures td").first.inner_text().strip() == "2"  # the admin and the newcomer
