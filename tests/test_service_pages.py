"""Service records on the pages: the running duty on home, signing out, my records, the make-up
form, the coordinators' review queue and entries."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.models import ServiceRecord, User
from volunteer_app.services import checkins, checkpoints

from . import factories
from .factories import checkpoint
from .conftest import arrange, csrf_token, signed_in


@pytest.fixture
def crew(app):
    with arrange(app) as s:
        team = factories.team(s)
        return {"team": team, "boss": factories.coordinator(s, team), "member": factories.user(s, team=team),
                "outsider": factories.user(s)}


def _records(app, user_id):
    with arrange(app) as s:
        return list(s.exec(select(ServiceRecord).where(ServiceRecord.user_id == user_id)
                           .order_by(ServiceRecord.id)))


def test_home_shows_the_running_duty_and_signs_out(app, crew):
    member = crew["member"]
    with arrange(app) as s:
        post = checkpoint(s, name="断桥茶室", duty_post=True)
        me = s.get(User, member.id)
        checkins.check_in(s, me, checkpoints.token(post), now=timeutil.utcnow() - timedelta(minutes=130))
    client = signed_in(app, member)
    home = client.get("/").get_data(as_text=True)
    assert "值守中 · 断桥茶室" in home and "已 2 小时 10 分" in home and "签退" in home
    record = _records(app, member.id)[0]
    answer = client.post(f"/me/service/{record.id}/sign-out", data={"csrf_token": csrf_token(client, "/")})
    assert answer.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "已签退，本次服务 2 小时 10 分" in page and "值守中" not in page
    assert _records(app, member.id)[0].status == "confirmed"
    again = client.post(f"/me/service/{record.id}/sign-out", data={"csrf_token": csrf_token(client, "/")})
    assert again.status_code == 302 and "已经签退" in client.get("/").get_data(as_text=True)
    mine = client.get("/me/service").get_data(as_text=True)
    assert "茶室值守" in mine and "2.2 小时" in mine and "已确认" in mine


def test_makeup_form_sends_refuses_and_the_coordinator_reviews(app, crew):
    member, boss = crew["member"], crew["boss"]
    client = signed_in(app, member)
    day = (timeutil.local(timeutil.utcnow()) - timedelta(days=2)).date().isoformat()
    form = {"csrf_token": csrf_token(client, "/me/service/makeup"), "kind": "tea_room", "place": "断桥茶室",
            "day": day, "start": "09:00", "end": "11:30", "note": "手机没电了"}
    bad = client.post("/me/service/makeup", data={**form, "end": "9点"})
    assert bad.status_code == 422 and "08:30" in bad.get_data(as_text=True)
    old = client.post("/me/service/makeup", data={**form, "day": "2020-01-01"})
    assert old.status_code == 422 and "60 天" in old.get_data(as_text=True)
    sent = client.post("/me/service/makeup", data=form)
    assert sent.status_code == 302
    record = _records(app, member.id)[0]
    assert (record.status, record.minutes, record.kind) == ("pending", 150, "tea_room")
    assert client.get("/staff/service").status_code == 403
    staff = signed_in(app, boss)
    queue = staff.get("/staff/service").get_data(as_text=True)
    assert "断桥茶室" in queue and "待审核" in queue
    token = csrf_token(staff, "/staff/service")
    done = staff.post(f"/staff/service/{record.id}/confirm", data={"csrf_token": token, "note": ""})
    assert done.status_code == 302
    assert _records(app, member.id)[0].status == "confirmed"
    assert "2.5" in client.get("/me/service").get_data(as_text=True)
    overlap = client.post("/me/service/makeup", data=form)  # now counted: the same time again is refused
    assert overlap.status_code == 409 and "重叠" in overlap.get_data(as_text=True)


def test_coordinator_corrects_or_rejects(app, crew):
    member, boss = crew["member"], crew["boss"]
    start = timeutil.utcnow().replace(microsecond=0) - timedelta(days=1, hours=3)
    with arrange(app) as s:
        first = factories.service_record(s, s.get(User, member.id), start, 240, source="makeup", status="pending")
        second = factories.service_record(s, s.get(User, member.id), start + timedelta(hours=6), 60,
                                          source="makeup", status="pending")
    staff = signed_in(app, boss)
    token = csrf_token(staff, "/staff/service")
    local_start = timeutil.local(start)
    corrected = staff.post(f"/staff/service/{first.id}/confirm", data={
        "csrf_token": token, "day": local_start.date().isoformat(), "start": local_start.strftime("%H:%M"),
        "end": (local_start + timedelta(hours=2)).strftime("%H:%M"), "note": "只待了两小时"})
    assert corrected.status_code == 302
    assert _records(app, member.id)[0].minutes == 120
    empty = staff.post(f"/staff/service/{second.id}/reject", data={"csrf_token": token, "note": ""})
    assert empty.status_code == 302 and _records(app, member.id)[1].status == "pending"
    staff.post(f"/staff/service/{second.id}/reject", data={"csrf_token": token, "note": "那天没有开门"})
    assert _records(app, member.id)[1].status == "rejected"


def test_entry_for_a_member(app, crew):
    member, boss, outsider = crew["member"], crew["boss"], crew["outsider"]
    staff = signed_in(app, boss)
    page = staff.get("/staff/service/entry").get_data(as_text=True)
    assert member.display_name in page and outsider.display_name not in page and boss.display_name not in page
    day = (timeutil.local(timeutil.utcnow()) - timedelta(days=1)).date().isoformat()
    form = {"csrf_token": csrf_token(staff, "/staff/service/entry"), "kind": "care_visit", "place": "张奶奶家",
            "day": day, "start": "14:00", "end": "16:00", "note": ""}
    assert staff.post("/staff/service/entry", data={**form, "user_id": str(outsider.id)}).status_code == 403
    assert staff.post("/staff/service/entry", data={**form, "user_id": ""}).status_code == 422
    made = staff.post("/staff/service/entry", data={**form, "user_id": str(member.id)})
    assert made.status_code == 302
    record = _records(app, member.id)[0]
    assert (record.source, record.status, record.points) == ("entry", "confirmed", 20)
    assert "张奶奶家" in staff.get(f"/staff/users/{member.id}/service").get_data(as_text=True)
    assert signed_in(app, outsider).get(f"/staff/users/{member.id}/service").status_code == 403
