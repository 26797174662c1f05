"""Recognition pages: leaderboard tabs (htmx partial), anonymity on the page, badges with dates,
granting an award from a template and its certificate (SQLite and PostgreSQL). The people read
the pages in English (the certificate is Chinese whatever the language)."""
from __future__ import annotations


from sqlmodel import select

from volunteer_app.models import Award, LedgerEntry
from volunteer_app.services import ledger, recognition

from . import factories
from .conftest import arrange, csrf_token, signed_in


def test_leaderboard_page_tabs_and_anonymity(app):
    with arrange(app) as s:
        team = factories.team(s, "红袖章")
        me = factories.user(s, team=team, username="me", display_name="王秀英", language="en")
        shy = factories.user(s, team=team, display_name="李不愿", leaderboard_anonymous=True)
        ledger.post(s, me.id, 20, "checkin", "checkin:1")
        ledger.post(s, shy.id, 30, "checkin", "checkin:2")
        team_id = team.id
    client = signed_in(app, "me")
    page = client.get("/leaderboard").get_data(as_text=True)
    assert "王秀英" in page and "李不愿" not in page and "Anonymous volunteer" in page
    assert "You are number 2 with 20 points." in page
    partial = client.get(f"/leaderboard?period=week&scope=team&team_id={team_id}", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and body.lstrip().startswith("<div id=\"board\"") and "<html" not in body
    assert "红袖章" in body and "李不愿" not in body
    teams = client.get("/leaderboard?scope=teams&period=all").get_data(as_text=True)
    assert "Teams by points per member" in teams and "25.0" in teams
    assert client.get("/leaderboard?scope=team&team_id=999999").status_code == 404
    assert client.get("/leaderboard?period=decade").status_code == 200  # falls back to the month


def test_badges_page_shows_dates(app):
    with arrange(app) as s:
        me = factories.user(s, username="me2", language="en")
        recognition.award_badge(s, me.id, "first_checkin")
    page = signed_in(app, "me2").get("/badges").get_data(as_text=True)
    assert "First patrol" in page and "Earned on" in page and "Not earned yet" in page
    assert f"1 of {len(recognition.BADGES)} badges earned." in page


def test_badges_not_yet_earned_show_how_far_there_is_to_go(app):
    with arrange(app) as s:
        me = factories.user(s, username="me3", language="en")
        me.minutes_served = 30 * 60 + 20
        s.add(me)
    page = signed_in(app, "me3").get("/badges").get_data(as_text=True)
    assert "10 more patrols to go" in page and "50 more patrols to go" in page
    assert "70 more hours to go" in page and ">0 more hours" not in page  # 24 h reached: nothing left to count


def test_coordinator_grants_from_a_template_and_prints(app):
    with arrange(app) as s:
        team = factories.team(s)
        factories.coordinator(s, team, username="coord", language="en")
        person = factories.user(s, team=team, display_name="张桂兰")
        outsider = factories.user(s, username="outsider")
        person_id, outsider_id = person.id, outsider.id
    client = signed_in(app, "coord")
    page = client.get("/manage/awards").get_data(as_text=True)
    assert "月度之星" in page and "张桂兰" not in page  # the picker lists people as their name is typed
    assert "张桂兰" in client.get("/manage/awards?q=桂兰").get_data(as_text=True)
    assert "/manage/awards" in client.get("/manage").get_data(as_text=True)
    token = csrf_token(client, "/manage/awards")
    answer = client.post("/manage/awards", data={"csrf_token": token, "user_id": person_id,
                                                 "template": "builtin:gold_mediator", "title": "", "points": "",
                                                 "note": "调解纠纷 12 起"})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    with arrange(app) as s:
        award = s.exec(select(Award).where(Award.user_id == person_id)).one()
        assert (award.title, award.points) == ("金牌调解员", 100)
        assert s.exec(select(LedgerEntry).where(LedgerEntry.ref == f"award:{award.id}")).one().amount == 100
    certificate = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "荣誉证书" in certificate and "张桂兰 同志" in certificate and "「金牌调解员」" in certificate
    assert "调解纠纷 12 起" in certificate and "奖励积分 100 分" in certificate
    refused = client.post("/manage/awards", data={"csrf_token": token, "user_id": outsider_id,
                                                  "template": "builtin:monthly_star"})
    assert refused.status_code == 403
    bad = client.post("/manage/awards", data={"csrf_token": token, "user_id": person_id, "template": "",
                                              "title": "", "points": "x"})
    assert bad.status_code == 422
    own = client.post("/manage/awards/templates", data={"csrf_token": token, "new_title": "护学岗之星",
                                                        "new_points": "20", "new_description": "护送学生"})
    assert own.status_code in (302, 303)
    assert "护学岗之星" in client.get("/manage/awards").get_data(as_text=True)
    volunteer = signed_in(app, "outsider")
    assert volunteer.get("/manage/awards").status_code == 403


def test_award_picker_searches_as_you_type_and_without_javascript(app):
    with arrange(app) as s:
        east, west = factories.team(s, "东巡逻队"), factories.team(s, "西巡逻队")
        coord = factories.coordinator(s, east, username="picker", display_name="罗队长", language="en")
        factories.membership(s, west, coord, "coordinator")
        one = factories.user(s, team=east, display_name="罗静", username="luojing1")
        two = factories.user(s, team=west, display_name="罗静", username="luojing2")
        stranger = factories.user(s, team=factories.team(s, "南巡逻队"), display_name="罗静", username="luojing3")
        one_id, two_id, stranger_id, coord_id = one.id, two.id, stranger.id, coord.id
    client = signed_in(app, "picker")
    page = client.get("/manage/awards").get_data(as_text=True)
    assert 'hx-get="/manage/awards/people"' in page and 'hx-trigger="input changed delay:300ms' in page
    assert 'id="award-people"' in page and 'name="user_id"' not in page  # nobody listed before typing

    partial = client.get("/manage/awards/people?q=罗静", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and body.lstrip().startswith('<div id="award-people"') and "<html" not in body
    assert f'value="{one_id}"' in body and f'value="{two_id}"' in body and f'value="{stranger_id}"' not in body
    assert "东巡逻队" in body and "西巡逻队" in body
    assert f"Member no. {one_id}" in body and f"Member no. {two_id}" in body
    assert f'value="{coord_id}"' not in client.get("/manage/awards/people?q=罗").get_data(as_text=True)
    by_number = client.get(f"/manage/awards/people?q={two_id}").get_data(as_text=True)
    assert by_number.index(f'value="{two_id}"') < by_number.find(f'value="{one_id}"') or f'value="{one_id}"' not in by_number
    assert "Nobody found" in client.get("/manage/awards/people?q=nobody-at-all").get_data(as_text=True)
    assert client.get("/manage/awards/people?q=" + "罗" * 500).status_code == 200

    # Without JavaScript: the search is a GET form; the page lists the people inside the award form.
    plain = client.get("/manage/awards?q=luojing2").get_data(as_text=True)
    form = plain[plain.index('method="post" action="/manage/awards"'):]
    assert f'value="{two_id}"' in form and f'value="{one_id}"' not in form and 'value="luojing2"' in plain
    # A person chosen from another page stays chosen; an award refused for lack of a title keeps the list.
    chosen = client.get(f"/manage/awards?user_id={one_id}").get_data(as_text=True)
    assert f'value="{one_id}" checked' in chosen
    token = csrf_token(client, "/manage/awards")
    bad = client.post("/manage/awards", data={"csrf_token": token, "q": "罗静", "user_id": two_id, "template": "",
                                              "title": "", "points": ""})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and f'value="{two_id}" checked' in body and f'value="{one_id}"' in body
    volunteer = signed_in(app, "luojing1")
    assert volunteer.get("/manage/awards/people?q=罗").status_code == 403
