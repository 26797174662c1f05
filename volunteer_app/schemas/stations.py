"""Stations, join codes and the county's summary."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from .common import ApiInput, ApiOutput, Day, Id, Name

ShortName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
Zone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class StationCreate(ApiInput):
    name: Name
    short_name: ShortName | None = None
    timezone: Zone | None = None


class StationOut(ApiOutput):
    id: int
    name: str
    short_name: str
    timezone: str
    member_count: int


class StationList(ApiOutput):
    stations: list[StationOut]


class InviteQuery(ApiInput):
    team_id: Id | None = None


class InviteOut(ApiOutput):
    join_url: str
    expires_at: str
    team_id: int | None = None


class SummaryQuery(ApiInput):
    since: Day | None = None
    until: Day | None = None


class TipCounts(ApiOutput):
    red: int
    yellow: int
    blue: int
    open_overdue: int


class PublicityCounts(ApiOutput):
    #: Anti-fraud publicity sessions begun in the period, and the audience their reports give.
    sessions: int
    people_reached: int


class StationSummary(ApiOutput):
    station_id: int
    name: str
    volunteers: int
    active_volunteers: int
    checkins: int
    hours_served: float
    points_issued: int
    points_redeemed: int
    tips: TipCounts
    publicity: PublicityCounts


class CountySummary(ApiOutput):
    since: date
    until: date
    stations: list[StationSummary]


#: A setting's value as text (levels, tip points, the expiry rule): bounded before it is read.
SettingText = Annotated[str, StringConstraints(max_length=500)]


class StationSettingsPatch(ApiInput):
    """Some of a station's own settings (``config.STATION_SETTINGS``, lower case); ``null``
    clears one back to the deployment's value. Each is checked as the app reads the setting."""

    level_thresholds: SettingText | None = Field(None, description="name:points,... lowest first, the first at 0")
    tip_points: SettingText | None = Field(None, description="category:points,... (0 to 1000)")
    night_factor: float | None = Field(None, description="1 to 5, at most three decimals")
    no_show_limit: int | None = Field(None, description="1 to 100")
    no_show_window_days: int | None = Field(None, description="1 to 3650")
    shift_signup_window_days: int | None = Field(None, description="1 to 366")
    makeup_max_days: int | None = Field(None, description="1 to 366")
    outing_gap_minutes: int | None = Field(None, description="1 to 1440")
    outing_tail_minutes: int | None = Field(None, description="0 to 1440")
    route_in_order: bool | None = None
    points_expire: SettingText | None = Field(None, description="never, year_end:N (0-100) or months:N (1-100)")
    voucher_days: int | None = Field(None, description="1 to 3650")

    @model_validator(mode="after")
    def _names_one(self):
        if not self.model_fields_set:
            raise ValueError("Name at least one setting to change.")
        return self


class StationSettingOut(ApiOutput):
    #: In force in the station: its own value, else the deployment's.
    value: str | int | float | bool
    #: The deployment's value (what ``null`` goes back to).
    default: str | int | float | bool
    station_set: bool
    group: str


class StationSettingsOut(ApiOutput):
    station_id: int
    settings: dict[str, StationSettingOut]
