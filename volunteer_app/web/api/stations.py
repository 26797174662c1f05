"""Stations of the county and their join codes over JSON."""
from __future__ import annotations

from ... import db
from ...schemas.stations import (CountySummary, InviteOut, InviteQuery, StationCreate, StationList, StationOut,
                                 StationSettingsOut, StationSettingsPatch, SummaryQuery)
from ...services import county, station_settings, stations
from ...timeutil import isoformat
from .. import links
from .base import current_api_user, route


def _station(row, counts: dict[int, int]) -> dict:
    return {"id": row.id, "name": row.name, "short_name": row.short_name, "timezone": stations.zone_of(row),
            "member_count": counts.get(row.id, 0)}


@route("/stations", "POST", summary="Create a station (county_admin)", tag="stations", body=StationCreate,
       response=StationOut, status=201, roles=("county_admin",))
def create_station(body: StationCreate):
    row = stations.create_station(db.get_session(), current_api_user(), **body.model_dump())
    return _station(row, {})


@route("/stations", summary="The stations: all for a county_admin, one's own otherwise", tag="stations",
       response=StationList)
def list_stations():
    session = db.get_session()
    rows = stations.list_stations(session, current_api_user())
    counts = stations.member_counts(session, [row.id for row in rows])
    return {"stations": [_station(row, counts) for row in rows]}


@route("/stations/<id:station_id>/invite", summary="A join code of the station (and team): a signed URL",
       tag="stations", query=InviteQuery, response=InviteOut, roles=("coordinator",))
def invite(station_id: int, query: InviteQuery):
    token, expires_at = stations.join_code(db.get_session(), current_api_user(), station_id, team_id=query.team_id)
    return {"join_url": f"{links.base_url()}/join/{token}", "expires_at": isoformat(expires_at),
            "team_id": query.team_id}


@route("/stations/<id:station_id>/invite", "DELETE", summary="Revoke every join code of the station",
       tag="stations", status=204, roles=("coordinator",))
def revoke_invites(station_id: int):
    stations.revoke_join_codes(db.get_session(), current_api_user(), station_id)
    return None


def _settings(station_id: int, rows: list[dict]) -> dict:
    return {"station_id": station_id, "settings": {row["field"]: {
        "value": row["value"], "default": row["default"], "station_set": row["station_set"], "group": row["group"]}
        for row in rows}}


@route("/stations/<id:station_id>/settings", summary="The settings a station sets itself, in force and by default",
       tag="stations", response=StationSettingsOut, roles=("admin",))
def get_settings(station_id: int):
    return _settings(station_id, station_settings.effective(db.get_session(), current_api_user(), station_id))


@route("/stations/<id:station_id>/settings", "PATCH", summary="Set some of a station's own settings (null: the "
       "deployment's value again)", tag="stations", body=StationSettingsPatch, response=StationSettingsOut,
       roles=("admin",))
def patch_settings(station_id: int, body: StationSettingsPatch):
    rows = station_settings.update(db.get_session(), current_api_user(), station_id, body.model_dump(exclude_unset=True))
    return _settings(station_id, rows)


@route("/county/summary", summary="The county's stations side by side, for a period (county_admin)",
       tag="stations", query=SummaryQuery, response=CountySummary, roles=("county_admin",))
def county_summary(query: SummaryQuery):
    p = county.period(query.since, query.until)
    return {"since": p.since, "until": p.until,
            "stations": county.summary(db.get_session(), current_api_user(), p)}
