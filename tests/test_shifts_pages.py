"""Shift pages: one-tap sign-up over htmx, my route, notices, the week plan, forms, attendance
and the calendar feed."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from volunteer_app.models import Checkin, Notice, Shift, ShiftSignup, User
from volunteer_app.services import ledger, notices, shifts
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, csrf_token, signed_in

CST = ZoneInfo("Asia/Shanghai")


def token(client, path="/shifts") -> str:
    return csrf_token(client, path)


def _day(days: int, hour: int) -> datetime:
    day = (utcnow().astimezone(CST) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=CST)


@pytest.fixture
def world(app):
    with arrange(app) as s:
        team = factories.team(s, name="西湖巡逻队")
        # English pages, so that the assertions read the msgids whatever catalogs are compiled
        boss = factories.coordinator(s, team, display_name="陈队长", language="en")
        me = factories.user(s, team=team, display_name="王阿姨", language="en")
        other = factories.user(s, team=team, display_name="李师傅", language="en")
        cps = [factories.patrol_checkpoint(s, name=name) for name in ("断桥", "白堤", "孤山")]
        full = factories.shift(s, team, starts_at=_day(2, 19), ends_at=_day(2, 21), capacity=1, route=cps,
                               title="晚间巡逻")
        night = factories.shift(s, team, starts_at=_day(3, 22), ends_at=_day(4, 2), capacity=3, route=cps[:2],
                                title="夜巡")
        shifts.signup(s, other, full.id)
    return {"team": team, "boss": boss, "me": me, "other": other, "cps": cps, "full": full, "night": night}


def test_shift_list_and_one_tap_signup_over_htmx(app, world):
    client = signed_in(app, world["me"])
    page = client.get("/shifts").get_data(as_text=True)
    assert "晚间巡逻" in page and "夜巡" in page and "断桥 → 白堤 → 孤山" in page
    assert "Full" in page or "已满" in page or "Join the waitlist" in page
    csrf = token(client)
    headers = {"HX-Request": "true", "X-CSRFToken": csrf}
    response = client.post(f"/shifts/{world['full'].id}/signup", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith("<article")
    assert f'id="shift-{world["full"].id}"' in html and "waitlist" in html.lower() and "1" in html
    response = client.post(f"/shifts/{world['night'].id}/signup", headers=headers)
    assert "You are signed up" in response.get_data(as_text=True)
    again = client.post(f"/shifts/{world['night'].id}/signup", headers=headers).get_data(as_text=True)
    assert "already signed up" in again and 'role="alert"' in again
    with arrange(app) as s:
        statuses = dict(s.exec(select(ShiftSignup.shift_id, ShiftSignup.status)
                               .where(ShiftSignup.user_id == world["me"].id)).all())
    assert statuses == {world["full"].id: "waitlisted", world["night"].id: "confirmed"}
    # withdrawing asks first, in place with htmx ...
    asked = client.post(f"/shifts/{world['night'].id}/withdraw", headers=headers).get_data(as_text=True)
    assert asked.lstrip().startswith("<article") and 'name="confirm" value="1"' in asked and "Yes, withdraw" in asked
    # ... and on a page without it; nothing changes until confirmed
    asked = client.post(f"/shifts/{world['night'].id}/withdraw", data={"csrf_token": csrf})
    assert asked.status_code == 200 and "<html" in asked.get_data(as_text=True)
    assert 'name="confirm" value="1"' in asked.get_data(as_text=True)
    with arrange(app) as s:
        assert s.exec(select(ShiftSignup.status).where(ShiftSignup.user_id == world["me"].id,
                                                       ShiftSignup.shift_id == world["night"].id)).one() == "confirmed"
    # without htmx: the confirmed form post redirects back with a message
    response = client.post(f"/shifts/{world['night'].id}/withdraw", data={"csrf_token": csrf, "confirm": "1"})
    assert response.status_code == 302
    assert "withdrawn" in client.get("/shifts").get_data(as_text=True)
    # confirmed with htmx on the shift's page: the route of the shift just left goes too
    client.post(f"/shifts/{world['night'].id}/signup", headers=headers)
    left = client.post(f"/shifts/{world['night'].id}/withdraw", data={"confirm": "1"}, headers=headers)
    assert "withdrawn" in left.get_data(as_text=True) and '<div id="route" hx-swap-oob="outerHTML">' in left.get_data(as_text=True)


def test_signup_needs_csrf(app, world):
    client = signed_in(app, world["me"])
    assert client.post(f"/shifts/{world['night'].id}/signup").status_code in (400, 403)
    with arrange(app) as s:
        assert s.exec(select(ShiftSignup).where(ShiftSignup.user_id == world["me"].id)).all() == []


def test_promotion_notice_and_unread_badge(app, world):
    client = signed_in(app, world["other"])
    me_client = signed_in(app, world["me"])
    me_client.post(f"/shifts/{world['full'].id}/signup", data={"csrf_token": token(me_client)})
    assert "bell" not in me_client.get("/").get_data(as_text=True).split("</header>")[0]
    client.post(f"/shifts/{world['full'].id}/withdraw", data={"csrf_token": token(client), "confirm": "1"})
    home = me_client.get("/").get_data(as_text=True)
    header = home.split("</header>")[0]
    assert re.search(r'class="brand bell" href="/notices" title="1 new notices">.*Notices.*1 new notices</span></a>', header), header
    page = me_client.get("/notices").get_data(as_text=True)
    assert "晚间巡逻" in page and "1 unread" in page
    me_client.post("/notices/read", data={"csrf_token": token(me_client, "/notices")})
    assert "All read." in me_client.get("/notices").get_data(as_text=True)


def test_my_route_ticks_scanned_checkpoints(app, world):
    with arrange(app) as s:
        now = utcnow()
        running = factories.shift(s, world["team"], starts_at=now - timedelta(minutes=30),
                                  ends_at=now + timedelta(hours=1), route=world["cps"], title="正在巡逻")
        s.add(ShiftSignup(shift_id=running.id, user_id=world["me"].id, status="confirmed", seq=1))
        s.flush()
        row = Checkin(user_id=world["me"].id, kind="checkpoint", checkpoint_id=world["cps"][0].id,
                      created_at=now - timedelta(minutes=10))
        s.add(row)
        s.flush()
        shifts.after_checkin(s, world["me"].id, row, now)
    client = signed_in(app, world["me"])
    page = client.get("/shifts").get_data(as_text=True)
    assert "正在巡逻" in page and "1 of 3 checkpoints scanned" in page
    stops = re.findall(r'<li class="stop (\w+)', page)
    assert stops == ["done", "todo", "todo"]
    partial = client.get(f"/shifts/{running.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith("<section") and 'id="route"' in partial


def test_week_calendar_with_htmx_navigation_and_fill_words(app, world):
    client = signed_in(app, world["boss"])
    week = world["full"].starts_at.astimezone(CST).date().isoformat()
    page = client.get(f"/manage/shifts?team={world['team'].id}&week={week}").get_data(as_text=True)
    assert "晚间巡逻" in page and "Full" in page and "1/1" in page
    nxt = (world["full"].starts_at.astimezone(CST).date() + timedelta(days=7)).isoformat()
    partial = client.get(f"/manage/shifts?team={world['team'].id}&week={nxt}", headers={"HX-Request": "true"})
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="week"') and "晚间巡逻" not in html
    volunteer = signed_in(app, world["me"])
    assert volunteer.get("/manage/shifts").status_code == 403
    hub = client.get("/manage").get_data(as_text=True)
    assert 'href="/manage/shifts"' in hub and 'href="/manage/no-shows"' in hub


def test_week_view_opens_on_today(app, world):
    client = signed_in(app, world["boss"])
    html = client.get(f"/manage/shifts?team={world['team'].id}").get_data(as_text=True)
    today = datetime.now(CST).date()
    open_days = html[html.index("</details>"):] if today.weekday() else html
    assert today.weekday() == 0 or "Earlier this week" in html[:html.index("</details>")]
    assert open_days[open_days.index('<li class="day'):].startswith('<li class="day today"')
    assert html.count('<li class="day') == 7  # the earlier days are folded away, not dropped


def test_create_edit_cancel_copy_through_forms(app, world):
    client = signed_in(app, world["boss"])
    csrf = token(client, "/manage/shifts/new")
    day = _day(5, 0).date()
    form = {"csrf_token": csrf, "team_id": world["team"].id, "title": "凌晨巡逻", "day": day.isoformat(),
            "start": "23:00", "end": "03:00", "capacity": "2", "points_per_hour": "10",
            "stop1": world["cps"][2].id, "stop2": "", "stop3": world["cps"][0].id,
            "repeat_until": (day + timedelta(days=7)).isoformat()}
    response = client.post("/manage/shifts/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with arrange(app) as s:
        made = s.exec(select(Shift).where(Shift.title == "凌晨巡逻").order_by(Shift.starts_at)).all()
        assert len(made) == 2
        assert made[0].starts_at == datetime.combine(day, datetime.min.time(), CST).replace(hour=23)
        assert made[0].ends_at - made[0].starts_at == timedelta(hours=4)
        assert shifts.route_ids(s, made[0].id) == [world["cps"][2].id, world["cps"][0].id]
    bad = client.post("/manage/shifts/new", data={**form, "capacity": "lots", "repeat_until": ""})
    assert bad.status_code == 422 and "Enter a whole number" in bad.get_data(as_text=True)
    no_route = client.post("/manage/shifts/new", data={**form, "stop1": "", "stop3": "", "repeat_until": ""})
    assert no_route.status_code == 422
    edit = client.post(f"/manage/shifts/{made[0].id}/edit", data={**form, "title": "凌晨巡逻改", "capacity": "5"})
    assert edit.status_code == 302
    response = client.post(f"/manage/shifts/{made[1].id}/cancel", data={"csrf_token": csrf, "reason": "大风"})
    assert response.status_code == 302
    response = client.post("/manage/shifts/copy-week", data={"csrf_token": csrf, "team_id": world["team"].id,
                                                            "week": day.isoformat()})
    assert response.status_code == 302
    with arrange(app) as s:
        first = s.get(Shift, made[0].id)
        assert first.title == "凌晨巡逻改" and first.capacity == 5 and s.get(Shift, made[1].id).cancelled
        assert len(s.exec(select(Shift).where(Shift.title == "凌晨巡逻改")).all()) == 2  # copied forward


def test_live_view_attendance_and_no_show_clearing(app, world):
    with arrange(app) as s:
        now = utcnow()
        past = factories.shift(s, world["team"], starts_at=_day(-2, 9), ends_at=_day(-2, 11),  # daytime: no night hours
                               route=world["cps"][:1], title="昨日巡逻")
        for user in (world["me"], world["other"]):
            s.add(ShiftSignup(shift_id=past.id, user_id=user.id, status="confirmed", seq=user.id))
    client = signed_in(app, world["boss"])
    page = client.get(f"/manage/shifts/{past.id}").get_data(as_text=True)
    assert "王阿姨" in page and "李师傅" in page and "Mark as no-show" in page
    csrf = token(client, f"/manage/shifts/{past.id}")
    client.post(f"/manage/shifts/{past.id}/attendance/{world['me'].id}/confirm", data={"csrf_token": csrf})
    client.post(f"/manage/shifts/{past.id}/attendance/{world['other'].id}/no_show",
                data={"csrf_token": csrf, "comment": "没有来"})
    page = client.get(f"/manage/shifts/{past.id}").get_data(as_text=True)
    assert "confirmed by hand" in page and "没有来" in page
    with arrange(app) as s:
        assert s.get(User, world["me"].id).minutes_served == 120
        assert s.get(User, world["me"].id).balance == 20
    volunteer = signed_in(app, world["me"])
    assert volunteer.get(f"/manage/shifts/{past.id}").status_code == 403
    assert volunteer.post(f"/manage/shifts/{past.id}/attendance/{world['other'].id}/confirm",
                          data={"csrf_token": token(volunteer)}).status_code == 403
    with arrange(app) as s:  # two more no-shows block 李师傅
        for hours in (30, 60):
            old = factories.shift(s, world["team"], starts_at=now - timedelta(hours=hours),
                                  ends_at=now - timedelta(hours=hours - 2), route=world["cps"][:1])
            s.add(ShiftSignup(shift_id=old.id, user_id=world["other"].id, status="no_show", seq=1, no_show_at=now))
    assert "李师傅" in client.get("/manage/no-shows").get_data(as_text=True)
    client.post(f"/manage/no-shows/{world['other'].id}/clear", data={"csrf_token": csrf})
    assert "No one is blocked." in client.get("/manage/no-shows").get_data(as_text=True)


def test_calendar_feed_url_works_and_revokes(app, world):
    client = signed_in(app, world["me"])
    client.post(f"/shifts/{world['night'].id}/signup", data={"csrf_token": token(client)})
    page = client.get("/shifts/calendar").get_data(as_text=True)
    url = re.search(r'id="feed-url">([^<]+)<', page).group(1).strip()
    path = url.split("://", 1)[1].split("/", 1)[1]
    anonymous = app.test_client()
    response = anonymous.get("/" + path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    events = Calendar.from_ical(response.get_data()).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["夜巡"]
    assert events[0].decoded("dtstart") == world["night"].starts_at
    client.post("/shifts/calendar/revoke", data={"csrf_token": token(client, "/shifts/calendar")})
    assert anonymous.get("/" + path).status_code == 404
    assert anonymous.get("/shifts/feed/1-nonsense.ics").status_code == 404


def test_no_hook_writes_before_a_page(app):
    """Reminders are made by the views that show them, not by a hook that runs before every
    request: the only ones check CSRF and set the request up."""
    hooks = [hook.__name__ for funcs in app.before_request_funcs.values() for hook in funcs]
    assert hooks == ["csrf_protect", "_start_request"]


def test_reminder_made_when_the_app_opens(app, world):
    with arrange(app) as s:
        soon = factories.shift(s, world["team"], starts_at=utcnow() + timedelta(hours=3),
                               ends_at=utcnow() + timedelta(hours=5), route=world["cps"][:1], title="马上巡逻")
        shifts.signup(s, world["me"], soon.id)
    client = signed_in(app, world["me"])
    assert client.get("/profile").status_code == 200
    assert client.get("/store").status_code == 200
    with arrange(app) as s:  # only the pages that show reminders make them; others only read
        assert s.exec(select(Notice).where(Notice.user_id == world["me"].id)).all() == []
    client.get("/")
    client.get("/")
    with arrange(app) as s:
        rows = s.exec(select(Notice).where(Notice.user_id == world["me"].id)).all()
        assert [(n.kind, n.url) for n in rows] == [("shift_reminder", f"/shifts/{soon.id}")]
        assert notices.unread_count(s, world["me"].id) == 1


def test_home_puts_my_next_shift_and_check_in_first(app, world):
    client = signed_in(app, world["me"])
    home = client.get("/").get_data(as_text=True)
    assert "My next shift" not in home  # nothing confirmed yet
    client.post(f"/shifts/{world['night'].id}/signup", data={"csrf_token": token(client)})
    home = client.get("/").get_data(as_text=True)
    top = home[home.index("<main"):home.index("Points to spend")]
    assert "My next shift" in top and "夜巡" in top and "断桥 → 白堤" in top and "Next checkpoint: 断桥" in top
    assert 'class="btn btn-primary btn-block btn-huge" href="/scan"' in top
    assert home.count('class="btn btn-primary') == 2  # check-in and the tip form's: one main button at the top


def test_level_bar_shows_a_little_progress(app):
    with arrange(app) as s:
        user = factories.user(s, language="en")
        ledger.post(s, user.id, 3, "award", "award:bar-test")  # 3 of the 100 points to the next level
    html = signed_in(app, user).get("/").get_data(as_text=True)
    assert 'aria-valuenow="3"' in html and '<span class="w-5">' in html
