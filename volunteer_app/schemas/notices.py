"""What each person hears: notice preferences."""
from __future__ import annotations

from pydantic import StrictBool, model_validator

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
    """At least one of ``kinds`` and ``sms`` (an empty body changes nothing and is refused)."""

    kinds: NoticeKinds | None = None
    sms: SmsChannels | None = None

    @model_validator(mode="after")
    def _something(self):
        if self.kinds is None and self.sms is None:
            raise ValueError("Name kinds or sms to change.")
        return self


class NoticePreferencesOut(ApiOutput):
    kinds: dict[str, bool]
    sms: dict[str, bool]
    sms_available: bool
    locked: list[str]
