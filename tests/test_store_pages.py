"""Store pages (store, member card, counter, summary, CSV, catalog) and item pictures."""
from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from volunteer_app import cli, timeutil
from volunteer_app.models import Redemption, StockMovement, StoreItem, User
from volunteer_app.services import codes, store

from . import factories
from .conftest import arrange, at_once, csrf_token, sign_in


pytestmark = pytest.mark.usefixtures("english_pages")  # the assertions read English


def token(client, path: str) -> str:
    return csrf_token(client, path)


def member_code_now(app, user_id: int, *, ago: int = 0) -> str:
    with app.app_context():
        return codes.member_code(user_id, timeutil.utcnow() - timedelta(seconds=ago))[0]


@pytest.fixture
def shop(app):
    with arrange(app) as session:
        team = factories.team(session)
        clerk = factories.user(session, roles=["clerk"], display_name="店员小林")
        coordinator = factories.coordinator(session, team)
        volunteer = factories.user(session, team=team, balance=40, display_name="王建国")
        cap = factories.store_item(session, name="帽子", cost=15, stock=5)
        soap = factories.store_item(session, name="肥皂", cost=5, stock=1, monthly_limit_per_user=1)
        umbrella = factories.store_item(session, name="雨伞", cost=400, stock=3)
    return {"clerk": clerk, "coordinator": coordinator, "volunteer": volunteer, "cap": cap, "soap": soap,
            "umbrella": umbrella}


# -- volunteers -------------------------------------------------------------------------------------

def test_store_page_shows_balance_and_what_i_can_afford(app, shop):
    client = app.test_client()
    sign_in(client, shop["volunteer"])
    html = client.get("/store").get_data(as_text=True)
    assert "40" in html and "帽子" in html and "雨伞" in html
    # 帽子 and 肥皂 are affordable; 雨伞 says how many points are missing, in words.
    assert html.count("You can get this now") == 2
    assert "360 more points needed" in html
    assert html.index("帽子") < html.index("雨伞")


def test_member_card_qr_decodes_to_the_current_code(app, shop):
    client = app.test_client()
    sign_in(client, shop["volunteer"])
    html = client.get("/store/card").get_data(as_text=True)
    code = member_code_now(app, shop["volunteer"].id)
    digits = code.split("-")[1]
    assert digits in html and 'data-copy="member-number"' in html and 'hx-trigger="every 10s"' in html
    partial = client.get("/store/card", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="member-card"')
    if shutil.which("zbarimg"):
        data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
        decoded = subprocess.run(["zbarimg", "--quiet", "--raw", "-"], input=base64.b64decode(data),
                                 capture_output=True, check=True).stdout.decode().strip()
        assert decoded in (code, member_code_now(app, shop["volunteer"].id, ago=60))


def test_api_member_code_is_only_mine(api, shop):
    response = api.get("/api/v1/me/member-code", user=shop["volunteer"])
    assert response.status_code == 200
    assert response.get_json()["code"].startswith(f"{shop['volunteer'].id}-")


# -- the counter ------------------------------------------------------------------------------------

def test_counter_is_for_clerks(app, shop):
    client = app.test_client()
    sign_in(client, shop["volunteer"])
    assert client.get("/counter").status_code == 403
    assert client.post("/counter/identify", data={"csrf_token": token(client, "/store"),
                                                  "member_code": "1-123456"}).status_code == 403


def test_counter_visit_redeem_receipt_double_tap_and_cancel(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    volunteer, cap = shop["volunteer"], shop["cap"]
    response = client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                                      "member_code": member_code_now(app, volunteer.id)})
    assert response.status_code == 302
    page = client.get("/counter").get_data(as_text=True)
    assert "王建国" in page and "End visit" in page and f'name="qty_{cap.id}"' in page
    assert f'name="qty_{shop["umbrella"].id}"' not in page  # not affordable: no stepper, a word instead
    client_ref = re.search(r'name="client_ref" value="([0-9a-f]+)"', page).group(1)
    form = {"csrf_token": token(client, "/counter"), "client_ref": client_ref, f"qty_{cap.id}": "2",
            f"qty_{shop['soap'].id}": "0"}
    first = client.post("/counter/redeem", data=form)
    second = client.post("/counter/redeem", data=form)  # the double tap
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    receipt = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "帽子 × 2" in receipt and "10" in receipt  # 40 - 30 points left
    with arrange(app) as session:
        rows = session.exec(select(Redemption)).all()
        assert [(r.quantity, r.points_spent, r.clerk_id) for r in rows] == [(2, 30, shop["clerk"].id)]
        redemption_id = rows[0].id
    # The visit goes on without scanning again.
    assert "王建国" in client.get("/counter").get_data(as_text=True)
    # Cancelling needs a reason; then points and stock come back.
    client.post(f"/counter/redemptions/{redemption_id}/cancel", data={"csrf_token": token(client, "/counter"),
                                                                      "reason": "", "back": client_ref})
    with arrange(app) as session:
        assert session.get(Redemption, redemption_id).status == "fulfilled"
    client.post(f"/counter/redemptions/{redemption_id}/cancel", data={"csrf_token": token(client, "/counter"),
                                                                      "reason": "拿错了", "back": client_ref})
    with arrange(app) as session:
        assert session.get(Redemption, redemption_id).status == "cancelled"
        assert session.get(User, volunteer.id).balance == 40
        assert session.get(StoreItem, cap.id).stock == 5
    client.post("/counter/end", data={"csrf_token": token(client, "/counter")})
    assert "Find the volunteer" in client.get("/counter").get_data(as_text=True)
    assert cli.run_checks(app) == []


def test_a_receipt_says_which_lines_were_cancelled(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                           "member_code": member_code_now(app, shop["volunteer"].id)})
    done = client.post("/counter/redeem", data={"csrf_token": token(client, "/counter"), "client_ref": "r1",
                                                f"qty_{shop['cap'].id}": "1", f"qty_{shop['soap'].id}": "1"})
    receipt_url = done.headers["Location"]
    assert "✓ Handed over</h1>" in client.get(receipt_url).get_data(as_text=True)
    with arrange(app) as session:
        soap_line = session.exec(select(Redemption).where(Redemption.item_id == shop["soap"].id)).one().id
    client.post(f"/counter/redemptions/{soap_line}/cancel", data={"csrf_token": token(client, "/counter"),
                                                                  "reason": "拿错了", "back": "r1"})
    receipt = client.get(receipt_url).get_data(as_text=True)
    assert "✓ Handed over</h1>" not in receipt and "Handed over, partly cancelled" in receipt
    soap = receipt[receipt.index("<strong>肥皂 × 1</strong>"):]
    assert soap.index("Cancelled at the counter") < soap.index("</li>")
    assert "✓ Handed over" not in soap[:soap.index("</li>")]


def test_counter_refusal_says_why_and_writes_nothing(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                           "member_code": member_code_now(app, shop["volunteer"].id)})
    page = client.get("/counter").get_data(as_text=True)
    form = {"csrf_token": token(client, "/counter"),
            "client_ref": re.search(r'name="client_ref" value="([0-9a-f]+)"', page).group(1),
            f"qty_{shop['cap'].id}": "2", f"qty_{shop['soap'].id}": "2"}  # soap: 1 in stock, limit 1
    response = client.post("/counter/redeem", data=form)
    assert response.status_code == 409
    assert "Monthly limit" in response.get_data(as_text=True)
    with arrange(app) as session:
        assert session.exec(select(Redemption)).all() == []  # the cap was not taken either
        assert session.get(User, shop["volunteer"].id).balance == 40


def test_parallel_double_submit_from_the_counter_gives_one_redemption(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                           "member_code": member_code_now(app, shop["volunteer"].id)})
    form = {"csrf_token": token(client, "/counter"), "client_ref": "twin-tap", f"qty_{shop['cap'].id}": "1"}
    cookie = client.get_cookie("session")
    twins = [app.test_client() for _ in range(4)]
    for twin in twins:
        twin.set_cookie("session", cookie.value)
    assert at_once([lambda twin=twin: twin.post("/counter/redeem", data=form).status_code for twin in twins]) \
        == [302] * 4
    with arrange(app) as session:
        assert len(session.exec(select(Redemption)).all()) == 1
        assert session.get(User, shop["volunteer"].id).balance == 25


def test_code_older_than_the_previous_step_and_forged_codes_are_refused(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    volunteer_id = shop["volunteer"].id
    previous = client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                                      "member_code": member_code_now(app, volunteer_id, ago=60)})
    assert previous.status_code == 302
    client.post("/counter/end", data={"csrf_token": token(client, "/counter")})
    old = client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                                 "member_code": member_code_now(app, volunteer_id, ago=180)})
    assert old.status_code == 410 and "expired" in old.get_data(as_text=True)
    forged = client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                                    "member_code": f"{volunteer_id}-000000"})
    assert forged.status_code == 422 and "not valid" in forged.get_data(as_text=True)


def test_screenshot_shown_at_another_counter_is_refused(app, shop):
    code = member_code_now(app, shop["volunteer"].id)
    with arrange(app) as session:
        other_clerk = factories.user(session, roles=["clerk"])
    first, second = app.test_client(), app.test_client()
    sign_in(first, shop["clerk"])
    sign_in(second, other_clerk)
    assert first.post("/counter/identify", data={"csrf_token": token(first, "/counter"),
                                                 "member_code": code}).status_code == 302
    refused = second.post("/counter/identify", data={"csrf_token": token(second, "/counter"), "member_code": code})
    assert refused.status_code == 410
    assert "王建国" not in refused.get_data(as_text=True)


def test_summary_and_csv_export_keep_the_chinese(app, shop):
    with arrange(app) as session:
        clerk = session.get(User, shop["clerk"].id)
        store.redeem(session, clerk, item_id=shop["cap"].id, user_id=shop["volunteer"].id)
    client = app.test_client()
    sign_in(client, shop["clerk"])
    summary = client.get("/counter/summary").get_data(as_text=True)
    assert "店员小林" in summary and "帽子 × 1" in summary
    response = client.get("/counter/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["Item"] == "帽子" and rows[0]["Volunteer"] == "王建国"
    assert rows[0]["Clerk"] == "店员小林" and rows[0]["Points"] == "15" and rows[0]["Status"] == "handed out"
    volunteer = app.test_client()
    sign_in(volunteer, shop["volunteer"])
    assert volunteer.get("/counter/export.csv").status_code == 403


# -- coordinators -----------------------------------------------------------------------------------

def test_catalog_flags_low_stock_and_records_stock_changes(app, shop):
    client = app.test_client()
    sign_in(client, shop["coordinator"])
    page = client.get("/store/manage").get_data(as_text=True)
    assert "Low stock" in page and "肥皂" in page
    created = client.post("/store/manage", data={"csrf_token": token(client, "/store/manage"), "name": "手电筒",
                                                 "description": "", "cost": "30", "stock": "4",
                                                 "monthly_limit_per_user": "", "low_stock_threshold": "2"})
    assert created.status_code == 302
    bad = client.post("/store/manage", data={"csrf_token": token(client, "/store/manage"), "name": "x",
                                             "cost": "abc", "stock": "1"})
    assert bad.status_code == 422
    with arrange(app) as session:
        item = session.exec(select(StoreItem).where(StoreItem.name == "手电筒")).one()
    path = f"/store/manage/{item.id}"
    refused = client.post(path, data={"csrf_token": token(client, path), "action": "stock", "reason": "restock",
                                      "delta": "6", "note": ""})
    assert refused.status_code == 422
    client.post(path, data={"csrf_token": token(client, path), "action": "stock", "reason": "restock",
                            "delta": "6", "note": "新到一箱"})
    with arrange(app) as session:
        assert session.get(StoreItem, item.id).stock == 10
        moves = session.exec(select(StockMovement).where(StockMovement.item_id == item.id)).all()
        assert [(m.reason, m.delta) for m in moves] == [("initial", 4), ("restock", 6)]


# -- pictures ---------------------------------------------------------------------------------------

def _image(kind: str, size=(1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


def _bomb(pixels: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("1", pixels).save(out, "PNG")  # tiny file, huge canvas
    return out.getvalue()


def upload(api, user, item_id, data: bytes, filename: str):
    return api.client.post(f"/api/v1/store/items/{item_id}/picture", data={"file": (io.BytesIO(data), filename)},
                           headers=api.headers(user), content_type="multipart/form-data")


@pytest.mark.parametrize("kind, name", [("PNG", "cap.png"), ("JPEG", "cap.jpg")])
def test_png_and_jpeg_pictures_are_resized_and_served(app, api, shop, kind, name):
    response = upload(api, shop["coordinator"], shop["cap"].id, _image(kind), name)
    assert response.status_code == 201, response.get_json()
    url = response.get_json()["picture_url"]
    client = app.test_client()
    sign_in(client, shop["volunteer"])
    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "JPEG" and max(image.size) == store.PICTURE_SIZE
    assert url in client.get("/store").get_data(as_text=True)
    assert client.get("/store/pictures/..%2Fsecret_key").status_code == 404
    assert client.get("/store/pictures/nothing.jpg").status_code == 404


@pytest.mark.parametrize("data, name, status", [
    (b"x" * (6 * 1024 * 1024), "big.jpg", 413),
    (b"this is not a picture at all", "notes.jpg", 422),
    (_bomb((10_000, 10_000)), "bomb.png", 422),
    (_bomb((7_500, 7_500)), "wide.png", 422),
    (_image("PNG")[:400], "truncated.png", 422),
    (_image("JPEG")[:1500], "truncated.jpg", 422),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "header.jpg", 422),
    (b"GIF89a" + b"\x00" * 64, "anim.gif", 422),
])
def test_bad_pictures_are_refused_cleanly(app, api, shop, data, name, status):
    response = upload(api, shop["coordinator"], shop["cap"].id, data, name)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    with arrange(app) as session:
        assert session.get(StoreItem, shop["cap"].id).picture is None


def test_picture_over_five_megabytes_but_under_the_request_cap(app, api, shop):
    response = upload(api, shop["coordinator"], shop["cap"].id, b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 10), "a.jpg")
    assert response.status_code == 413 and response.get_json()["code"] == "payload_too_large"


def test_picture_upload_page_and_roles(app, api, shop):
    assert upload(api, shop["clerk"], shop["cap"].id, _image("PNG"), "a.png").status_code == 403
    client = app.test_client()
    sign_in(client, shop["coordinator"])
    path = f"/store/manage/{shop['cap'].id}"
    bad = client.post(path, data={"csrf_token": token(client, path), "action": "picture",
                                  "file": (io.BytesIO(b"hello"), "x.jpg")}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "JPEG or PNG" in bad.get_data(as_text=True)
    good = client.post(path, data={"csrf_token": token(client, path), "action": "picture",
                                   "file": (io.BytesIO(_image("JPEG", (300, 300))), "x.jpg")},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    with arrange(app) as session:
        assert session.get(StoreItem, shop["cap"].id).picture.endswith(".jpg")


def test_counter_odd_quantities_are_refused_with_a_message(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    client.post("/counter/identify", data={"csrf_token": token(client, "/counter"),
                                           "member_code": member_code_now(app, shop["volunteer"].id)})
    csrf = token(client, "/counter")
    nothing = client.post("/counter/redeem", data={"csrf_token": csrf, "client_ref": "a1", f"qty_{shop['cap'].id}": "0"})
    assert nothing.status_code == 422 and "Choose at least one item" in nothing.get_data(as_text=True)
    negative = client.post("/counter/redeem", data={"csrf_token": csrf, "client_ref": "a2",
                                                    f"qty_{shop['cap'].id}": "-2"})
    assert negative.status_code == 422 and "quantity from 1 to 99" in negative.get_data(as_text=True)
    with arrange(app) as session:
        assert session.exec(select(Redemption)).all() == []


# -- the clerk's day --------------------------------------------------------------------------------

def test_a_clerk_lands_on_the_counter_and_finds_the_day_on_manage(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/counter")
    manage = client.get("/manage").get_data(as_text=True)
    for path in ("/counter", "/store/manage", "/counter/count", "/counter/summary"):
        assert f'href="{path}"' in manage, path
    volunteer = app.test_client()
    sign_in(volunteer, shop["volunteer"])
    assert volunteer.get("/").status_code == 200


def test_a_clerk_keeps_stock_but_does_not_edit_the_catalog(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    page = client.get("/store/manage").get_data(as_text=True)
    assert "帽子" in page and "Add an item" not in page
    path = f"/store/manage/{shop['cap'].id}"
    assert "Change the stock" in client.get(path).get_data(as_text=True)
    received = client.post(path, data={"csrf_token": token(client, path), "action": "stock", "reason": "restock",
                                       "delta": "4", "note": "新到一箱"})
    assert received.status_code == 302
    assert client.post(path, data={"csrf_token": token(client, path), "action": "details", "name": "x",
                                   "cost": "1"}).status_code == 403
    assert client.post("/store/manage", data={"csrf_token": token(client, "/store/manage"), "name": "x",
                                              "cost": "1", "stock": "1"}).status_code == 403
    with arrange(app) as session:
        assert session.get(StoreItem, shop["cap"].id).stock == 9
        assert session.get(StoreItem, shop["cap"].id).name == "帽子"
    volunteer = app.test_client()
    sign_in(volunteer, shop["volunteer"])
    assert volunteer.get("/store/manage").status_code == 403
    assert volunteer.get("/counter/count").status_code == 403


def test_closing_the_day_records_the_differences_in_the_summary(app, shop):
    client = app.test_client()
    sign_in(client, shop["clerk"])
    assert "Expected: 5" in client.get("/counter/count").get_data(as_text=True)
    cap, soap, umbrella = shop["cap"].id, shop["soap"].id, shop["umbrella"].id
    bad = client.post("/counter/count", data={"csrf_token": token(client, "/counter/count"),
                                              f"count_{cap}": "4", f"count_{soap}": "-2"})
    assert bad.status_code == 422 and "whole number" in bad.get_data(as_text=True)
    with arrange(app) as session:
        assert session.get(StoreItem, cap).stock == 5  # nothing half-written
    saved = client.post("/counter/count", data={"csrf_token": token(client, "/counter/count"),
                                                f"count_{cap}": "4", f"count_{soap}": "1", f"count_{umbrella}": ""})
    assert saved.status_code == 302
    with arrange(app) as session:
        assert [session.get(StoreItem, i).stock for i in (cap, soap, umbrella)] == [4, 1, 3]
        moves = session.exec(select(StockMovement).where(StockMovement.reason == "count")).all()
        assert [(m.item_id, m.delta) for m in moves] == [(cap, -1)]
        assert store.check_integrity(session) == []
        from volunteer_app.models import AuditEntry
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "store.stock_count")).one().target_id == cap
    summary = client.get("/counter/summary").get_data(as_text=True)
    assert "counted 4, expected 5" in summary
