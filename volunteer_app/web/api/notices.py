"""What each person hears, over JSON."""
from __future__ import annotations

from ... import db
from ...schemas.notices import NoticePreferencesOut, NoticePreferencesUpdate
from ...services import notices
from .base import current_api_user, route


@route("/me/notice-preferences", summary="What I hear about, in the app and by SMS", tag="notices",
       response=NoticePreferencesOut)
def get_notice_preferences():
    return notices.preferences_of(db.get_session(), current_api_user())


@route("/me/notice-preferences", "PUT", summary="Choose what I hear about (groups not named stay as they were)",
       tag="notices", body=NoticePreferencesUpdate, response=NoticePreferencesOut)
def put_notice_preferences(body: NoticePreferencesUpdate):
    given = body.model_dump(exclude_none=True)
    return notices.set_preferences(db.get_session(), current_api_user(), kinds=given.get("kinds"), sms=given.get("sms"))
