"""The audit trail: one entry per staff action, in the action's own transaction."""
from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
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


#: What each action code means, as staff read it on the audit page (the code stays searchable).
ACTION_LABELS = {
    "station.create": _l("Station created"),
    "station.update": _l("Station changed"),
    "station.join_revoke": _l("Join codes revoked"),
    "station.settings": _l("Station settings changed"),
    "award.grant": _l("Award granted"),
    "callout.create": _l("Call-out sent"),
    "award_template.create": _l("Award template created"),
    "care.concern_closed": _l("Care visit concern dealt with"),
    "care.create": _l("Care household registered"),
    "care.export": _l("Care households exported with personal data"),
    "care.open": _l("Care household's personal data opened"),
    "care.photo": _l("Care visit photo opened"),
    "care.photo_add": _l("Care visit photo added"),
    "care.update": _l("Care household changed"),
    "care.visit": _l("Care visit logged"),
    "checkin.on_behalf": _l("Checked in on someone's behalf"),
    "checkin.unscanned": _l("Reported a patrol without a scan"),
    "checkpoint.create": _l("Checkpoint created"),
    "checkpoint.rotate_code": _l("Poster code replaced"),
    "checkpoint.update": _l("Checkpoint changed"),
    "event.create": _l("Event created"),
    "event.signout": _l("Event's sign-out code switched"),
    "service.confirm": _l("Service record confirmed"),
    "identity.update": _l("Real-name details saved"),
    "identity.withdraw": _l("ID number erased"),
    "identity.reveal": _l("Full ID numbers read for an export"),
    "service.entry": _l("Service recorded for a member"),
    "service.kind": _l("Kind of service changed"),
    "service.makeup": _l("Make-up hours requested"),
    "service.reject": _l("Service record rejected"),
    "mediation.follow_up": _l("Mediation follow-up recorded"),
    "mediation.log": _l("Mediation case logged"),
    "points.adjust": _l("Points corrected"),
    "publicity.report": _l("Publicity session's reach recorded"),
    "shift.cancel": _l("Shift cancelled"),
    "shift.clear_no_shows": _l("No-shows cleared"),
    "shift.confirm_attendance": _l("Attendance confirmed"),
    "shift.copy_week": _l("Week of shifts copied"),
    "shift.create": _l("Shift created"),
    "shift.edit": _l("Shift changed"),
    "shift.no_show": _l("Marked as no-show"),
    "store.item_create": _l("Store item created"),
    "store.item_picture": _l("Item picture changed"),
    "store.item_update": _l("Store item changed"),
    "store.redemption_cancelled": _l("Redemption cancelled"),
    "store.redemption_lapsed": _l("Reservation lapsed"),
    "store.reservation_fulfil": _l("Reservation handed over"),
    "store.stock_restock": _l("Restocked"),
    "store.stock_damage": _l("Stock written off as damaged"),
    "store.stock_correction": _l("Stock corrected"),
    "store.stock_count": _l("Day-end count differed from the stock"),
    "store.sponsor_create": _l("Sponsor added"),
    "store.sponsor_update": _l("Sponsor changed"),
    "store.sponsor_gift": _l("Goods received from a sponsor"),
    "store.sponsor_new_link": _l("Sponsor's voucher link renewed"),
    "store.voucher_used": _l("Voucher taken at the sponsor's"),
    "team.create": _l("Team created"),
    "team.member": _l("Team member added or changed"),
    "team.remove_member": _l("Team member removed"),
    "tip.close": _l("Tip closed"),
    "tip.review": _l("Tip reviewed"),
    "tip.triage": _l("Tip triaged"),
    "user.anonymise": _l("Personal data removed"),
    "user.approve": _l("Registration approved"),
    "user.create": _l("Account created"),
    "user.disable": _l("Account disabled"),
    "user.enable": _l("Account enabled"),
    "user.reject": _l("Registration rejected"),
    "user.roles": _l("Roles changed"),
    "user.area": _l("Police assistant's area changed"),
    "unit.create": _l("Sub-unit created"),
    "unit.update": _l("Sub-unit renamed or its leaders changed"),
    "unit.members": _l("Sub-unit's members set"),
    "unit.assign": _l("Member put into a sub-unit"),
    "unit.delete": _l("Sub-unit deleted"),
    "user.signin_link": _l("One-time sign-in code issued"),
    "user.signin_link_used": _l("Signed in with a one-time code"),
    "user.password_set": _l("Password set after a one-time code"),
}


def action_label(action: str) -> str:
    """The action in words (the code itself for one without a label)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
