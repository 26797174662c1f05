"""Call-outs on the phone: sent from the form, seen at the top of every page while open (polling
only then), answered with htmx, watched, arrivals marked, closed; figures on the dashboard."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from volunteer_app.models import Callout, CalloutAnswer

from . import factories
from .conftest import arrange, csrf_token, signed_in

pytestmark = pytest.mark.usefixtures("english_pages")


def _people(app):
    with arrange(app) as session:
        team = factories.team(session)
        return factories.coordinator(session, team), factories.user(session, team=team, display_name="王阿姨")


def test_sent_from_the_phone_answered_on_every_page_and_watched(app):
    coordinator, volunteer = _people(app)
    boss = signed_in(app, coordinator)
    assert "/callouts/new" in boss.get("/manage").get_data(as_text=True)
    form = boss.get("/callouts/new").get_data(as_text=True)
    preset = re.search(r'name="title" value="([^"]+)" checked', form).group(1)
    token = csrf_token(boss, "/callouts/new")
    sent = boss.post("/callouts", data={"csrf_token": token, "title": preset, "needed": "3", "minutes": "30",
                                        "team_id": "", "points": "5", "place": ""})
    assert sent.status_code == 302
    with arrange(app) as session:
        [callout] = session.exec(select(Callout)).all()
    assert (callout.title, callout.needed, callout.points) == (preset, 3, 5)

    phone = signed_in(app, volunteer)
    for path in ("/", "/shifts", "/store"):
        page = phone.get(path).get_data(as_text=True)
        assert preset in page and 'hx-trigger="every 20s"' in page, path
    vtoken = csrf_token(phone, "/")
    answered = phone.post(f"/callouts/{callout.id}/answer", data={"csrf_token": vtoken, "answer": "coming"},
                          headers={"HX-Request": "true"})
    assert answered.status_code == 200 and "Your answer: I'm coming" in answered.get_data(as_text=True)

    watch = boss.get(f"/callouts/{callout.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "王阿姨" in watch and "1 of 3 coming" in watch and 'hx-trigger="every 5s"' in watch
    boss.post(f"/callouts/{callout.id}/arrived/{volunteer.id}", data={"csrf_token": token})
    with arrange(app) as session:
        assert session.exec(select(CalloutAnswer)).one().arrived_at is not None
    boss.post(f"/callouts/{callout.id}/close", data={"csrf_token": token})
    page = phone.get("/").get_data(as_text=True)
    assert preset not in page and 'hx-trigger="every 20s"' not in page
    dashboard = boss.get("/manage/dashboard").get_data(as_text=True)
    assert "How call-outs were answered" in dashboard and preset in dashboard


def test_no_banner_and_no_polling_without_an_open_call_out(app):
    _coordinator, volunteer = _people(app)
    page = signed_in(app, volunteer).get("/").get_data(as_text=True)
    assert 'id="callout-banner"' in page and "every 20s" not in page


def test_a_late_answer_says_the_call_out_is_closed(app):
    coordinator, volunteer = _people(app)
    boss = signed_in(app, coordinator)
    token = csrf_token(boss, "/callouts/new")
    boss.post("/callouts", data={"csrf_token": token, "custom_title": "急需一人", "needed": "1"})
    with arrange(app) as session:
        callout = session.exec(select(Callout)).one()
    boss.post(f"/callouts/{callout.id}/close", data={"csrf_token": token})
    phone = signed_in(app, volunteer)
    answer = phone.post(f"/callouts/{callout.id}/answer", data={"csrf_token": csrf_token(phone, "/"), "answer": "coming"},
                        follow_redirects=True)
    assert answer.status_code == 200 and "This call-out is closed." in answer.get_data(as_text=True)
    assert phone.post(f"/callouts/{callout.id}/answer", data={"csrf_token": csrf_token(phone, "/"),
                                                              "answer": "maybe"}).status_code == 400


def test_volunteers_cannot_send(app):
    _coordinator, volunteer = _people(app)
    phone = signed_in(app, volunteer)
    assert phone.get("/callouts/new").status_code == 403
    assert phone.post("/callouts", data={"csrf_token": csrf_token(phone, "/"), "title": "x"}).status_code == 403
