"""What notice preferences, SMS and arrivals from a check-in cost, in process, on SQLite or PostgreSQL.

    python tests/bench/bench_notify.py            # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_notify.py

One station, 400 volunteers with phone numbers in one team, 40 checkpoints. Measured in the same
run, in alternating rounds so that a change in the machine's speed weighs on all alike:

* check-ins (the service, one transaction each, distinct volunteer and checkpoint) at checkpoints
  no call-out names (the baseline); at checkpoints where an open call-out waits for 100 others
  (the scan only looks); and by people who answered 我来 there (the scan marks them arrived and
  pays the call-out's points);
* a call-out to all 400 (a notice each and, three a day at most, a text each) without any
  preference rows, and with one for everyone (half of them muted call-outs in the app).

Prints rates and the ratios against the baseline. The PostgreSQL database is wiped. Timing is
reported, never asserted.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

VOLUNTEERS = 400
CHECKPOINTS = 40
ROUNDS = 5
PER_PHASE = 150


def main() -> None:
    from sqlalchemy import delete, text
    from sqlmodel import SQLModel, select

    from volunteer_app import create_app, db
    from volunteer_app.models import (Callout, CalloutAnswer, Checkpoint, NoticePreference, SmsMessage, Team,
                                      TeamMembership, User)
    from volunteer_app.services import accounts, callouts, checkins, checkpoints
    from volunteer_app.timeutil import utcnow

    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='bench-notify-')}/bench.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "PUBLIC_BASE_URL": "https://bench.example.cn",
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-instance-"), "FAST_PASSWORD_HASH": True})
    engine = app.extensions["db_engine"]
    if engine.dialect.name == "postgresql":
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.create_all(engine)
    with app.app_context(), db.unit_of_work(engine) as session:
        station = accounts.default_station(session)
        team = Team(station_id=station.id, name="湖滨巡逻队")
        session.add(team)
        session.flush()
        boss = User(station_id=station.id, username="boss", display_name="队长", roles="coordinator volunteer",
                    status="active", password_hash="x")
        people = [User(station_id=station.id, username=f"v{n:04d}", display_name=f"志愿者{n}", roles="volunteer",
                       status="active", password_hash="x", phone=f"138{n:08d}") for n in range(VOLUNTEERS)]
        session.add_all([boss, *people])
        session.flush()
        session.add_all([TeamMembership(team_id=team.id, user_id=row.id, role="member") for row in people]
                        + [TeamMembership(team_id=team.id, user_id=boss.id, role="coordinator")])
        places = [Checkpoint(station_id=station.id, name=f"巡逻点{n}", points=5, cooldown_minutes=30)
                  for n in range(CHECKPOINTS)]
        session.add_all(places)
        session.flush()
        boss_id, team_id = boss.id, team.id
        person_ids = [row.id for row in people]
        tokens = {row.id: checkpoints.token(row) for row in places}
        place_ids = [row.id for row in places]
    plain, awaited = place_ids[:20], place_ids[20:]
    # an open call-out at each "awaited" checkpoint; people 200..299 answered coming to all of them
    with app.test_request_context("/"), db.unit_of_work(engine) as session:
        boss = session.get(User, boss_id)
        made = [callouts.create(session, boss, title=f"召集{n}", needed=500, checkpoint_id=place, points=8,
                                team_ids=[team_id], expires_in_minutes=24 * 60)
                for n, place in enumerate(awaited)]
        now = utcnow()
        session.add_all([CalloutAnswer(callout_id=row.id, user_id=person, answer="coming", answered_at=now,
                                       first_answered_at=now) for row in made for person in person_ids[200:300]])
        session.execute(update_count(Callout, [row.id for row in made], 100))
    pairs = {"plain": iter([(p, c) for p in person_ids[:200] for c in plain]),
             "awaited, not coming": iter([(p, c) for p in person_ids[:200] for c in awaited]),
             "arriving": iter([(p, c) for c in awaited for p in person_ids[200:300]])}
    rates: dict[str, list[float]] = {name: [] for name in pairs}
    for _round in range(ROUNDS):
        for name, source in pairs.items():
            began = time.perf_counter()
            for _ in range(PER_PHASE):
                person, place = next(source)
                with app.test_request_context("/"), db.unit_of_work(engine) as session:
                    checkins.check_in(session, session.get(User, person), tokens[place])
            rates[name].append(PER_PHASE / (time.perf_counter() - began))
    base = statistics.median(rates["plain"])
    print(f"engine: {engine.dialect.name}")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"check-ins, {name:20s} {rate:8.1f}/s   ratio {rate / base:.2f}")

    def call_out(n: int) -> float:
        with app.test_request_context("/"), db.unit_of_work(engine) as session:
            session.execute(delete(SmsMessage))  # each call-out texts everyone (no day's limit in the way)
        began = time.perf_counter()
        with app.test_request_context("/"), db.unit_of_work(engine) as session:
            callouts.create(session, session.get(User, boss_id), title=f"全员召集{n}", needed=10, team_ids=[team_id])
        return time.perf_counter() - began

    without, with_rows = [], []
    for n in range(ROUNDS):
        with app.test_request_context("/"), db.unit_of_work(engine) as session:
            session.execute(delete(NoticePreference))
        without.append(call_out(2 * n))
        with app.test_request_context("/"), db.unit_of_work(engine) as session:
            session.add_all([NoticePreference(station_id=1, user_id=person, muted="callouts" if index % 2 else "")
                             for index, person in enumerate(person_ids)])
        with_rows.append(call_out(2 * n + 1))
    a, b = statistics.median(without), statistics.median(with_rows)
    print(f"call-out to {VOLUNTEERS} (notices + texts), no preference rows   {a * 1000:8.1f} ms")
    print(f"call-out to {VOLUNTEERS}, a preference row each (half muted)    {b * 1000:8.1f} ms   ratio {b / a:.2f}")
    with app.app_context(), db.unit_of_work(engine, write=False) as session:
        texts = session.exec(select(SmsMessage)).all()
    print(f"texts queued by the last call-out: {len(texts)}")
    engine.dispose()


def update_count(model, ids, count):
    from sqlalchemy import update
    return update(model).where(model.id.in_(ids)).values(coming_count=count)


if __name__ == "__main__":
    main()
