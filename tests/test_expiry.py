"""Points that lapse (POINTS_EXPIRE): lots, spending soonest-lapsing first, refunds to the same
lots, the sweep, notices, what lapses soon, and `check`."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from volunteer_app import cli, create_app
from volunteer_app.config import parse_points_expire
from volunteer_app.models import LedgerEntry, LotDraw, Notice, PointsLot, User
from volunteer_app.services import dashboard, expiry, ledger, store
from volunteer_app.timeutil import local, utcnow

from . import factories
from .conftest import arrange

MARCH = datetime(2024, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
NEXT_YEAR = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)


def earn(session, user, points, when, kind="award"):
    return ledger.post(session, user.id, points, kind, f"{kind}:test:{user.id}:{when.isoformat()}:{points}", now=when)


def lots_of(session, user):
    return [(lot.amount, lot.remaining, lot.expires_on)
            for lot in session.exec(select(PointsLot).where(PointsLot.user_id == user.id).order_by(PointsLot.id))]


def entries_of(session, user, kind):
    return [(entry.amount, entry.ref) for entry in session.exec(
        select(LedgerEntry).where(LedgerEntry.user_id == user.id, LedgerEntry.kind == kind).order_by(LedgerEntry.id))]


@pytest.mark.parametrize("raw, rule", [("never", ("never", 0)), ("year_end:0", ("year_end", 0)),
                                       ("year_end:3", ("year_end", 3)), ("months:36", ("months", 36)),
                                       (" Months:6 ", ("months", 6))])
def test_rules_understood(raw, rule):
    assert parse_points_expire(raw) == rule


@pytest.mark.parametrize("raw", ["", "always", "year_end", "year_end:-1", "months:0", "months:x", "months:1.5",
                                 "year_end:101", "months:١", None])
def test_a_bad_rule_stops_the_start_with_a_clear_message(raw, tmp_path):
    with pytest.raises(ValueError, match="POINTS_EXPIRE=.*never.*year_end:N.*months:N"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "POINTS_EXPIRE": raw})


@pytest.mark.parametrize("rule, earned, last_day", [
    ("never", MARCH, None),
    ("year_end:0", MARCH, date(2024, 12, 31)),
    ("year_end:1", MARCH, date(2025, 12, 31)),
    ("months:3", MARCH, date(2024, 6, 10)),
    ("months:1", datetime(2024, 1, 31, 2, 0, tzinfo=UTC), date(2024, 2, 29)),
    ("months:1", datetime(2025, 1, 31, 2, 0, tzinfo=UTC), date(2025, 2, 28)),
    # 31 December 17:00 UTC is already 1 January in the station
    ("year_end:0", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), date(2025, 12, 31)),
])
def test_each_earning_records_its_last_day(app, rule, earned, last_day):
    app.config["POINTS_EXPIRE"] = rule
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 40, earned)
        assert lots_of(session, user) == ([(40, 40, last_day)] if last_day else [])  # never: in no lot


def test_spending_takes_the_points_lapsing_soonest_and_records_the_lots(app):
    with arrange(app) as session:
        user = factories.user(session)
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, cost=40, stock=5)
        earn(session, user, 30, MARCH)  # never lapses (the rule then)
        app.config["POINTS_EXPIRE"] = "year_end:0"
        earn(session, user, 30, MARCH + timedelta(days=1))  # lapses after 2024-12-31
        result = store.redeem(session, clerk, item_id=item.id, user_id=user.id, now=MARCH + timedelta(days=2))
        assert lots_of(session, user) == [(30, 0, date(2024, 12, 31))]  # the other 10 from points that never lapse
        assert session.get(User, user.id).balance == 20
        entry = ledger.find(session, f"redemption:{result.redemption.id}")
        assert [draw.points for draw in session.exec(select(LotDraw).where(LotDraw.entry_id == entry.id))] == [30]
    assert cli.run_checks(app) == []


def test_changing_the_rule_never_revives_or_kills_points(app):
    with arrange(app) as session:
        kept = factories.user(session)
        lapsing = factories.user(session)
        earn(session, kept, 25, MARCH)
        app.config["POINTS_EXPIRE"] = "months:1"
        earn(session, lapsing, 25, MARCH)
        app.config["POINTS_EXPIRE"] = "never"
    result = expiry.sweep(app.extensions["db_engine"], now=NEXT_YEAR)
    assert (result.entries, result.points) == (1, 25)
    with arrange(app) as session:
        assert session.get(User, kept.id).balance == 25
        assert session.get(User, lapsing.id).balance == 0
        assert entries_of(session, lapsing, "expiry") == [(-25, f"expiry:{lapsing.id}:2024-04-10")]


def test_the_sweep_lapses_one_entry_per_person_and_day_once(app):
    app.config["POINTS_EXPIRE"] = "months:1"
    with arrange(app) as session:
        user = factories.user(session)
        for days, points in ((0, 10), (0, 5), (3, 7), (200, 11)):
            earn(session, user, points, MARCH + timedelta(days=days))
        lifetime = session.get(User, user.id).lifetime_points
    engine = app.extensions["db_engine"]
    first = expiry.sweep(engine, now=MARCH + timedelta(days=60))
    second = expiry.sweep(engine, now=MARCH + timedelta(days=60))
    assert (first.entries, first.points) == (2, 22)
    assert (second.entries, second.points) == (0, 0)
    with arrange(app) as session:
        assert entries_of(session, user, "expiry") == [(-15, f"expiry:{user.id}:2024-04-10"),
                                                      (-7, f"expiry:{user.id}:2024-04-13")]
        row = session.get(User, user.id)
        assert (row.balance, row.lifetime_points) == (11, lifetime)
    assert cli.run_checks(app) == []


def test_points_on_their_last_day_still_count(app):
    app.config["POINTS_EXPIRE"] = "year_end:0"
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 10, MARCH)
    last_day = datetime(2024, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    assert expiry.sweep(app.extensions["db_engine"], now=last_day).entries == 0
    assert expiry.sweep(app.extensions["db_engine"], now=last_day + timedelta(minutes=1)).entries == 1


def test_a_spending_after_the_last_day_lapses_first_and_cannot_use_lapsed_points(app):
    app.config["POINTS_EXPIRE"] = "year_end:0"
    with arrange(app) as session:
        user = factories.user(session)
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, cost=10, stock=5)
        earn(session, user, 30, MARCH)
        earn(session, user, 5, NEXT_YEAR)
    with pytest.raises(ledger.DomainError) as refused, arrange(app) as session:
        store.redeem(session, clerk, item_id=item.id, user_id=user.id, now=NEXT_YEAR)
    assert refused.value.code == "insufficient_points"
    with arrange(app) as session:
        earn(session, user, 5, NEXT_YEAR + timedelta(hours=1))
        store.redeem(session, clerk, item_id=item.id, user_id=user.id, now=NEXT_YEAR + timedelta(hours=2))
        assert entries_of(session, user, "expiry") == [(-30, f"expiry:{user.id}:2024-12-31")]
        assert session.get(User, user.id).balance == 0
    assert expiry.sweep(app.extensions["db_engine"], now=NEXT_YEAR).entries == 0
    assert cli.run_checks(app) == []


def test_a_cancelled_redemption_gives_back_to_the_same_lots(app):
    app.config["POINTS_EXPIRE"] = "year_end:1"
    with arrange(app) as session:
        user = factories.user(session)
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, cost=20, stock=5)
        earn(session, user, 15, MARCH)
        earn(session, user, 15, NEXT_YEAR)
        redemption = store.redeem(session, clerk, item_id=item.id, user_id=user.id, now=NEXT_YEAR).redemption
        assert lots_of(session, user) == [(15, 0, date(2025, 12, 31)), (15, 10, date(2026, 12, 31))]
        store.cancel(session, clerk, redemption.id, now=NEXT_YEAR + timedelta(hours=1))
        assert lots_of(session, user) == [(15, 15, date(2025, 12, 31)), (15, 15, date(2026, 12, 31))]
        assert entries_of(session, user, "expiry") == []
    assert cli.run_checks(app) == []


def test_a_refund_to_a_lapsed_lot_lapses_at_once_as_its_own_entry(app):
    app.config["POINTS_EXPIRE"] = "year_end:0"
    with arrange(app) as session:
        user = factories.user(session)
        clerk = factories.user(session, roles=["clerk"])
        item = factories.store_item(session, cost=20, stock=5)
        earn(session, user, 15, MARCH)
        earn(session, user, 10, datetime(2024, 12, 20, 2, 0, tzinfo=UTC))  # lapses after 2024-12-31 too
        app.config["POINTS_EXPIRE"] = "never"
        earn(session, user, 30, datetime(2024, 12, 21, 2, 0, tzinfo=UTC))
        redemption = store.redeem(session, clerk, item_id=item.id, user_id=user.id,
                                  now=datetime(2024, 12, 22, 2, 0, tzinfo=UTC)).redemption
    expiry.sweep(app.extensions["db_engine"], now=NEXT_YEAR)
    with arrange(app) as session:
        assert entries_of(session, user, "expiry") == [(-5, f"expiry:{user.id}:2024-12-31")]
        store.cancel(session, clerk, redemption.id, now=NEXT_YEAR)
        assert entries_of(session, user, "refund")[0][0] == 20
        assert entries_of(session, user, "expiry")[1:] == [(-20, f"expiry:refund:redemption:{redemption.id}")]
        row = session.get(User, user.id)
        assert row.balance == 30 and row.lifetime_points == 55
    assert expiry.sweep(app.extensions["db_engine"], now=NEXT_YEAR).entries == 0
    assert cli.run_checks(app) == []


def test_a_refund_of_points_spent_before_lots_were_kept_never_lapses(app):
    app.config["POINTS_EXPIRE"] = "months:1"
    with arrange(app) as session:
        user = factories.user(session)
        ledger.post(session, user.id, 12, "refund", "refund:redemption:999", refunds="redemption:999", now=MARCH)
        assert lots_of(session, user) == []
        assert session.get(User, user.id).balance == 12
    assert expiry.sweep(app.extensions["db_engine"]).entries == 0
    assert cli.run_checks(app) == []


def test_a_negative_correction_draws_from_the_lots(app):
    with arrange(app) as session:
        team = factories.team(session)
        admin = factories.admin(session)
        user = factories.user(session, team=team)
        earn(session, user, 5, MARCH)  # never lapses
        app.config["POINTS_EXPIRE"] = "year_end:100"
        earn(session, user, 30, MARCH)
        ledger.adjust(session, admin, user.id, -32, "录错了")
        assert lots_of(session, user) == [(30, 0, date(2124, 12, 31))]
        assert session.get(User, user.id).balance == 3
    assert cli.run_checks(app) == []


def test_expiring_shows_the_next_sixty_days_on_me_home_and_the_card(app, api):
    from .conftest import signed_in
    earned = utcnow() - timedelta(days=20)
    app.config["POINTS_EXPIRE"] = "months:1"
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 40, earned)
        app.config["POINTS_EXPIRE"] = "months:3"
        earn(session, user, 9, earned)  # beyond the next 60 days
    app.config["POINTS_EXPIRE"] = "never"
    on = ledger.add_months(local(earned).date(), 1)
    with arrange(app) as session:
        assert expiry.expiring(session, user.id) == [{"points": 40, "on": on}]
    body = api.get("/api/v1/me", user=user).get_json()
    assert body["expiring"] == [{"points": 40, "on": on.isoformat()}]
    text = f"{on:%m-%d} 将有 40 积分过期"
    client = signed_in(app, user)
    assert text in client.get("/").get_data(as_text=True)
    assert text in client.get("/store/card").get_data(as_text=True)


def test_notices_thirty_and_seven_days_before_once_each(app):
    app.config["POINTS_EXPIRE"] = "year_end:0"
    with arrange(app) as session:
        user = factories.user(session)
        late = factories.user(session)
        earn(session, user, 40, MARCH)
        earn(session, late, 8, MARCH)
    engine = app.extensions["db_engine"]
    day = lambda month, dom: datetime(2024, month, dom, 2, 0, tzinfo=UTC)  # noqa: E731
    assert expiry.sweep(engine, now=day(11, 30)).notices == 0  # 31 days before
    assert expiry.sweep(engine, now=day(12, 1)).notices == 2   # 30 days before
    assert expiry.sweep(engine, now=day(12, 2)).notices == 0
    assert expiry.sweep(engine, now=day(12, 24)).notices == 2  # 7 days before
    assert expiry.sweep(engine, now=day(12, 31)).notices == 0
    with arrange(app) as session:
        bodies = [notice.body for notice in session.exec(select(Notice).where(Notice.user_id == user.id))]
        assert len(bodies) == 2 and all("40" in body and "12-31" in body for body in bodies)


def test_only_the_seven_day_notice_when_the_thirty_day_one_was_missed(app):
    app.config["POINTS_EXPIRE"] = "year_end:0"
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 40, MARCH)
    assert expiry.sweep(app.extensions["db_engine"], now=datetime(2024, 12, 28, 2, 0, tzinfo=UTC)).notices == 1
    with arrange(app) as session:
        keys = [notice.dedupe_key for notice in session.exec(select(Notice).where(Notice.user_id == user.id))]
        assert keys == [f"points_expiry:7:{user.id}:2024-12-31"]


def test_the_dashboard_counts_lapsed_points(app):
    app.config["POINTS_EXPIRE"] = "months:1"
    with arrange(app) as session:
        admin = factories.admin(session)
        user = factories.user(session, team=factories.team(session))
        earn(session, user, 40, MARCH)
    when = datetime(2024, 4, 12, 2, 0, tzinfo=UTC)
    expiry.sweep(app.extensions["db_engine"], now=when)
    with arrange(app) as session:
        scope = dashboard.Scope(station_id=admin.station_id, team_ids=None)
        figures = dashboard.figures(session, scope, when - timedelta(days=1), when + timedelta(days=1))
        assert (figures.points_issued, figures.points_lapsed) == (0, 40)


def test_check_finds_lots_that_disagree_with_their_draws_and_lapses_not_taken_from_lots(app):
    app.config["POINTS_EXPIRE"] = "year_end:100"
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 30, MARCH)
    assert cli.run_checks(app) == []
    with arrange(app) as session:
        lot = session.exec(select(PointsLot).where(PointsLot.user_id == user.id)).one()
        lot.remaining = 20
        session.add(lot)
        stray = ledger.post(session, user.id, -5, "expiry", "expiry:stray", _lots=[])
    problems = cli.run_checks(app)
    assert f"points lot {lot.id}: 20 left != amount 30 less drawn 0" in problems
    assert f"expiry entry {stray.id}: lapsed 5 but took 0 from lots" in problems


def test_the_command(app, monkeypatch):
    app.config["POINTS_EXPIRE"] = "months:1"
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 40, datetime(2020, 1, 1, 2, 0, tzinfo=UTC))
    monkeypatch.setattr(cli, "create_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["expire-points"])
    assert result.exit_code == 0, result.output
    assert "40 points lapsed in 1 entries" in result.output
    assert "0 points lapsed" in CliRunner().invoke(cli.main, ["expire-points"]).output


def test_the_delivery_worker_sweeps_once_a_station_day(app):
    """``serve``'s worker runs the sweep itself: once on a new station day, in its own thread,
    never twice the same day (``expire-points`` from cron stays safe beside it)."""
    from volunteer_app import delivery
    app.config["POINTS_EXPIRE"] = "months:1"
    with arrange(app) as session:
        user = factories.user(session)
        earn(session, user, 10, MARCH)
    state: dict = {}
    later = MARCH + timedelta(days=60)
    thread = delivery.daily_sweep(app, state, now=later)
    thread.join(60)
    assert delivery.daily_sweep(app, state, now=later + timedelta(hours=1)) is None  # the same day
    with arrange(app) as session:
        assert [amount for amount, _ref in entries_of(session, user, "expiry")] == [-10]
    nxt = delivery.daily_sweep(app, state, now=later + timedelta(days=1))
    nxt.join(60)
    with arrange(app) as session:
        assert len(entries_of(session, user, "expiry")) == 1  # nothing lapses twice
    assert cli.run_checks(app) == []
