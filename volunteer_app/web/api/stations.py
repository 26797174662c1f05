"""Stations of the county and their join codes over JSON."""
from __future__ import annotations

from ... import db
from ...schemas.stations import (CountySummary, InviteOut, InviteQuery, StationCreate, StationList, StationOut,
                                 SummaryQuery)
from ...services import county, stations
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


@route("/county/summary", summary="The county's stations side by side, for a period (county_admin)",
       tag="stations", query=SummaryQuery, response=CountySummary, roles=("county_admin",))
def county_summary(query: SummaryQuery):
    p = county.period(query.since, query.until)
    return {"since": p.since, "until": p.until,
            "stations": county.summary(db.get_session(), current_api_user(), p)}
