"""Notices in the app: one row per person per thing worth telling them.

Any service may call :func:`notify` in its own transaction (it only adds and flushes). Titles
and bodies are stored as rendered text: pass lazy strings (``lazy_gettext``) and they are
rendered in the recipient's language; plain strings are stored as given.
"""
from __future__ import annotations

from datetime import datetime

from flask import has_app_context
from flask_babel import force_locale, get_locale
from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import Notice, User
from .. import db, locales, timeutil


def notify(session: Session, user_id: int, kind: str, title, body="", url: str = "", *,
           dedupe_key: str | None = None, now: datetime | None = None) -> Notice | None:
    """Tell ``user_id`` something. With ``dedupe_key`` the notice is made at most once (returns
    None when it already exists, also under a parallel twin)."""
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
