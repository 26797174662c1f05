"""The audit trail: one entry per staff action, in the action's own transaction."""
from __future__ import annotations

import json

from sqlmodel import Session

from ..models import AuditEntry, User


def record(session: Session, actor: User | None, action: str, target_type: str = "",
           target_id: int | None = None, *, station_id: int | None = None, **detail) -> AuditEntry:
    entry = AuditEntry(
        station_id=station_id if station_id is not None else (actor.station_id if actor else None),
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )
    session.add(entry)
    return entry
