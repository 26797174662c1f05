"""Notices in the app: one row per person per thing worth telling them.

Any service may call :func:`notify` in its own transaction (it only adds and flushes). Titles
and bodies are stored as rendered text: pass lazy strings (``lazy_gettext``) and they are
rendered in the recipient's language; plain strings are stored as given.

What a person hears is decided here, once for every way of telling: each notice kind belongs to
a group (:data:`GROUPS`) that the person may turn off (not the locked ones, such as account
security); a notice of a group they turned off is not written for them. SMS, for call-outs and
shift reminders only, is on by default for everyone with a phone number (:func:`sms_recipients`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import has_app_context
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..errors import FieldError
from ..models import Notice, NoticePreference, User
from .. import db, locales, timeutil

#: Notice groups a person chooses from, and the notice kinds each holds. A kind in no group
#: (e.g. a coordinator's "unscanned" checkpoints) is always written.
GROUPS: dict[str, tuple[str, ...]] = {
    "callouts": ("callout",),
    "shifts": ("shift_reminder", "shift_changed", "shift_cancelled", "shift_promoted"),
    "tips": ("tip",),
    "awards": ("award", "team_award", "badge", "service"),
    "store": ("store_low_stock",),
    "points_expiry": ("points_expiry",),
    "care": ("care",),
    "security": ("security",),
}
#: Groups that cannot be turned off.
LOCKED = frozenset({"security"})
#: What may also come by SMS (and nothing else does).
SMS_CHANNELS = ("callouts", "shift_reminders")
GROUP_OF_KIND = {kind: group for group, kinds in GROUPS.items() for kind in kinds}


@dataclass
class Preferences:
    """One person's choices: ``kinds`` (group -> on), ``sms`` (channel -> on), ``sms_available``
    (they have a phone number), ``locked`` (groups always on)."""

    kinds: dict[str, bool]
    sms: dict[str, bool]
    sms_available: bool
    locked: list[str]


def _split(text: str | None) -> set[str]:
    return {part for part in (text or "").split(",") if part}


def _has_phone(user: User) -> bool:
    return bool((user.phone or "").strip())


def preferences_of(session: Session, user: User) -> Preferences:
    row = session.exec(select(NoticePreference).where(NoticePreference.user_id == user.id)).first()
    muted, sms_muted = _split(row and row.muted), _split(row and row.sms_muted)
    phone = _has_phone(user)
    return Preferences(kinds={group: group in LOCKED or group not in muted for group in GROUPS},
                       sms={channel: phone and channel not in sms_muted for channel in SMS_CHANNELS},
                       sms_available=phone, locked=sorted(LOCKED))


def set_preferences(session: Session, user: User, *, kinds: dict[str, bool] | None = None,
                    sms: dict[str, bool] | None = None, now: datetime | None = None) -> Preferences:
    """Change some of the person's choices (what is not named stays as it was). An unknown group
    or channel, a value that is not true or false, turning off a locked group or asking for SMS
    without a phone number: 422, nothing changed."""
    kinds, sms = dict(kinds or {}), dict(sms or {})
    for field, given, known in (("kinds", kinds, GROUPS), ("sms", sms, SMS_CHANNELS)):
        for name, value in given.items():
            if name not in known:
                raise FieldError(f"{field}.{name}", _l("No such kind of notice."))
            if not isinstance(value, bool):
                raise FieldError(f"{field}.{name}", _l("Say true or false."))
    for name, value in kinds.items():
        if name in LOCKED and not value:
            raise FieldError(f"kinds.{name}", _l("These notices cannot be turned off."))
    if any(sms.values()) and not _has_phone(user):
        raise FieldError("sms", _l("Add your mobile phone number first to get text messages."))
    row = session.exec(select(NoticePreference).where(NoticePreference.user_id == user.id)).first()
    if row is None:
        row = NoticePreference(station_id=user.station_id, user_id=user.id)
    muted, sms_muted = _split(row.muted), _split(row.sms_muted)
    muted = {group for group in GROUPS if group in kinds and not kinds[group]} | (muted - set(kinds))
    sms_muted = {channel for channel in SMS_CHANNELS if channel in sms and not sms[channel]} | (sms_muted - set(sms))
    row.muted, row.sms_muted = ",".join(sorted(muted)), ",".join(sorted(sms_muted))
    row.updated_at = now or timeutil.utcnow()
    session.add(row)
    session.flush()
    return preferences_of(session, user)


def _muted(session: Session, user_ids, kind: str) -> set[int]:
    """Of ``user_ids``, those who turned off the group of ``kind``."""
    group = GROUP_OF_KIND.get(kind)
    if group is None or group in LOCKED:
        return set()
    ids = set(user_ids)
    rows = session.exec(select(NoticePreference.user_id, NoticePreference.muted).where(
        NoticePreference.user_id.in_(ids), NoticePreference.muted != ""))
    return {user_id for user_id, muted in rows if group in _split(muted)}


def wants(session: Session, user_id: int, kind: str) -> bool:
    """Does ``user_id`` hear notices of ``kind`` (the one rule every notice goes through)?"""
    return user_id not in _muted(session, [user_id], kind)


def sms_recipients(session: Session, user_ids, channel: str) -> list[int]:
    """Of ``user_ids``, the active people with a phone number who did not turn SMS off for
    ``channel`` (``callouts`` or ``shift_reminders``), by id."""
    if channel not in SMS_CHANNELS:
        raise ValueError(channel)
    ids = set(user_ids)
    if not ids:
        return []
    phones = session.exec(select(User.id).where(User.id.in_(ids), User.status == "active", User.phone.is_not(None),
                                                func.trim(User.phone) != ""))
    off = {user_id for user_id, muted in session.exec(select(NoticePreference.user_id, NoticePreference.sms_muted)
                                                      .where(NoticePreference.user_id.in_(ids)))
           if channel in _split(muted)}
    return sorted(set(phones) - off)


def notify(session: Session, user_id: int, kind: str, title, body="", url: str = "", *,
           dedupe_key: str | None = None, now: datetime | None = None) -> Notice | None:
    """Tell ``user_id`` something. With ``dedupe_key`` the notice is made at most once (returns
    None when it already exists, also under a parallel twin). None, too, when the person turned
    notices of this kind off."""
    if not wants(session, user_id, kind):
        return None
    title, body = _in_language_of(session, user_id, title, "" if body is None else body)
    row = _row(user_id, kind, title, body, url, now or timeutil.utcnow(), dedupe_key)
    if dedupe_key is None:
        return db.insert_row(session, Notice, row)
    if session.exec(select(Notice.id).where(Notice.dedupe_key == dedupe_key)).first():
        return None
    notice = Notice(**row)
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:
        return None
    return notice


_INSERT = insert(Notice.__table__)


def notify_once_each(session: Session, items: list[tuple], *, now: datetime | None = None) -> int:
    """Tell several people something each, at most once per ``dedupe_key``, in one statement:
    ``items`` are ``(user_id, kind, title, body, url, dedupe_key)``; titles and bodies are
    rendered in each recipient's language. Returns how many notices were made (a key that
    exists already, also under a parallel twin, makes none)."""
    for kind in {item[1] for item in items}:
        muted = _muted(session, [item[0] for item in items if item[1] == kind], kind)
        items = [item for item in items if item[1] != kind or item[0] not in muted]
    if not items:
        return 0
    languages = dict(session.exec(select(User.id, User.language).where(User.id.in_({item[0] for item in items}))).all())
    created_at = now or timeutil.utcnow()
    rows = []
    for language in set(languages.values()) | {None}:
        mine = [item for item in items if languages.get(item[0]) == language]
        if not mine:
            continue
        texts = [text for item in mine for text in (item[2], item[3])]
        if language and has_app_context() and not _is_current_locale(language):
            with force_locale(language):
                texts = [str(text) for text in texts]
        else:
            texts = [str(text) for text in texts]
        rows += [_row(user_id, kind, title, body, url, created_at, dedupe_key)
                 for (user_id, kind, _title, _body, url, dedupe_key), title, body in zip(mine, texts[0::2], texts[1::2])]
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(Notice.__table__).on_conflict_do_nothing(
        index_elements=["dedupe_key"])
    return len(session.execute(statement.returning(Notice.__table__.c.id), rows).all())


def notify_all(session: Session, user_id: int, items: list[tuple], *, now: datetime | None = None) -> None:
    """Tell ``user_id`` several things at once, in one statement: ``items`` are
    ``(kind, title, body, url)`` as :func:`notify` takes them (no ``dedupe_key``)."""
    items = [item for item in items if wants(session, user_id, item[0])]
    if not items:
        return
    texts = _in_language_of(session, user_id, *[text for _kind, title, body, _url in items
                                                for text in (title, "" if body is None else body)])
    created_at = now or timeutil.utcnow()
    rows = [_row(user_id, kind, title, body, url, created_at)
            for (kind, _title, _body, url), title, body in zip(items, texts[0::2], texts[1::2])]
    session.execute(_INSERT, rows[0] if len(rows) == 1 else rows)


def _row(user_id: int, kind: str, title: str, body: str, url: str | None, created_at: datetime,
         dedupe_key: str | None = None) -> dict:
    """A notice's column values, each cut to its column's length."""
    return {"user_id": user_id, "kind": kind[:32], "title": title[:200], "body": body[:2000], "url": (url or "")[:300],
            "dedupe_key": dedupe_key, "read_at": None, "created_at": created_at}


def _in_language_of(session: Session, user_id: int, *texts) -> list[str]:
    """Render lazy strings in the recipient's language (not the language of whoever caused the
    notice, e.g. the volunteer whose cancellation promoted someone)."""
    if all(isinstance(text, str) for text in texts):
        return list(texts)
    recipient = session.get(User, user_id)  # often loaded already: the person a deed is about
    language = recipient.language if recipient is not None else None
    if not language or not has_app_context() or _is_current_locale(language):
        return [str(text) for text in texts]
    with force_locale(language):  # reloads the catalogs: only when the languages differ
        return [str(text) for text in texts]


def _is_current_locale(language: str) -> bool:
    current = get_locale()
    try:
        return current is not None and current == locales.parse(language)
    except (ValueError, TypeError):
        return False


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count(Notice.id)).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    ).one()


def list_for(session: Session, user_id: int, *, limit: int = 50) -> list[Notice]:
    """A person's notices, newest first."""
    return list(session.exec(
        select(Notice).where(Notice.user_id == user_id).order_by(Notice.id.desc()).limit(limit)))


def mark_all_read(session: Session, user_id: int, now: datetime | None = None) -> int:
    result = session.execute(
        update(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .values(read_at=now or timeutil.utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def mark_read(session: Session, user_id: int, notice_id: int, now: datetime | None = None) -> None:
    """Mark one of the user's own notices read (someone else's is silently left alone)."""
    session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.user_id == user_id, Notice.read_at.is_(None))
        .values(read_at=now or timeutil.utcnow()).execution_options(synchronize_session=False))
