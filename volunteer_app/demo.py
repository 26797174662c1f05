"""Demo data: a station with teams, volunteers, a coordinator and a clerk."""
from __future__ import annotations

import random

from sqlmodel import Session

from .models import Team, TeamMembership
from .services import accounts, checkins, recognition, shifts, store, tips

DEMO_PASSWORD = "demo-pass-2026"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["建国", "秀英", "志强", "桂兰", "海燕", "国华", "玉梅", "明", "静", "伟", "芳", "军", "丽", "强", "敏"]
TEAMS = [
    ("西湖红袖章巡逻队", "湖滨步道与景区日夜巡逻"),
    ("老兵调解队", "茶室调解邻里纠纷"),
    ("反诈宣传队", "进社区、进市场开展反诈宣传"),
]


def seed(session: Session) -> list[tuple[str, str, str]]:
    """Fill an empty database; returns (role, username, password) for the terminal."""
    rng = random.Random(2026)
    station = accounts.default_station(session)
    admin = accounts.create_user(session, None, username="admin", password=DEMO_PASSWORD,
                                 display_name="站长 周警官", roles=["admin", "coordinator"], station_id=station.id)
    coordinator = accounts.create_user(session, None, username="coordinator", password=DEMO_PASSWORD,
                                       display_name="队长 陈建华", roles=["coordinator", "volunteer"],
                                       station_id=station.id)
    clerk = accounts.create_user(session, None, username="clerk", password=DEMO_PASSWORD,
                                 display_name="店员 林小梅", roles=["clerk"], station_id=station.id)
    teams = []
    for name, description in TEAMS:
        team = Team(station_id=station.id, name=name, description=description)
        session.add(team)
        session.flush()
        teams.append(team)
        session.add(TeamMembership(team_id=team.id, user_id=coordinator.id, role="coordinator"))
    volunteers = []
    for number in range(1, 31):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        user = accounts.create_user(session, None, username=f"v{number:02d}", password=DEMO_PASSWORD,
                                    display_name=name, roles=["volunteer"], station_id=station.id,
                                    phone=f"138{rng.randrange(10**8):08d}")
        session.add(TeamMembership(team_id=teams[number % len(teams)].id, user_id=user.id, role="member"))
        volunteers.append(user)
    for number, name in ((1, "赵大妈"), (2, "钱师傅")):
        accounts.register(session, username=f"new{number}", password=DEMO_PASSWORD, display_name=name,
                          station_id=station.id)
    store.seed_demo(session, admin, volunteers)
    tips.seed_demo(session, coordinator, volunteers)
    checkins.seed_demo(session, admin, teams, volunteers)
    shifts.seed_demo(session, coordinator, teams, volunteers)
    recognition.seed_demo(session, admin, volunteers)
    session.flush()
    return [("admin", admin.username, DEMO_PASSWORD), ("coordinator", coordinator.username, DEMO_PASSWORD),
            ("clerk", clerk.username, DEMO_PASSWORD), ("volunteer", "v01 … v30", DEMO_PASSWORD)]
