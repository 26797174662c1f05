"""Every page of the three people's first day, at 390x844, in Chinese and English, in the
standard size and in 长辈版: each saved as a screenshot to look at, and each checked as a journey
step is (no sideways scrolling, no serious axe-core violation, no Content-Security-Policy refusal,
no server error), with no word of a button or the navigation broken over two lines."""
from __future__ import annotations

import pytest

from .test_large_mode import BROKEN_WORDS

VOLUNTEER = ["/", "/scan", "/shifts", "/shifts/{shift_id}", "/points", "/store", "/store/card", "/leaderboard",
             "/badges", "/notices", "/tips/new", "/profile"]
COORDINATOR = ["/manage", "/manage/approvals", "/manage/tips", "/manage/shifts", "/manage/checkpoints",
               "/manage/awards?q=罗", "/manage/dashboard", "/manage/users", "/reports"]
CLERK = ["/counter", "/store/manage", "/counter/count", "/counter/summary"]


def _station(live_server, *, language: str, large: bool):
    """A coordinator (also the station's admin), a clerk and a volunteer on a shift, with a tip,
    a registration waiting, items in the store, two people of one name."""
    from datetime import timedelta

    from sqlmodel import select

    from volunteer_app.models import Team, User
    from volunteer_app.services import checkpoints, ledger, shifts, store, tips
    from volunteer_app.timeutil import utcnow

    coordinator = live_server.make_user(roles=("admin", "coordinator", "volunteer"), team="湖滨巡逻队",
                                        team_role="coordinator", display_name="陈队长")
    clerk = live_server.make_user(roles=("clerk",), display_name="店员小林")
    volunteer = live_server.make_user(team="湖滨巡逻队", display_name="罗静")
    live_server.make_user(team="湖滨巡逻队", display_name="罗静")
    live_server.make_user(display_name="新来的", status="pending")
    with live_server.session() as session:
        actor = session.get(User, coordinator.id)
        team_id = session.exec(select(Team.id).where(Team.name == "湖滨巡逻队")).one()
        stops = [checkpoints.create(session, actor, name=name, points=2, team_id=team_id) for name in ("北山街口", "断桥")]
        now = utcnow()
        shift = shifts.create_shifts(session, actor, team_id=team_id, title="湖滨早巡",
                                     starts_at=now + timedelta(minutes=20), ends_at=now + timedelta(hours=2),
                                     capacity=3, checkpoint_ids=[stop.id for stop in stops], points_per_hour=10)[0]
        person = session.get(User, volunteer.id)
        shifts.signup(session, person, shift.id)
        ledger.post(session, volunteer.id, 35, "award", f"e2e-tour:{volunteer.id}", reason="湖滨早巡")
        tips.submit(session, person, category="dispute", description="两户人家为停车吵架，已经吵了半小时")
        store.create_item(session, actor, name="毛巾", cost=10, stock=5)
        store.create_item(session, actor, name="雨伞（折叠，蓝色）", cost=40, stock=1)
        for user_id in (coordinator.id, clerk.id, volunteer.id):
            user = session.get(User, user_id)
            user.language, user.large_mode = language, large
            session.add(user)
        shift_id = shift.id
    return {"volunteer": (volunteer, VOLUNTEER), "coordinator": (coordinator, COORDINATOR),
            "clerk": (clerk, CLERK)}, shift_id


@pytest.mark.parametrize(("language", "large"), [("zh_CN", False), ("zh_CN", True), ("en", False), ("en", True)])
def test_first_day_pages_in_both_languages_and_sizes(new_page, live_server, journey, language, large):
    people, shift_id = _station(live_server, language=language, large=large)
    for role, (user, paths) in people.items():
        page = new_page(user)
        for path in paths:
            path = path.format(shift_id=shift_id)
            with journey.step(f"{role} {path}", page):
                answer = page.goto(path)
                assert answer.status == 200, f"{path}: {answer.status}"
                assert page.evaluate("() => document.body.classList.contains('large')") == large
                broken = page.evaluate(BROKEN_WORDS)
                assert not broken, f"words broken over two lines on {path}: " + "; ".join(broken[:12])
