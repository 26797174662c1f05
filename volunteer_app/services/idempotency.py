"""Writes sent with a ``client_ref`` count once: the first successful answer is remembered under
(person, endpoint, ``client_ref``), and a repeat (a double tap, a retry after a lost answer)
gets that answer back instead of doing the write again.

The API's decorator, the phone's check-in and the counter's basket all keep their answers here.
The row is added in the same transaction as the write it answers, so both or neither are kept;
a twin request that loses the race on the unique key finds the winner's answer after rolling back.
"""
from __future__ import annotations

import json

from sqlmodel import Session, select

from ..models import IdempotencyKey

#: The longest ``client_ref`` kept; a longer one is cut to this.
MAX_REF = 64


def lookup(session: Session, user_id: int, endpoint: str, client_ref: str | None) -> str | None:
    """The answer (JSON text) first given to this ``client_ref``, or None."""
    if not client_ref:
        return None
    return session.exec(select(IdempotencyKey.response).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.endpoint == endpoint,
        IdempotencyKey.client_ref == client_ref[:MAX_REF])).first()


def find(session: Session, user_id: int, endpoint: str, client_ref: str | None) -> IdempotencyKey | None:
    """The remembered row itself (its answer and when it was given), or None."""
    if not client_ref:
        return None
    return session.exec(select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.endpoint == endpoint,
        IdempotencyKey.client_ref == client_ref[:MAX_REF])).first()


def lookup_data(session: Session, user_id: int, endpoint: str, client_ref: str | None) -> dict | None:
    """:func:`lookup`, parsed."""
    text = lookup(session, user_id, endpoint, client_ref)
    return json.loads(text) if text is not None else None


def remember(session: Session, user_id: int, endpoint: str, client_ref: str | None, response: str | dict,
             status_code: int = 201) -> None:
    """Keep ``response`` (JSON text, or data to write as JSON) as the answer to ``client_ref``,
    committed with the write it answers."""
    if not client_ref:
        return
    text = response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)
    session.add(IdempotencyKey(user_id=user_id, endpoint=endpoint, client_ref=client_ref[:MAX_REF],
                               status_code=status_code, response=text))
