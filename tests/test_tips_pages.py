"""Tips on the phone pages: report once (reload, double tap), photos, my tips, the inbox, triage in
place with htmx, review and close, and who may open what."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import LedgerEntry, Notice, Tip, TipPhoto

from . import factories
from .conftest import csrf_token, signed_in


pytestmark = pytest.mark.usefixtures("english_pages")  # the assertions read English


@pytest.fixture
def people(app):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        team = factories.team(session)
        return {
            "coordinator": factories.coordinator(session, team, display_name="陈队长"),
            "reporter": factories.user(session, team=team, display_name="王阿姨"),
            "teammate": factories.user(session, team=team),
            "outsider": factories.user(session),
        }


def form_fields(client, path="/tips/new") -> dict:
    page = client.get(path).get_data(as_text=True)
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "client_ref": re.search(r'name="client_ref" value="([^"]+)"', page).group(1)}


def png(size=(640, 480)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 160, 60)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def tips_in_db(app) -> list[Tip]:
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        return list(session.exec(select(Tip).order_by(Tip.id)))


def count(app, model) -> int:
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        return len(session.exec(select(model)).all())


def test_report_form_shows_big_category_buttons(app, people):
    client = signed_in(app, people["reporter"])
    page = client.get("/tips/new").get_data(as_text=True)
    assert page.count('type="radio" name="category"') == 5
    assert 'enctype="multipart/form-data"' in page and 'name="client_ref"' in page
    assert "<script>" not in page and 'style="' not in page
    assert page.index('href="tel:110"') < page.index('class="stack tip-form"')  # emergencies: call 110, first thing


def test_report_with_photos_and_a_double_tap_files_once(app, people):
    client = signed_in(app, people["reporter"])
    fields = form_fields(client)
    data = {**fields, "category": "hazard", "description": "菜场东门电线垂下来", "place": "菜场东门",
            "latitude": "30.27", "longitude": "120.15"}
    first = client.post("/tips/new", data={**data, "photos": [(png(), "a.png"), (png((300, 200)), "b.png")]},
                        content_type="multipart/form-data")
    assert first.status_code == 303 and "/tips/mine" in first.headers["Location"]
    again = client.post("/tips/new", data={**data, "photos": [(png(), "a.png")]}, content_type="multipart/form-data")
    assert again.status_code == 303
    rows = tips_in_db(app)
    assert len(rows) == 1 and (rows[0].category, rows[0].latitude, rows[0].place) == ("hazard", 30.27, "菜场东门")
    assert count(app, TipPhoto) == 2
    mine = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "菜场东门电线垂下来" in mine and "not filed twice" in mine


def test_a_bad_photo_files_nothing_and_keeps_the_text(app, people):
    client = signed_in(app, people["reporter"])
    data = {**form_fields(client), "category": "fraud", "description": "冒充客服退款"}
    response = client.post("/tips/new", data={**data, "photos": [(io.BytesIO(b"not a photo at all"), "x.jpg")]},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "冒充客服退款" in page and "Photo 1" in page
    assert tips_in_db(app) == [] and count(app, TipPhoto) == 0
    folder = Path(app.instance_path) / "tip_photos"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_four_photos_are_refused(app, people):
    client = signed_in(app, people["reporter"])
    data = {**form_fields(client), "category": "other", "description": "x",
            "photos": [(png((20, 20)), f"{n}.png") for n in range(4)]}
    assert client.post("/tips/new", data=data, content_type="multipart/form-data").status_code == 422
    assert tips_in_db(app) == []


def test_missing_category_is_shown_beside_the_buttons(app, people):
    client = signed_in(app, people["reporter"])
    response = client.post("/tips/new", data={**form_fields(client), "description": "有人吵架"})
    assert response.status_code == 422
    assert "Choose what kind of tip this is." in response.get_data(as_text=True)


def file_tip(app, user, **fields):
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        return factories.tip(session, session.merge(user), **fields)


def test_my_tips_shows_status_points_and_the_verified_notice_once(app, people):
    tip = file_tip(app, people["reporter"], category="fraud", description="冒充公检法")
    staff = signed_in(app, people["coordinator"])
    token = csrf_token(staff, f"/tips/{tip.id}")
    response = staff.post(f"/manage/tips/{tip.id}/review", data={"csrf_token": token, "valid": "1", "points": "15",
                                                                  "note": "已核实，谢谢"})
    assert response.status_code == 303
    client = signed_in(app, people["reporter"])
    page = client.get("/tips/mine").get_data(as_text=True)
    assert "+15" in page and "Verified" in page and "New: your tip was verified!" in page
    assert "New: your tip was verified!" not in client.get("/tips/mine").get_data(as_text=True)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        assert session.exec(select(Notice).where(Notice.user_id == people["reporter"].id)).one().read_at is not None
        assert [e.amount for e in session.exec(select(LedgerEntry).where(LedgerEntry.kind == "tip"))] == [15]


def test_inbox_triage_in_place_with_htmx(app, people):
    older = file_tip(app, people["reporter"], description="邻居噪音")
    newer = file_tip(app, people["teammate"], description="江边电鱼", category="ecology")
    staff = signed_in(app, people["coordinator"])
    page = staff.get("/manage/tips").get_data(as_text=True)
    assert page.index("江边电鱼") < page.index("邻居噪音")  # newest first
    assert "王阿姨" in page
    token = csrf_token(staff, "/manage/tips")
    row = staff.post(f"/manage/tips/{older.id}/triage", data={"csrf_token": token, "level": "red"},
                     headers={"HX-Request": "true", "X-CSRFToken": token})
    assert row.status_code == 200
    fragment = row.get_data(as_text=True)
    assert fragment.lstrip().startswith("<li") and f'id="tip-row-{older.id}"' in fragment
    assert "Red: at once" in fragment and "<html" not in fragment
    page = staff.get("/manage/tips").get_data(as_text=True)
    assert page.index("江边电鱼") < page.index("邻居噪音")  # new ones before triaged ones (none overdue)
    bad = staff.post(f"/manage/tips/{newer.id}/triage", data={"csrf_token": token, "level": "green"},
                     headers={"HX-Request": "true", "X-CSRFToken": token})
    assert bad.status_code == 200 and "Choose red, yellow or blue." in bad.get_data(as_text=True)


def test_triage_review_close_as_plain_forms(app, people):
    tip = file_tip(app, people["reporter"])
    staff = signed_in(app, people["coordinator"])
    token = csrf_token(staff, f"/tips/{tip.id}")
    early = staff.post(f"/manage/tips/{tip.id}/close", data={"csrf_token": token, "resolution": "done"})
    assert early.status_code == 303
    assert "before closing" in staff.get(early.headers["Location"]).get_data(as_text=True)
    assert staff.post(f"/manage/tips/{tip.id}/triage", data={"csrf_token": token, "level": "yellow",
                                                            "due_date": "2026-12-24"}).status_code == 303
    empty_note = staff.post(f"/manage/tips/{tip.id}/review", data={"csrf_token": token, "valid": "0", "note": " "})
    assert empty_note.status_code == 422 and "Please add a short note." in empty_note.get_data(as_text=True)
    assert staff.post(f"/manage/tips/{tip.id}/review", data={"csrf_token": token, "valid": "0", "points": "10",
                                                            "note": "查无此事"}).status_code == 303
    assert staff.post(f"/manage/tips/{tip.id}/close", data={"csrf_token": token, "resolution": "已回访"}).status_code == 303
    [row] = tips_in_db(app)
    assert (row.status, row.level, row.valid, row.points_awarded, row.resolution) == ("closed", "yellow", False, 0, "已回访")
    assert row.due_at.isoformat().startswith("2026-12-24T15:59")  # 23:59 in station time
    detail = staff.get(f"/tips/{tip.id}").get_data(as_text=True)
    assert "Not confirmed" in detail and "已回访" in detail


def test_follow_up_page_lists_due_yellow_items(app, people):
    from datetime import timedelta

    from volunteer_app.services import tips
    from volunteer_app.timeutil import utcnow
    tip = file_tip(app, people["reporter"], description="消费纠纷回访")
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        tips.triage(session, session.merge(people["coordinator"]), tip.id, level="yellow",
                    now=utcnow() - timedelta(days=40))
    staff = signed_in(app, people["coordinator"])
    assert "消费纠纷回访" in staff.get("/manage/tips/follow-up").get_data(as_text=True)


def test_who_may_open_what(app, people):
    tip = file_tip(app, people["reporter"])
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        from volunteer_app.services import tips
        photo = tips.add_photo(session, session.merge(people["reporter"]), tip.id, png().getvalue(),
                               folder=tips.photo_dir(app.instance_path))
    photo_url = f"/tips/{tip.id}/photos/{photo.id}"
    reporter = signed_in(app, people["reporter"])
    assert reporter.get(f"/tips/{tip.id}").status_code == 200
    shown = reporter.get(photo_url)
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert reporter.get("/manage/tips").status_code == 403
    for who in ("teammate", "outsider"):
        other = signed_in(app, people[who])
        assert other.get(f"/tips/{tip.id}").status_code == 403
        assert other.get(photo_url).status_code == 403
        assert "两户人家" not in other.get("/tips/mine").get_data(as_text=True)
    staff = signed_in(app, people["coordinator"])
    assert staff.get(photo_url).status_code == 200
    assert staff.get(f"/tips/{tip.id}/photos/999999").status_code == 404
    assert app.test_client().get("/tips/mine").status_code == 302  # to the login page


def test_hub_and_home_link_to_tips(app, people):
    staff = signed_in(app, people["coordinator"])
    hub = staff.get("/manage")
    if hub.status_code == 200:
        assert "/manage/tips" in hub.get_data(as_text=True)
    home = signed_in(app, people["reporter"]).get("/").get_data(as_text=True)
    assert "/tips/new" in home and "/tips/mine" in home
