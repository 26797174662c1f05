"""Notices: made, counted, marked read; a dedupe key makes one at most once."""
from volunteer_app.services import notices

from . import factories


def test_notify_count_and_read(session):
    me = factories.user(session)
    other = factories.user(session)
    notices.notify(session, me.id, "shift_cancelled", "Cancelled", "The shift was cancelled", "/shifts")
    notices.notify(session, me.id, "award", "Award")
    notices.notify(session, other.id, "award", "Award")
    assert notices.unread_count(session, me.id) == 2
    assert [n.title for n in notices.list_for(session, me.id)] == ["Award", "Cancelled"]
    first = notices.list_for(session, me.id)[1]
    notices.mark_read(session, other.id, first.id)  # not theirs: nothing happens
    assert notices.unread_count(session, me.id) == 2
    notices.mark_read(session, me.id, first.id)
    assert notices.unread_count(session, me.id) == 1
    assert notices.mark_all_read(session, me.id) == 1
    assert notices.unread_count(session, me.id) == 0
    assert notices.unread_count(session, other.id) == 1


def test_dedupe_key_once(session):
    me = factories.user(session)
    assert notices.notify(session, me.id, "shift_reminder", "Soon", dedupe_key="r:1") is not None
    assert notices.notify(session, me.id, "shift_reminder", "Soon", dedupe_key="r:1") is None
    assert notices.unread_count(session, me.id) == 1


def test_notice_is_written_in_the_recipients_language(app, session):
    """A request in Chinese that tells an English speaker something writes it in English."""
    from flask_babel import lazy_gettext as _l
    from volunteer_app import db
    from volunteer_app.services import notices as notices_service

    english = factories.user(session, language="en")
    chinese = factories.user(session)
    session.commit()
    with app.test_request_context("/"), db.unit_of_work(app.extensions["db_engine"]) as s:
        to_english = notices_service.notify(s, english.id, "badge", _l("New badge: %(name)s", name="x"))
        to_chinese = notices_service.notify(s, chinese.id, "badge", _l("New badge: %(name)s", name="x"))
    assert to_english.title == "New badge: x"
    assert to_chinese.title != to_english.title and "x" in to_chinese.title
