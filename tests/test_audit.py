"""Every staff action leaves exactly one audit entry (who, what, on what), in its own
transaction; admins search the trail."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import select

from volunteer_app.models import AuditEntry, Checkpoint, Shift, ShiftSignup
from volunteer_app.services import accounts, audit, ledger, personal_data, reports

from . import factories
from .conftest import sign_in

UTC = timezone.utc


@pytest.fixture
def staff(session):
    team = factories.team(session, name="西湖巡逻队")
    data = {"team": team, "admin": factories.admin(session), "coordinator": factories.coordinator(session, team),
            "clerk": factories.user(session, roles="clerk"),
            "volunteer": factories.user(session, team=team, display_name="王秀英", balance=100)}
    session.commit()
    return data


def exactly_one_entry(session, action):
    """Run ``action``; return the only audit entry it wrote (there must be exactly one)."""
    before = session.exec(select(func.max(AuditEntry.id))).one() or 0
    action()
    session.flush()
    new = list(session.exec(select(AuditEntry).where(AuditEntry.id > before)))
    assert len(new) == 1, [entry.action for entry in new]
    return new[0]


def check(entry, actor, action, target_type, target_id):
    assert (entry.action, entry.actor_id, entry.target_type, entry.target_id) == (action, actor.id, target_type,
                                                                                   target_id)
    assert entry.station_id == actor.station_id
    assert isinstance(json.loads(entry.detail), dict)


def test_approval(session, staff):
    pending = factories.user(session, status="pending")
    entry = exactly_one_entry(session, lambda: accounts.approve(session, staff["coordinator"], pending.id))
    check(entry, staff["coordinator"], "user.approve", "user", pending.id)


def test_role_change(session, staff):
    entry = exactly_one_entry(session, lambda: accounts.set_roles(session, staff["admin"], staff["volunteer"].id,
                                                                  ["volunteer", "clerk"]))
    check(entry, staff["admin"], "user.roles", "user", staff["volunteer"].id)
    assert json.loads(entry.detail)["after"] == ["volunteer", "clerk"]


def test_points_adjustment(session, staff):
    entry = exactly_one_entry(session, lambda: ledger.adjust(session, staff["coordinator"], staff["volunteer"].id,
                                                             -5, "重复签到更正"))
    check(entry, staff["coordinator"], "points.adjust", "user", staff["volunteer"].id)
    assert json.loads(entry.detail)["reason"] == "重复签到更正"


def _past_shift(session, staff):
    cp = Checkpoint(station_id=staff["team"].station_id, team_id=staff["team"].id, name="湖滨")
    session.add(cp)
    session.flush()
    start = datetime.now(UTC) - timedelta(hours=3)
    from volunteer_app.models import ShiftCheckpoint
    shift = Shift(station_id=staff["team"].station_id, team_id=staff["team"].id, title="夜巡", starts_at=start,
                  ends_at=start + timedelta(hours=2), capacity=3)
    session.add(shift)
    session.flush()
    session.add(ShiftCheckpoint(shift_id=shift.id, checkpoint_id=cp.id, position=0))
    session.add(ShiftSignup(shift_id=shift.id, user_id=staff["volunteer"].id, status="confirmed"))
    session.flush()
    return shift


def test_manual_attendance(session, staff):
    from volunteer_app.services import shifts

    shift = _past_shift(session, staff)
    entry = exactly_one_entry(session, lambda: shifts.confirm_attendance(session, staff["coordinator"], shift.id,
                                                                         staff["volunteer"].id))
    check(entry, staff["coordinator"], "shift.confirm_attendance", "shift", shift.id)
    assert json.loads(entry.detail)["user_id"] == staff["volunteer"].id


def test_no_show(session, staff):
    from volunteer_app.services import shifts

    shift = _past_shift(session, staff)
    entry = exactly_one_entry(session, lambda: shifts.mark_no_show(session, staff["coordinator"], shift.id,
                                                                   staff["volunteer"].id, "电话未接"))
    check(entry, staff["coordinator"], "shift.no_show", "shift", shift.id)


def test_redemption_cancel(session, staff):
    from volunteer_app.services import store

    item = store.create_item(session, staff["coordinator"], name="水杯", cost=10, stock=5)
    result = store.redeem(session, staff["clerk"], item_id=item.id, user_id=staff["volunteer"].id)
    redemption_id = result.redemption.id
    entry = exactly_one_entry(session, lambda: store.cancel(session, staff["clerk"], redemption_id, "扫错人"))
    check(entry, staff["clerk"], "store.redemption_cancelled", "redemption", redemption_id)


def test_stock_change(session, staff):
    from volunteer_app.services import store

    item = store.create_item(session, staff["coordinator"], name="帽子", cost=10, stock=5)
    entry = exactly_one_entry(session, lambda: store.adjust_stock(session, staff["coordinator"], item.id, 10,
                                                                  "restock", "到货"))
    check(entry, staff["coordinator"], "store.stock_restock", "store_item", item.id)


def test_code_rotation(session, staff):
    from volunteer_app.services import checkpoints

    cp = Checkpoint(station_id=staff["team"].station_id, team_id=staff["team"].id, name="断桥")
    session.add(cp)
    session.flush()
    entry = exactly_one_entry(session, lambda: checkpoints.rotate_code(session, staff["coordinator"], cp.id))
    check(entry, staff["coordinator"], "checkpoint.rotate_code", "checkpoint", cp.id)


def test_award(session, staff):
    from volunteer_app.services import recognition

    awards = []
    entry = exactly_one_entry(session, lambda: awards.append(recognition.grant_award(
        session, staff["coordinator"], user_id=staff["volunteer"].id, title="月度之星", points=20)))
    check(entry, staff["coordinator"], "award.grant", "award", awards[0].id)


def test_anonymisation(session, staff):
    entry = exactly_one_entry(session, lambda: personal_data.anonymise(session, staff["admin"],
                                                                       staff["volunteer"].id))
    check(entry, staff["admin"], "user.anonymise", "user", staff["volunteer"].id)
    assert "王秀英" not in entry.detail


def test_entry_is_part_of_the_actions_transaction(app, session, staff):
    """A failed action leaves no entry: the record is written with the action and rolled back with it."""
    before = session.exec(select(func.count(AuditEntry.id))).one()
    session.commit()
    from volunteer_app.errors import DomainError
    with pytest.raises(DomainError):
        ledger.adjust(session, staff["coordinator"], staff["volunteer"].id, -10_000, "过多")
    session.rollback()
    assert session.exec(select(func.count(AuditEntry.id))).one() == before


# -- the search --------------------------------------------------------------------------------

def test_search_filters_and_pages(session, staff):
    admin, coordinator = staff["admin"], staff["coordinator"]
    base = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    for n in range(120):
        entry = audit.record(session, coordinator if n % 2 else admin, "points.adjust" if n % 3 else "user.approve",
                             "user", n + 1, amount=n)
        entry.created_at = base + timedelta(days=n % 10)
    session.flush()
    rows, more = reports.audit_search(session, admin)
    assert len(rows) == reports.AUDIT_PAGE and more
    ids = [row.entry.id for row in rows]
    assert ids == sorted(ids, reverse=True)
    rows2, more2 = reports.audit_search(session, admin, page=3)
    assert len(rows2) == 120 - 2 * reports.AUDIT_PAGE and not more2
    by_actor, _ = reports.audit_search(session, admin, actor_query=coordinator.username, per_page=500)
    assert len(by_actor) == 60 and {row.entry.actor_id for row in by_actor} == {coordinator.id}
    by_id, _ = reports.audit_search(session, admin, actor_query=str(admin.id), per_page=500)
    assert {row.entry.actor_id for row in by_id} == {admin.id}
    approvals, _ = reports.audit_search(session, admin, action="user.approve", per_page=500)
    assert len(approvals) == 40
    target, _ = reports.audit_search(session, admin, target_type="user", target_id=7)
    assert [row.entry.target_id for row in target] == [7]
    day = (base + timedelta(hours=8)).date()  # 2026-11-01 in station time
    dated, _ = reports.audit_search(session, admin, first=day, last=day, per_page=500)
    assert len(dated) == 12 and all(row.entry.created_at.date() == base.date() for row in dated)
    with pytest.raises(Exception) as error:
        reports.audit_search(session, coordinator)
    assert getattr(error.value, "code", None) == "forbidden"


def test_audit_page(app, client, session, staff):
    ledger.adjust(session, staff["coordinator"], staff["volunteer"].id, 5, "<b>补记</b>")
    session.commit()
    client2 = client
    sign_in(client2, staff["admin"])
    page = client2.get(f"/manage/audit?action=points.adjust&actor={staff['coordinator'].username}&from=2020-01-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "points.adjust" in html and "&lt;b&gt;补记&lt;/b&gt;" in html
    assert "积分调整" in html  # the action in words, in the page's language
    empty = client2.get("/manage/audit?action=user.approve").get_data(as_text=True)
    assert "&lt;b&gt;补记" not in empty
    assert client2.get("/manage/audit?from=not-a-date&page=abc").status_code == 200
    partial = client2.get("/manage/audit?page=1", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)


def test_audit_page_is_for_admins(app, client, session, staff):
    sign_in(client, staff["coordinator"])
    assert client.get("/manage/audit").status_code == 403


def test_every_recorded_action_has_words():
    """Each action code the services record (the f-string ones expanded) has a label."""
    import re
    from pathlib import Path

    source = "".join(path.read_text() for path in Path(audit.__file__).parent.rglob("*.py"))
    codes = set(re.findall(r'audit\.record\([^,]+, [^,]+, f?"([a-z_.{}]+)"', source))
    assert len(codes) > 30
    expansions = {"store.redemption_{status}": ["store.redemption_cancelled", "store.redemption_lapsed"],
                  "store.stock_{reason}": ["store.stock_restock", "store.stock_damage", "store.stock_correction"]}
    wanted = {name for code in codes for name in expansions.get(code, [code])}
    assert not wanted - set(audit.ACTION_LABELS), sorted(wanted - set(audit.ACTION_LABELS))
    assert audit.action_label("something.new") == "something.new"
