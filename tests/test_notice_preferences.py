"""What each person hears: preferences decide, in the notices service, which notices are written;
the API and the 通知设置 page change them; bad input is a clear 422."""
from __future__ import annotations

import pytest
from sqlmodel import select

from volunteer_app.models import Notice
from volunteer_app.services import notices

from . import factories
from .conftest import arrange, csrf_token, refused, sign_in

TURNABLE = [group for group in notices.GROUPS if group not in notices.LOCKED]


def _count(session, user_id, kind=None) -> int:
    query = select(Notice).where(Notice.user_id == user_id)
    if kind:
        query = query.where(Notice.kind == kind)
    return len(session.exec(query).all())


def test_everything_is_on_by_default_and_sms_only_with_a_phone(session):
    with_phone = factories.user(session, phone="13800138000")
    without = factories.user(session)
    prefs = notices.preferences_of(session, with_phone)
    assert prefs.kinds == {group: True for group in notices.GROUPS}
    assert prefs.sms == {"callouts": True, "shift_reminders": True} and prefs.sms_available
    bare = notices.preferences_of(session, without)
    assert bare.sms == {"callouts": False, "shift_reminders": False} and not bare.sms_available
    assert notices.sms_recipients(session, [with_phone.id, without.id], "callouts") == [with_phone.id]


@pytest.mark.parametrize("group", TURNABLE)
def test_a_kind_turned_off_is_not_written_by_any_way_of_telling(session, group):
    me = factories.user(session)
    other = factories.user(session)
    notices.set_preferences(session, me, kinds={group: False})
    for kind in notices.GROUPS[group]:
        assert notices.notify(session, me.id, kind, "t") is None
        assert notices.notify(session, me.id, kind, "t", dedupe_key=f"k:{kind}:{me.id}") is None
        notices.notify_all(session, me.id, [(kind, "t", "b", "/")])
        notices.notify_once_each(session, [(me.id, kind, "t", "b", "/", f"e:{kind}:{me.id}"),
                                           (other.id, kind, "t", "b", "/", f"e:{kind}:{other.id}")])
        assert _count(session, me.id, kind) == 0
        assert _count(session, other.id, kind) == 1  # someone else still hears it
    others = [kind for name, kinds in notices.GROUPS.items() if name != group for kind in kinds]
    assert notices.notify(session, me.id, others[0], "still heard") is not None
    notices.set_preferences(session, me, kinds={group: True})
    assert notices.notify(session, me.id, notices.GROUPS[group][0], "back on") is not None


def test_locked_and_ungrouped_kinds_are_always_written(session):
    me = factories.user(session)
    refused("validation_error", notices.set_preferences, session, me, kinds={"security": False})
    notices.set_preferences(session, me, kinds={group: False for group in TURNABLE})
    assert notices.notify(session, me.id, "security", "new sign-in") is not None
    assert notices.notify(session, me.id, "unscanned", "a checkpoint not scanned") is not None


def test_bad_choices_are_refused_and_change_nothing(session):
    me = factories.user(session)
    for kinds, sms in (({"weather": False}, None), ({"tips": "no"}, None), ({"tips": 0}, None),
                       (None, {"awards": True}), (None, {"callouts": True}), (None, {"callouts": 1})):
        refused("validation_error", notices.set_preferences, session, me, kinds=kinds, sms=sms)
    assert notices.preferences_of(session, me).kinds["tips"] is True


def test_sms_can_be_turned_off_per_channel(session):
    me = factories.user(session, phone="13800138000")
    notices.set_preferences(session, me, sms={"callouts": False})
    assert notices.preferences_of(session, me).sms == {"callouts": False, "shift_reminders": True}
    assert notices.sms_recipients(session, [me.id], "callouts") == []
    assert notices.sms_recipients(session, [me.id], "shift_reminders") == [me.id]


def test_an_award_to_someone_who_turned_awards_off_writes_no_notice(app, api):
    with arrange(app) as session:
        team = factories.team(session)
        boss = factories.coordinator(session, team)
        me = factories.user(session, team=team)
    assert api.put("/api/v1/me/notice-preferences", user=me, json={"kinds": {"awards": False}}).status_code == 200
    given = api.post("/api/v1/awards", user=boss, json={"user_id": me.id, "title": "好人好事", "points": 5})
    assert given.status_code == 201
    with arrange(app, write=False) as session:
        assert _count(session, me.id, "award") == 0


def test_the_api_reads_and_changes_preferences(app, api):
    with arrange(app) as session:
        me = factories.user(session, phone="13800138000")
        bare = factories.user(session)
    got = api.get("/api/v1/me/notice-preferences", user=me).get_json()
    assert got["kinds"]["callouts"] is True and got["sms"] == {"callouts": True, "shift_reminders": True}
    assert got["locked"] == ["security"] and got["sms_available"] is True
    put = api.put("/api/v1/me/notice-preferences", user=me,
                  json={"kinds": {"store": False}, "sms": {"shift_reminders": False}})
    assert put.status_code == 200
    assert put.get_json()["kinds"]["store"] is False and put.get_json()["sms"]["shift_reminders"] is False
    again = api.put("/api/v1/me/notice-preferences", user=me, json={"kinds": {"tips": False}}).get_json()
    assert again["kinds"]["store"] is False and again["kinds"]["tips"] is False  # what is not named stays
    for body in ({"kinds": {"weather": True}}, {"kinds": {"tips": "yes"}}, {"kinds": {"tips": 1}},
                 {"sms": {"awards": True}}, {"kinds": []}, {"kinds": {"security": False}}, {"colour": "red"},
                 {"kinds": {"tips": None, "store": [True]}}, [], "on", {}):
        response = api.put("/api/v1/me/notice-preferences", user=me, json=body)
        assert response.status_code == 422, (body, response.get_data(as_text=True))
        assert response.get_json()["code"] == "validation_error"
    phoneless = api.put("/api/v1/me/notice-preferences", user=bare, json={"sms": {"callouts": True}})
    assert phoneless.status_code == 422 and phoneless.get_json()["errors"][0]["field"] == "sms"
    assert api.put("/api/v1/me/notice-preferences", user=bare, json={"sms": {"callouts": False}}).status_code == 200
    assert api.get("/api/v1/me/notice-preferences").status_code == 401
    final = api.get("/api/v1/me/notice-preferences", user=me).get_json()
    assert final["kinds"] == {**{group: True for group in notices.GROUPS}, "store": False, "tips": False}


def test_the_page_switches_a_kind_off_and_on(app, client, english_pages):
    with arrange(app) as session:
        me = factories.user(session, large_mode=True)
    sign_in(client, me)
    assert "Notice settings" in client.get("/profile").get_data(as_text=True)
    page = client.get("/profile/notices")
    assert page.status_code == 200 and 'class="large' in page.get_data(as_text=True)
    token = csrf_token(client, "/profile/notices")
    off = client.post("/profile/notices", data={"csrf_token": token, "kind": "tips", "on": "0"},
                      headers={"HX-Request": "true"})
    text = off.get_data(as_text=True)
    assert off.status_code == 200 and 'id="notice-switches"' in text
    assert "<html" not in text
    with arrange(app, write=False) as session:
        assert notices.preferences_of(session, me).kinds["tips"] is False
    plain = client.post("/profile/notices", data={"csrf_token": token, "kind": "tips", "on": "1"})
    assert plain.status_code == 302
    with arrange(app, write=False) as session:
        assert notices.preferences_of(session, me).kinds["tips"] is True
    sms = client.post("/profile/notices", data={"csrf_token": token, "sms": "callouts", "on": "1"},
                      headers={"HX-Request": "true"})
    assert "phone number" in sms.get_data(as_text=True) and "notice-error" in sms.get_data(as_text=True)
    for data in ({"kind": "weather", "on": "0"}, {"kind": "security", "on": "0"}, {"kind": "x" * 500, "on": "1"}):
        bad = client.post("/profile/notices", data={"csrf_token": token, **data}, headers={"HX-Request": "true"})
        assert bad.status_code == 200 and "notice-error" in bad.get_data(as_text=True)
