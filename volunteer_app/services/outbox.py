"""The outbox: what must reach the outside, written in the transaction of the change that caused it.

:func:`emit` queues one delivery per active webhook of the station that listens to the event, in
the caller's transaction: a change rolled back queues nothing, a committed one loses nothing.
The delivery worker (``services.webhooks``) sends them afterwards; no request waits for a remote
server. A worker claims due rows with :func:`claim` (one short write: ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, the database's single write lock on SQLite), so several workers and instances never
send one delivery twice; a worker that dies mid-send leaves the row to be claimed again once its
lease has run out.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, select as sa_select, update
from sqlmodel import Session, select

from .. import db
from ..models import Webhook, WebhookDelivery
from ..timeutil import utcnow

#: How long a claimed delivery is held by its worker before another may take it (the send's own
#: timeout is 5 s); also the first retry's pause, so a failed attempt is retried within 60 s.
LEASE = timedelta(seconds=30)
#: Pauses before the 2nd, 3rd, ... attempt; the last repeats until :data:`GIVE_UP_AFTER`.
PAUSES = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
          timedelta(hours=1), timedelta(hours=2), timedelta(hours=4))
GIVE_UP_AFTER = timedelta(hours=24)


def dump(schema, obj) -> dict:
    """``obj`` as the API shows it (its output schema), as plain JSON values."""
    return json.loads(json.dumps(schema.model_validate(obj).model_dump(exclude_unset=True), ensure_ascii=False,
                                 default=str))


def listeners(session: Session, station_id: int, event: str) -> list[Webhook]:
    hooks = session.exec(select(Webhook).where(Webhook.station_id == station_id, Webhook.active == True))  # noqa: E712
    return [hook for hook in hooks if event in hook.event_list()]


def emit(session: Session, station_id: int, event: str, data: dict | Callable[[], dict], *,
         dedupe_key: str | None = None, now: datetime | None = None) -> int:
    """Queue ``event`` for every webhook of the station that listens to it; ``data`` (or what it
    returns, built only when someone listens) is the object as the API shows it. Returns how many
    deliveries were queued. With ``dedupe_key`` a webhook hears the event once."""
    hooks = listeners(session, station_id, event)
    if dedupe_key:
        told = set(session.exec(select(WebhookDelivery.webhook_id).where(
            WebhookDelivery.dedupe_key == dedupe_key, WebhookDelivery.webhook_id.in_([h.id for h in hooks] or [0]))))
        hooks = [hook for hook in hooks if hook.id not in told]
    if not hooks:
        return 0
    now = now or utcnow()
    body = data() if callable(data) else data
    for hook in hooks:
        delivery = db.insert_now(session, WebhookDelivery(
            station_id=station_id, webhook_id=hook.id, event=event, payload="", dedupe_key=dedupe_key,
            next_attempt_at=now, give_up_at=now + GIVE_UP_AFTER, created_at=now))
        delivery.payload = json.dumps({"id": delivery.id, "event": event, "occurred_at": now.isoformat(),
                                       "station_id": station_id, "data": body}, ensure_ascii=False)
        session.add(delivery)
    session.flush()
    return len(hooks)


def claim(session: Session, *, limit: int = 1, now: datetime | None = None) -> list[tuple[WebhookDelivery, Webhook]]:
    """Take up to ``limit`` due deliveries (with their webhooks) for this worker and commit at
    once; each is held for :data:`LEASE` (its ``attempts`` counted now, so a worker killed
    mid-send still counts it, and its row is claimed again once the lease has run out)."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    due = (sa_select(WebhookDelivery.id)
           .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
           .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if not db.is_sqlite(session):  # rows another worker holds are passed over, not waited for
        due = due.with_for_update(skip_locked=True)
    ids = list(session.execute(due).scalars())  # on SQLite the write lock is held from here (BEGIN IMMEDIATE)
    if not ids:
        session.commit()
        return []
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                    .values(claim=token, next_attempt_at=now + LEASE, attempts=WebhookDelivery.attempts + 1)
                    .execution_options(synchronize_session=False))
    claimed = list(session.exec(select(WebhookDelivery, Webhook).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                                .where(WebhookDelivery.claim == token).order_by(WebhookDelivery.id)
                                .execution_options(populate_existing=True)))
    session.commit()
    return [(delivery, hook) for delivery, hook in claimed]


def drain(claim_one: Callable[[], Any], deliver: Callable[[Any], bool], *, limit: int | None = None) -> int:
    """The delivery loop of every outbox (webhooks, text messages): claim one due item (its own
    short commit), ``deliver`` it outside any transaction and record the result (another short
    commit), until none is due or ``limit`` attempts were made. ``claim_one`` returns the item
    or None; ``deliver`` returns whether it made an attempt. Returns the attempts made."""
    made = 0
    while limit is None or made < limit:
        item = claim_one()
        if item is None:
            return made
        made += bool(deliver(item))
    return made


def pause_after(attempts: int) -> timedelta:
    return PAUSES[min(max(attempts, 1), len(PAUSES)) - 1]


def finish(session: Session, delivery: WebhookDelivery, *, ok: bool, status_code: int | None, error: str = "",
           final: bool = False, now: datetime | None = None) -> None:
    """Record an attempt of the worker that claimed it (a row claimed since by another is left
    alone): delivered, due again after a growing pause, or failed once past its 24 hours."""
    now = now or utcnow()
    values: dict[str, Any] = {"last_status_code": status_code, "last_error": error[:300], "claim": None}
    if ok:
        values.update(status="delivered", delivered_at=now)
    else:
        retry_at = now + pause_after(delivery.attempts)
        if final or retry_at > delivery.give_up_at:
            values.update(status="failed")
        else:
            values.update(next_attempt_at=retry_at)
    session.execute(update(WebhookDelivery).where(and_(
        WebhookDelivery.id == delivery.id, WebhookDelivery.claim == delivery.claim,
        WebhookDelivery.status == "pending")).values(**values).execution_options(synchronize_session=False))
    session.commit()


def redeliver(session: Session, delivery: WebhookDelivery, *, now: datetime | None = None) -> WebhookDelivery:
    """Send a failed (or pending) delivery again now, with a fresh 24 hours of retries."""
    now = now or utcnow()
    delivery.status, delivery.next_attempt_at, delivery.give_up_at, delivery.claim = \
        "pending", now, now + GIVE_UP_AFTER, None
    session.add(delivery)
    session.flush()
    return delivery
