"""What each person hears: notice preferences."""
from __future__ import annotations

from pydantic import StrictBool

from .common import ApiInput, ApiOutput


class NoticeKinds(ApiInput):
    """In-app notices by group; a group not named stays as it was. ``security`` cannot be off."""

    callouts: StrictBool | None = None
    shifts: StrictBool | None = None
    tips: StrictBool | None = None
    awards: StrictBool | None = None
    store: StrictBool | None = None
    points_expiry: StrictBool | None = None
    care: StrictBool | None = None
    security: StrictBool | None = None


class SmsChannels(ApiInput):
    """Text messages, for call-outs and shift reminders only (true needs a phone number)."""

    callouts: StrictBool | None = None
    shift_reminders: StrictBool | None = None


class NoticePreferencesUpdate(ApiInput):
    kinds: NoticeKinds | None = None
    sms: SmsChannels | None = None


class NoticePreferencesOut(ApiOutput):
    kinds: dict[str, bool]
    sms: dict[str, bool]
    sms_available: bool
    locked: list[str]
