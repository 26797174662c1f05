"""Demo data: a station with teams, volunteers, a coordinator and a clerk."""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlmodel import Session, select

from .errors import DomainError
from .models import Checkpoint, Shift, ShiftSignup, Team, TeamMembership, User
from .services import access, accounts, checkins, recognition, shifts, store, tips, units
from . import timeutil
from .timeutil import local, station_datetime

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
    _seed_shifts(session, coordinator, teams, volunteers)
    _seed_recognition(session, admin, volunteers)
    _seed_units(session, admin, teams)
    session.flush()
    return [("admin", admin.username, DEMO_PASSWORD), ("coordinator", coordinator.username, DEMO_PASSWORD),
            ("clerk", clerk.username, DEMO_PASSWORD), ("volunteer", "v01 … v30", DEMO_PASSWORD)]


def _seed_units(session: Session, admin: User, teams: list[Team]) -> None:
    """The biggest team split into three sub-units (分队), each led by its first member; the first
    sub-unit's patrol of yesterday afternoon waits for its leader to confirm who came."""
    session.flush()
    members = {team.id: sorted(session.exec(select(TeamMembership.user_id).where(
        TeamMembership.team_id == team.id, TeamMembership.role == "member")).all()) for team in teams}
    biggest = max(teams, key=lambda team: len(members[team.id]))
    people = members[biggest.id]
    names = ("一分队", "二分队", "三分队")
    for index, name in enumerate(names):
        share = people[index::len(names)]
        unit = units.create_unit(session, admin, biggest.id, name=name, leader_ids=share[:1])
        units.set_members(session, admin, unit.id, share)
        if index == 0:
            _seed_unit_shift(session, admin, unit.id, biggest.id, share[1:3])


def _seed_unit_shift(session: Session, admin: User, unit_id: int, team_id: int, member_ids: list[int],
                     now: datetime | None = None) -> None:
    now = now or timeutil.utcnow()
    day = local(now).date() - timedelta(days=1)
    route = list(session.exec(select(Checkpoint.id).where(Checkpoint.station_id == admin.station_id,
                                                          Checkpoint.active.is_(True))
                              .order_by(Checkpoint.id).limit(2)))
    shift = shifts.create_shifts(session, admin, team_id=team_id, title="一分队下午巡逻",
                                 starts_at=station_datetime(day, time(14)), ends_at=station_datetime(day, time(16)),
                                 capacity=4, checkpoint_ids=route, now=now, unit_id=unit_id)[0]
    for user_id in member_ids:
        try:
            shifts.signup(session, session.get(User, user_id), shift.id, now=shift.starts_at - timedelta(days=1))
        except DomainError:  # overlaps another of theirs
            pass


def _seed_shifts(session: Session, coordinator: User, teams: list[Team], volunteers: list[User],
              now: datetime | None = None) -> list[Shift]:
    """Two weeks of the patrol team (the first team) from the day before yesterday: an evening
    patrol every day and a night patrol across midnight on Fridays and Saturdays, along the
    team's checkpoints; one shift running now, sign-ups, waitlists, yesterday's patrol completed."""
    now = now or timeutil.utcnow()
    patrol = teams[0]
    route = list(session.exec(select(Checkpoint.id).where(Checkpoint.station_id == patrol.station_id,
                                                          Checkpoint.active.is_(True))
                              .order_by(Checkpoint.id).limit(4)))
    if len(route) < 2:
        for name in ("断桥东口", "白堤中段", "孤山路口"):
            checkpoint = Checkpoint(station_id=patrol.station_id, team_id=patrol.id, name=name)
            session.add(checkpoint)
            session.flush()
            route.append(checkpoint.id)
    members = set(access.team_ids_of(session, coordinator.id))
    if patrol.id not in members:
        return []
    crew = [v for v in volunteers if patrol.id in access.team_ids_of(session, v.id)]
    today = local(now).date()
    made: list[Shift] = []
    for offset in range(-2, 12):
        day = today + timedelta(days=offset)
        made += shifts.create_shifts(session, coordinator, team_id=patrol.id, title="湖滨步道晚间巡逻",
                                     starts_at=station_datetime(day, time(19)),
                                     ends_at=station_datetime(day, time(21)), capacity=4,
                                     checkpoint_ids=route[:3], points_per_hour=10, now=now)
        if day.weekday() in (4, 5):
            made += shifts.create_shifts(session, coordinator, team_id=patrol.id, title="景区夜间巡逻",
                                         starts_at=station_datetime(day, time(22)),
                                         ends_at=station_datetime(day + timedelta(days=1), time(2)),
                                         capacity=3, checkpoint_ids=list(reversed(route)), points_per_hour=10, now=now)
    start = local(now).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    running = shifts.create_shifts(session, coordinator, team_id=patrol.id, title="白天巡逻（进行中）",
                                   starts_at=start, ends_at=start + timedelta(hours=3), capacity=3,
                                   checkpoint_ids=route[:3], now=now)[0]
    made.append(running)
    week_ago = now - timedelta(days=7)
    for shift in made:
        if shift.starts_at < now - timedelta(days=2) or not crew or (shift.id % 4 == 0 and shift is not running):
            continue
        wanted = 5 if shift.id % 3 == 0 or shift is running else 2  # some fill up and grow a waitlist
        for turn in range(min(wanted, len(crew))):
            volunteer = crew[(shift.id * 2 + turn) % len(crew)]
            try:
                shifts.signup(session, volunteer, shift.id,
                              now=min(week_ago, shift.starts_at - timedelta(days=1)))
            except DomainError:  # overlaps another of theirs
                pass
    yesterday = [s for s in made if local(s.starts_at).date() == today - timedelta(days=1) and s.ends_at < now]
    for shift in yesterday:
        for row in session.exec(select(ShiftSignup).where(ShiftSignup.shift_id == shift.id,
                                                          ShiftSignup.status == "confirmed")).all():
            shifts.confirm_attendance(session, coordinator, shift.id, row.user_id, now=now)
    return made


def _seed_recognition(session: Session, admin: User, volunteers: list[User], now: datetime | None = None) -> None:
    """Demo awards (deterministic) and one volunteer who prefers to stay anonymous on the boards."""
    notes = ["十一月累计巡逻 46 小时，夜巡 8 次。", "在茶室调解邻里纠纷 12 起，无一反复。",
             "进市场开展反诈宣传 6 场，劝阻转账 2 起。"]
    keys = ["builtin:monthly_star", "builtin:gold_mediator", "builtin:anti_fraud"]
    for person, key, note in zip(volunteers[:3], keys, notes):
        recognition.grant_award(session, admin, user_id=person.id, template_key=key, note=note, now=now)
    if len(volunteers) > 4:
        volunteers[4].leaderboard_anonymous = True
        session.add(volunteers[4])
        session.flush()
