"""One-time sign-in codes (services/signin_links.py): who may issue, once only, 24 hours, the
newest code only, and a password set once after signing in; on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from volunteer_app import db
from volunteer_app.models import ApiToken, AuditEntry, Station
from volunteer_app.services import accounts, signin_links
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import at_once, outcomes, refused

NEW_PASSWORD = "a new password 9"


@pytest.fixture
def crew(session):
    team = factories.team(session)
    boss = factories.coordinator(session, team)
    member = factories.user(session, team=team, display_name="王大爷")
    return team, boss, member


def test_a_code_signs_the_member_in_once(session, crew):
    team, boss, member = crew
    raw, person = signin_links.issue(session, boss, member.id)
    assert person.id == member.id
    stored = session.exec(select(ApiToken).where(ApiToken.kind == "signin")).one()
    assert raw not in stored.token_hash and stored.user_id == member.id  # only the hash is kept
    assert stored.expires_at - stored.created_at == timedelta(hours=24)
    assert signin_links.holder(session, raw).id == member.id  # looking does not spend it
    user, token_id = signin_links.use(session, raw)
    assert (user.id, token_id) == (member.id, stored.id)
    refused("expired_code", signin_links.holder, session, raw)
    refused("expired_code", signin_links.use, session, raw)
    actions = session.exec(select(AuditEntry.action, AuditEntry.actor_id).order_by(AuditEntry.id)).all()
    assert actions == [("user.signin_link", boss.id), ("user.signin_link_used", member.id)]


def test_a_code_is_no_session_and_no_api_token(session, crew):
    team, boss, member = crew
    raw, _person = signin_links.issue(session, boss, member.id)
    assert accounts.resolve_token(session, raw, kind="web") is None
    assert accounts.resolve_token(session, raw, kind="api") is None


def test_forged_and_oversized_codes_are_invalid(session, crew):
    refused("invalid_code", signin_links.holder, session, "not-a-code")
    refused("invalid_code", signin_links.use, session, "x" * 500)
    refused("invalid_code", signin_links.use, session, "")


def test_a_code_expires_after_24_hours(session, crew):
    team, boss, member = crew
    issued = utcnow() - timedelta(hours=24, seconds=1)
    raw, _person = signin_links.issue(session, boss, member.id, now=issued)
    error = refused("expired_code", signin_links.use, session, raw)
    assert "24" in str(error.message)
    raw, _person = signin_links.issue(session, boss, member.id, now=utcnow() - timedelta(hours=23))
    assert signin_links.use(session, raw)[0].id == member.id


def test_a_new_code_voids_the_older_ones(session, crew):
    team, boss, member = crew
    first, _person = signin_links.issue(session, boss, member.id)
    second, _person = signin_links.issue(session, boss, member.id)
    refused("expired_code", signin_links.use, session, first)
    assert signin_links.use(session, second)[0].id == member.id


def test_a_password_change_or_disabling_voids_the_code(session, crew):
    team, boss, member = crew
    raw, _person = signin_links.issue(session, boss, member.id)
    accounts.change_password(session, member, factories.PASSWORD, NEW_PASSWORD)
    refused("expired_code", signin_links.use, session, raw)
    raw, _person = signin_links.issue(session, boss, member.id)
    admin = factories.admin(session)
    accounts.disable(session, admin, member.id)
    refused("expired_code", signin_links.use, session, raw)
    refused("conflict", signin_links.issue, session, boss, member.id)  # no code for a disabled account


def test_who_may_issue(session, crew):
    team, boss, member = crew
    other_team = factories.team(session)
    stranger = factories.user(session, team=other_team)
    clerk = factories.user(session, roles=["clerk", "volunteer"], team=team)
    volunteer = factories.user(session, team=team)
    refused("forbidden", signin_links.issue, session, boss, stranger.id)  # not a team they coordinate
    refused("forbidden", signin_links.issue, session, boss, clerk.id)  # staff: an admin's act
    refused("forbidden", signin_links.issue, session, boss, boss.id)  # never for oneself
    refused("forbidden", signin_links.issue, session, volunteer, member.id)  # no coordinator
    admin = factories.admin(session)
    assert signin_links.issue(session, admin, clerk.id)[1].id == clerk.id
    assert signin_links.issue(session, admin, stranger.id)[1].id == stranger.id
    refused("forbidden", signin_links.issue, session, admin, admin.id)
    other = Station(name="别的派出所")
    session.add(other)
    session.flush()
    elsewhere = factories.user(session, station_row=other)
    refused("not_found", signin_links.issue, session, admin, elsewhere.id)  # another station's member
    assert session.exec(select(ApiToken).where(ApiToken.user_id.in_(
        [stranger.id, boss.id, member.id, admin.id, elsewhere.id]), ApiToken.kind == "signin")).all().__len__() == 1


def test_two_taps_at_once_sign_in_once(app, session, crew):
    team, boss, member = crew
    raw, _person = signin_links.issue(session, boss, member.id)
    session.commit()

    def tap():
        with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as s:
            signin_links.use(s, raw)

    assert outcomes(at_once([tap, tap])) == ["expired_code", "ok"]
    session.expire_all()
    used = session.exec(select(AuditEntry).where(AuditEntry.action == "user.signin_link_used")).all()
    assert len(used) == 1


def test_a_password_is_set_once_soon_after_signing_in(session, crew):
    team, boss, member = crew
    raw, _person = signin_links.issue(session, boss, member.id)
    user, token_id = signin_links.use(session, raw)
    refused("validation_error", signin_links.set_password, session, user, token_id, "short")
    version = user.session_version
    signin_links.set_password(session, user, token_id, NEW_PASSWORD)
    assert accounts.verify_password(user, NEW_PASSWORD) and user.session_version == version + 1
    refused("forbidden", signin_links.set_password, session, user, token_id, "another password 8")


def test_no_password_without_a_used_code_of_ones_own(session, crew):
    team, boss, member = crew
    other = factories.user(session, team=team)
    raw, _person = signin_links.issue(session, boss, member.id)
    unused = session.exec(select(ApiToken).where(ApiToken.kind == "signin")).one()
    refused("forbidden", signin_links.set_password, session, member, unused.id, NEW_PASSWORD)  # never used
    user, token_id = signin_links.use(session, raw)
    refused("forbidden", signin_links.set_password, session, other, token_id, NEW_PASSWORD)  # someone else's
    refused("forbidden", signin_links.set_password, session, user, None, NEW_PASSWORD)
    later = utcnow() + timedelta(hours=1, minutes=1)
    refused("forbidden", signin_links.set_password, session, user, token_id, NEW_PASSWORD, now=later)
