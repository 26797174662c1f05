"""Personal data: a person's own data as JSON, and anonymising someone who has left.

The download holds the profile, teams, and every row of every table that belongs to the person
(a ``user_id`` column, or ``reporter_id`` for tips): ledger, check-ins, shift sign-ups,
redemptions, tips, badges, notices, awards, whatever tables the product has. It is found
through the metadata, so a table added later is part of it without a change here; secrets
(token hashes, used code steps, login attempts, idempotency records) are left out.

Anonymising keeps every row that sums up to points, hours and reports (ledger entries,
check-ins, sign-ups, redemptions, memberships), and removes what names the person: display name,
phone, username, password, sessions, check-in positions, login attempts, and their name in the
notices others received about them.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, delete, func, select, update
from sqlmodel import Session, SQLModel

from ..errors import DomainError
from ..models import ApiToken, Checkin, LoginAttempt, Notice, Station, Team, TeamMembership, User
from ..timeutil import isoformat, utcnow
from . import access, accounts, audit, recognition

#: Tables never part of a download: secrets and bookkeeping.
EXCLUDED_TABLES = {"users", "team_memberships", "api_tokens", "login_attempts", "idempotency_keys", "used_codes",
                   "calendar_feeds", "audit_entries", "points_totals", "leaderboard_cache", "service_day_totals"}
#: Columns never part of a download.
EXCLUDED_COLUMNS = {"password_hash", "token_hash", "session_version", "secret", "client_ref"}
OWNER_COLUMNS = ("user_id", "reporter_id")
FORMAT_VERSION = 1


def _value(value):
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return None
    return value


def owned_tables() -> list[tuple[Table, str]]:
    """Every table with a column naming its owner, in a stable order."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name in EXCLUDED_TABLES:
            continue
        for name in OWNER_COLUMNS:
            column = table.c.get(name)
            if column is not None and any(fk.column.table.name == "users" for fk in column.foreign_keys):
                found.append((table, name))
                break
    return sorted(found, key=lambda item: item[0].name)


def _rows(session: Session, table: Table, column: str, user_id: int) -> list[dict]:
    columns = [col for col in table.c if col.name not in EXCLUDED_COLUMNS]
    order = table.c.id if "id" in table.c else columns[0]
    result = session.execute(select(*columns).where(table.c[column] == user_id).order_by(order))
    return [{key: _value(value) for key, value in row._mapping.items()} for row in result]


def export(session: Session, actor: User, user_id: int, *, now: datetime | None = None) -> dict:
    """A person's data: only the person themself may download it (staff see it in their pages)."""
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if actor.id != user.id:
        access.forbid(_l("You may only download your own data."))
    station = session.get(Station, user.station_id)
    teams = session.execute(
        select(Team.id, Team.name, TeamMembership.role, TeamMembership.created_at)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(TeamMembership.user_id == user.id).order_by(Team.id)
    ).all()
    data = {
        "format": "volunteer-app personal data",
        "version": FORMAT_VERSION,
        "exported_at": isoformat(now or utcnow()),
        "profile": {
            "id": user.id, "username": user.username, "display_name": user.display_name, "phone": user.phone,
            "roles": sorted(user.role_set()), "status": user.status,
            "station": station.name if station else None,
            "balance": user.balance, "lifetime_points": user.lifetime_points, "hours_served": user.hours_served,
            "minutes_served": user.minutes_served, "level": accounts.level_for(user.lifetime_points),
            "language": user.language, "large_mode": user.large_mode,
            "leaderboard_anonymous": user.leaderboard_anonymous,
            "created_at": isoformat(user.created_at), "approved_at": isoformat(user.approved_at),
        },
        "teams": [{"id": team_id, "name": name, "role": role, "joined_at": isoformat(joined)}
                  for team_id, name, role, joined in teams],
    }
    for table, column in owned_tables():
        data[table.name] = _rows(session, table, column, user.id)
    return data


def _scrub_notices(session: Session, old_name: str, new_name: str) -> None:
    """Notices sent to others name the person ("X received an award"): the name goes there too."""
    if len(old_name) < 2:
        return
    for column in (Notice.title, Notice.body):
        session.execute(update(Notice).where(column.contains(old_name, autoescape=True))
                        .values({column.key: func.replace(column, old_name, new_name)}))


def anonymised_username(user_id: int) -> str:
    return f"anon-{user_id}"


def anonymise(session: Session, actor: User, user_id: int, *, now: datetime | None = None) -> User:
    """An admin removes what names a volunteer who has left; sums, hours and reports stay.

    Name, phone and check-in positions are gone; the username becomes ``anon-<id>``; the
    password can no longer be used; every session and token ends; the account is disabled and
    hidden on leaderboards. Ledger entries, check-ins, sign-ups, redemptions and memberships
    stay as they are, so every balance, total and report still adds up. Audited.
    """
    access.require_role(actor, "admin")
    user = access.get_in_station(session, User, user_id, actor, _l("No such user."))
    if user.id == actor.id:
        access.forbid(_l("You cannot anonymise your own account."))
    if user.username == anonymised_username(user.id):
        raise DomainError("conflict", _l("This account has already been anonymised."))
    now = now or utcnow()
    old_username, old_name = user.username, user.display_name
    user.display_name = f"已注销志愿者{user.id}"
    user.username = anonymised_username(user.id)
    user.phone = None
    # Not an argon2 hash: verification fails for every password.
    user.password_hash = "!anonymised:" + secrets.token_hex(16)
    user.status = "disabled"
    user.roles = "volunteer"
    user.session_version += 1
    user.leaderboard_anonymous = True
    session.add(user)
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(Checkin).where(Checkin.user_id == user.id).values(latitude=None, longitude=None))
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == old_username))
    _scrub_notices(session, old_name, user.display_name)
    recognition.clear_cache(session)  # cached boards may still show the old name
    audit.record(session, actor, "user.anonymise", "user", user.id)
    session.flush()
    return user
