"""A patrol at a checkpoint whose poster could not be scanned (no signal, a torn poster), picked by
hand from the volunteer's team list on the phone and sent when it has signal again.

It is never a check-in: a place that was not scanned is asked for as a make-up, never counted
without the poster's code. The report earns nothing by itself; it is held for the coordinators
of the checkpoint's team (or the station's admins when it has no team), who are told at once,
and recorded in the audit trail. A resend with the same ``client_ref`` reports once.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..errors import FieldError
from ..models import Checkpoint, TeamMembership, User
from ..timeutil import local
from .. import timeutil
from . import access, audit, checkins, idempotency, notices

ENDPOINT = "page:unscanned"


def choices(session: Session, user: User) -> list[Checkpoint]:
    """The checkpoints a volunteer may pick: the active ones of their teams, by name."""
    team_ids = access.team_ids_of(session, user.id)
    if not team_ids:
        return []
    return list(session.exec(select(Checkpoint).where(
        Checkpoint.station_id == user.station_id, Checkpoint.team_id.in_(team_ids), Checkpoint.active == True)  # noqa: E712
        .order_by(Checkpoint.name, Checkpoint.id)))


def _coordinators(session: Session, checkpoint: Checkpoint) -> list[int]:
    if checkpoint.team_id is not None:
        ids = list(session.exec(select(TeamMembership.user_id).where(
            TeamMembership.team_id == checkpoint.team_id, TeamMembership.role == "coordinator")))
        if ids:
            return ids
    admins = session.exec(select(User).where(User.station_id == checkpoint.station_id, User.status == "active"))
    return [user.id for user in admins if user.is_admin]


def report(session: Session, user: User, checkpoint_id: int | None, *, scanned_at: datetime | None,
           latitude: float | None = None, longitude: float | None = None, client_ref: str | None = None,
           now: datetime | None = None) -> tuple[Checkpoint, datetime]:
    """Hold a hand-picked patrol for the coordinators: (the checkpoint, when the volunteer was
    there: ``scanned_at``, judged like a queued scan's, or now)."""
    now = now or timeutil.utcnow()
    if user.status != "active":
        access.forbid(_l("This account is not active."))
    at = checkins.check_scanned_at(scanned_at, now) if scanned_at is not None else now
    checkpoint = next((row for row in choices(session, user) if row.id == checkpoint_id), None)
    if checkpoint is None:
        raise FieldError("checkpoint_id", _l("Choose one of your team's checkpoints."))
    if idempotency.lookup_data(session, user.id, ENDPOINT, client_ref) is not None:
        return checkpoint, at
    when = local(at).strftime("%m-%d %H:%M")
    title = _l("%(name)s could not scan the poster at %(place)s", name=user.display_name, place=checkpoint.name)
    body = _l("%(name)s says they were at %(place)s at %(time)s but could not scan the poster. This is not a "
              "check-in and earns nothing. If it is right, record it as a make-up.",
              name=user.display_name, place=checkpoint.name, time=when)
    for coordinator_id in _coordinators(session, checkpoint):
        notices.notify(session, coordinator_id, "unscanned", title, body, now=now)
    audit.record(session, user, "checkin.unscanned", "checkpoint", checkpoint.id, scanned_at=timeutil.isoformat(at),
                 latitude=latitude, longitude=longitude)
    idempotency.remember(session, user.id, ENDPOINT, client_ref, {"checkpoint_id": checkpoint.id})
    return checkpoint, at
