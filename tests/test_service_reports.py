"""Hours by kind, the certificate counting every kind, real-name details and the national export."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import timeutil
from volunteer_app.errors import DomainError
from volunteer_app.models import AuditEntry, User
from volunteer_app.services import identity, reports

from . import factories
from .conftest import arrange, csrf_token, signed_in

GOOD_ID = "11010519491231002X"  # a well-formed resident ID (check character X)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def world(app):
    start = timeutil.utcnow().replace(microsecond=0) - timedelta(days=3)
    with arrange(app) as s:
        team = factories.team(s)
        admin, boss = factories.admin(s), factories.coordinator(s, team)
        member = factories.user(s, team=team, display_name="王秀英")
        factories.service_record(s, member, start, 120, kind="tea_room", source="duty_post", place="断桥茶室")
        factories.service_record(s, member, start + timedelta(hours=5), 90, kind="patrol", source="outing")
        factories.service_record(s, member, start + timedelta(hours=9), 60, kind="mediation", source="makeup",
                                 status="pending")
    return {"admin": admin, "boss": boss, "member": member, "start": start}


def test_id_numbers_are_checked_encrypted_and_masked(app, session, world):
    member = session.get(User, world["member"].id)
    for bad in ("110105194912310021", "12345", "身份证110105", "1101051949123100XX"):
        with pytest.raises(DomainError) as caught:
            identity.set_identity(session, member, id_number=bad, consent=True)
        assert caught.value.code == "validation_error"
    with pytest.raises(DomainError):
        identity.set_identity(session, member, id_number=GOOD_ID, consent=False)  # no consent, nothing kept
    identity.set_identity(session, member, real_name="王秀英", id_number="１１０１０５１９４９１２３１００２ｘ", consent=True,
                          volunteer_number="ZJ-0001")
    assert member.id_number_last4 == "002X" and GOOD_ID not in (member.id_number_encrypted or "")
    assert identity.mask(member.id_number_last4) == "**************002X"
    with pytest.raises(DomainError):
        identity.reveal(session, world["boss"], [member], purpose="test")  # admins only
    assert identity.reveal(session, world["admin"], [member], purpose="test") == {member.id: GOOD_ID}
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "identity.reveal")).first() is not None
    identity.withdraw(session, member)
    assert member.id_number_encrypted is None and member.id_consent_at is None


def test_certificate_and_report_count_every_kind(app, session, world):
    p = reports.period(None, None)
    cert = reports.certificate(session, world["member"], world["member"].id, p)
    assert cert.hours == 3.5  # the pending make-up does not count
    assert [hours for _name, hours in cert.by_kind] == [2.0, 1.5]  # tea room, then patrol
    scope = reports.scope_for(session, world["boss"])
    assert [(hours, count) for _name, hours, count in reports.hours_by_kind(session, scope, p)] == [(2.0, 1), (1.5, 1)]
    session.commit()
    page = signed_in(app, world["member"]).get(f"/reports/certificate/{world['member'].id}").get_data(as_text=True)
    assert "其中茶室值守" in page and "其中巡逻" in page


def test_national_export_masked_for_coordinators_in_full_for_admins_audited(app, session, world):
    member = session.get(User, world["member"].id)
    identity.set_identity(session, member, real_name="王秀英", id_number=GOOD_ID, consent=True,
                          volunteer_number="ZJ-0001")
    session.commit()
    boss = signed_in(app, world["boss"])
    rows = read_csv(boss.get("/reports/national-hours.csv"))
    assert rows[0] == ["姓名", "证件号码", "志愿者编号", "活动名称", "服务类别", "服务日期", "开始时间", "结束时间",
                       "服务时长（小时）"]
    assert len(rows) == 3 and rows[1][:5] == ["王秀英", "**************002X", "ZJ-0001", "断桥茶室", "茶室值守"]
    assert rows[1][8] == "2.00" and rows[2][8] == "1.50"
    assert boss.post("/reports/national-hours.csv", data={"csrf_token": csrf_token(boss, "/reports")}
                     ).status_code == 403
    admin = signed_in(app, world["admin"])
    full = admin.post("/reports/national-hours.csv", data={"csrf_token": csrf_token(admin, "/reports")})
    assert full.status_code == 200 and read_csv(full)[1][1] == GOOD_ID
    with arrange(app) as s:
        audited = s.exec(select(AuditEntry).where(AuditEntry.action == "identity.reveal")).all()
        assert len(audited) == 1 and audited[0].actor_id == world["admin"].id


def test_identity_page_needs_consent_for_the_id_number(app, world):
    client = signed_in(app, world["member"])
    token = csrf_token(client, "/me/identity")
    refused = client.post("/me/identity", data={"csrf_token": token, "real_name": "王秀英", "id_number": GOOD_ID})
    assert refused.status_code == 422 and "同意" in refused.get_data(as_text=True)
    saved = client.post("/me/identity", data={"csrf_token": token, "real_name": "王秀英", "id_number": GOOD_ID,
                                              "consent": "1"})
    assert saved.status_code == 302
    page = client.get("/me/identity").get_data(as_text=True)
    assert "**************002X" in page and GOOD_ID not in page
