"""Text messages (SMS) waiting to be sent: written in the transaction of the change that caused
them, sent afterwards by the delivery worker through the sender of ``volunteer_app.sms``.

* Only for call-outs (to the addressed volunteers) and shift reminders, and only to people with a
  phone number who did not turn SMS off for it (``notices.sms_recipients`` decides).
* At most :data:`PER_DAY` a person per station-local day. Each message takes a numbered place
  (``slot`` 1 to 3) in its person's day; the unique key on (user, day, slot) refuses a fourth
  however many transactions write at once, on either engine (an insert that meets a twin's
  uncommitted row waits for it, then tries the next place).
* Each message happens once (``dedupe_key``): a reminder made again adds nothing.
* Sending is claimed like the webhooks' outbox (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
  write lock on SQLite), retried with the same growing pauses for 24 hours; the number is read
  from the person when sent and never kept with the message.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Callable

from flask_babel import force_locale, gettext
from sqlalchemy import and_, select as sa_select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from .. import db
from ..models import SmsMessage, TeamMembership, User
from ..settings import setting
from ..timeutil import local, utcnow
from . import notices, outbox

#: Text messages a person gets in one station-local day, at most.
PER_DAY = 3
#: Longest message kept (a few SMS segments of Chinese text).
MAX_TEXT = 300


def _statement(session: Session):
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(SmsMessage.__table__).on_conflict_do_nothing().returning(SmsMessage.__table__.c.user_id)


def queue(session: Session, station_id: int, user_ids, channel: str, kind: str, text: str | Callable[[int], str], *,
          key: str, now: datetime | None = None) -> int:
    """Queue one message for each of ``user_ids`` who wants SMS on ``channel`` and has not had
    :data:`PER_DAY` today; ``text`` (or what it gives for a user id) is the message, ``key`` makes
    it once per person. Returns how many were queued."""
    wanted = notices.sms_recipients(session, user_ids, channel)
    if not wanted:
        return 0
    now = now or utcnow()
    base = {"station_id": station_id, "kind": kind, "day": local(now).date(), "status": "pending", "attempts": 0,
            "next_attempt_at": now, "give_up_at": now + outbox.GIVE_UP_AFTER, "claim": None, "last_error": "",
            "created_at": now, "sent_at": None}
    texts = {user_id: (text(user_id) if callable(text) else text)[:MAX_TEXT] for user_id in wanted}
    statement = _statement(session)
    remaining, made = wanted, 0
    for slot in range(1, PER_DAY + 1):  # ids in order: parallel writers meet each other in one order
        rows = [{**base, "user_id": user_id, "slot": slot, "text": texts[user_id],
                 "dedupe_key": f"sms:{key}:user:{user_id}"[:96]} for user_id in remaining]
        got = set(session.execute(statement, rows).scalars())
        made += len(got)
        remaining = [user_id for user_id in remaining if user_id not in got]
        if not remaining:
            break
    return made


def _link(path: str) -> str:
    base = (setting("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{path}" if base else ""


def _join(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


def callout_text(callout) -> str:
    """"【紧急召集】湖滨路走失老人 · 湖滨路 · 需要 3 人 · 21:30 前回复 · 链接"."""
    with force_locale("zh_CN"):
        return _join(gettext("[Call-out]") + callout.title[:60], (callout.place or "")[:40],
                     gettext("%(n)s people needed", n=callout.needed),
                     gettext("answer by %(time)s", time=local(callout.expires_at).strftime("%H:%M")), _link("/"))


def reminder_text(shift) -> str:
    """"【班次提醒】夜巡 · 12-07 19:00 开始 · 链接"."""
    with force_locale("zh_CN"):
        return _join(gettext("[Shift reminder]") + shift.title[:60],
                     gettext("starts %(time)s", time=local(shift.starts_at).strftime("%m-%d %H:%M")),
                     _link(f"/shifts/{shift.id}"))


def station_members(session: Session, station_id: int, team_ids: list[int]) -> list[int]:
    """Active people of the station (of ``team_ids`` when some are named), by id."""
    query = select(User.id).where(User.station_id == station_id, User.status == "active")
    if team_ids:
        query = query.where(User.id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id.in_(team_ids))))
    return list(session.exec(query.order_by(User.id)))


# --- the sender's side ---------------------------------------------------------------------------

def claim(session: Session, *, limit: int = 1, now: datetime | None = None) -> list[tuple[SmsMessage, str | None]]:
    """Take up to ``limit`` due messages, with their person's phone number, and commit at once
    (held for ``outbox.LEASE``, the attempt counted now: see ``outbox.claim``)."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    due = (sa_select(SmsMessage.id).where(SmsMessage.status == "pending", SmsMessage.next_attempt_at <= now)
           .order_by(SmsMessage.next_attempt_at, SmsMessage.id).limit(limit))
    if not db.is_sqlite(session):
        due = due.with_for_update(skip_locked=True)
    ids = list(session.execute(due).scalars())
    if not ids:
        session.commit()
        return []
    session.execute(update(SmsMessage).where(SmsMessage.id.in_(ids))
                    .values(claim=token, next_attempt_at=now + outbox.LEASE, attempts=SmsMessage.attempts + 1)
                    .execution_options(synchronize_session=False))
    claimed = list(session.exec(select(SmsMessage, User.phone).join(User, User.id == SmsMessage.user_id)
                                .where(SmsMessage.claim == token).order_by(SmsMessage.id)
                                .execution_options(populate_existing=True)))
    session.commit()
    return [(message, phone) for message, phone in claimed]


def finish(session: Session, message: SmsMessage, *, ok: bool, error: str = "", final: bool = False,
           now: datetime | None = None) -> None:
    """Record an attempt of the worker that claimed it: sent, due again after a growing pause, or
    failed once past its 24 hours (or at once when ``final``)."""
    now = now or utcnow()
    values: dict = {"last_error": error[:300], "claim": None}
    if ok:
        values.update(status="sent", sent_at=now)
    else:
        retry_at = now + outbox.pause_after(message.attempts)
        if final or retry_at > message.give_up_at:
            values.update(status="failed")
        else:
            values.update(next_attempt_at=retry_at)
    session.execute(update(SmsMessage).where(and_(
        SmsMessage.id == message.id, SmsMessage.claim == message.claim, SmsMessage.status == "pending"))
        .values(**values).execution_options(synchronize_session=False))
    session.commit()
