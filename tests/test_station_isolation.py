"""Isolation of stations, walked over EVERY route of the app (API and pages, read from the
url_map): someone of station A (an admin, coordinator and clerk there) reaching anything of
station B gets 404 (``not_found`` on the API), a poster or member code of B is
``invalid_code``, and a list never shows B's rows. A route missing from :data:`ROUTES` fails
:func:`test_every_route_is_in_the_table` until it is added here."""
from __future__ import annotations

import io
import json as jsonlib
from datetime import timedelta

import pytest

from volunteer_app.models import Checkin, Station, Webhook
from volunteer_app.services import (callouts, care, checkpoints, codes, mediation, recognition, sponsors, store,
                                   units, webhooks)
from volunteer_app.timeutil import utcnow

from . import factories
from .conftest import arrange, make_test_app, signed_in

#: What station B's rows are called: no answer to station A may contain it.
MARK = "灵隐秘密"

#: Route -> a path into station B (``{name}``: B's ids, and what a 404 must say), or why the
#: route takes no row of another station ("own": the caller's own data or a list of their
#: station, checked for MARK when it is a GET; "public": no station data at all).
FOREIGN = "foreign"
CODE = "code"
OWN = "own"
PUBLIC = "public"
ROUTES: dict[str, tuple[str, str]] = {
    # -- the API
    "DELETE /api/v1/auth/token": (OWN, ""),
    "POST /api/v1/auth/token": (PUBLIC, ""),
    "POST /api/v1/awards": (FOREIGN, '{"user_id": {vol}, "title": "x", "points": 0}'),
    "GET /api/v1/checkins": (FOREIGN, "/api/v1/checkins?user_id={vol}"),
    "POST /api/v1/checkins": (CODE, '{"code": "{poster}"}'),
    "POST /api/v1/checkins/on-behalf": (FOREIGN, '{"user_id": {vol}, "checkpoint_id": {checkpoint}}'),
    "GET /api/v1/checkpoints": (OWN, "/api/v1/checkpoints"),
    "POST /api/v1/checkpoints": (FOREIGN, '{"name": "新点", "team_id": {team}}'),
    "GET /api/v1/checkpoints/<id:checkpoint_id>": (FOREIGN, "/api/v1/checkpoints/{checkpoint}"),
    "PATCH /api/v1/checkpoints/<id:checkpoint_id>": (FOREIGN, "/api/v1/checkpoints/{checkpoint}"),
    "GET /api/v1/checkpoints/<id:checkpoint_id>/qr.png": (FOREIGN, "/api/v1/checkpoints/{checkpoint}/qr.png"),
    "GET /api/v1/checkpoints/<id:checkpoint_id>/qr.svg": (FOREIGN, "/api/v1/checkpoints/{checkpoint}/qr.svg"),
    "POST /api/v1/checkpoints/<id:checkpoint_id>/rotate-code": (FOREIGN, "/api/v1/checkpoints/{checkpoint}/rotate-code"),
    "GET /api/v1/events": (OWN, "/api/v1/events"),
    "POST /api/v1/events": (FOREIGN, '{"title": "x", "starts_at": "2030-01-01T09:00:00+08:00", '
                                     '"ends_at": "2030-01-01T10:00:00+08:00", "team_id": {team}}'),
    "GET /api/v1/events/<id:event_id>": (FOREIGN, "/api/v1/events/{event}"),
    "GET /api/v1/events/<id:event_id>/code": (FOREIGN, "/api/v1/events/{event}/code"),
    "GET /api/v1/leaderboard": (OWN, "/api/v1/leaderboard?period=all"),
    "GET /api/v1/me": (OWN, "/api/v1/me"),
    "GET /api/v1/me/member-code": (OWN, "/api/v1/me/member-code"),
    "GET /api/v1/openapi.json": (PUBLIC, ""),
    "POST /api/v1/register": (PUBLIC, ""),
    "POST /api/v1/service/<id:record_id>/confirm": (FOREIGN, "/api/v1/service/{record}/confirm"),
    "POST /api/v1/service/<id:record_id>/reject": (FOREIGN, "/api/v1/service/{record}/reject"),
    "POST /api/v1/service/<id:record_id>/sign-out": (FOREIGN, "/api/v1/service/{record}/sign-out"),
    "POST /api/v1/service/entries": (FOREIGN, '{"user_id": {vol}, "kind": "patrol", "started_at": '
                                              '"2026-12-01T09:00:00+08:00", "ended_at": "2026-12-01T10:00:00+08:00", '
                                              '"place": "x", "note": "x"}'),
    "GET /api/v1/service/kinds": (OWN, "/api/v1/service/kinds"),
    "POST /api/v1/service/kinds": (OWN, ""),
    "POST /api/v1/service/makeups": (FOREIGN, '{"kind": "patrol", "started_at": "2026-12-01T09:00:00+08:00", '
                                              '"ended_at": "2026-12-01T10:00:00+08:00", "place": "x", "note": "x", '
                                              '"checkpoint_id": {checkpoint}}'),
    "GET /api/v1/shifts": (OWN, "/api/v1/shifts"),
    "POST /api/v1/shifts": (FOREIGN, '{"team_id": {team}, "title": "x", "starts_at": "2030-01-01T09:00:00+08:00", '
                                     '"ends_at": "2030-01-01T10:00:00+08:00", "capacity": 1, '
                                     '"checkpoint_ids": [{checkpoint}]}'),
    "GET /api/v1/shifts/<id:shift_id>/attendance": (FOREIGN, "/api/v1/shifts/{shift}/attendance"),
    "DELETE /api/v1/shifts/<id:shift_id>/signup": (FOREIGN, "/api/v1/shifts/{shift}/signup"),
    "POST /api/v1/shifts/<id:shift_id>/signup": (FOREIGN, "/api/v1/shifts/{shift}/signup"),
    "GET /api/v1/stations": (OWN, "/api/v1/stations"),
    "POST /api/v1/stations": (OWN, ""),
    "DELETE /api/v1/stations/<id:station_id>/invite": (FOREIGN, "/api/v1/stations/{station}/invite"),
    "GET /api/v1/stations/<id:station_id>/invite": (FOREIGN, "/api/v1/stations/{station}/invite"),
    "GET /api/v1/stations/<id:station_id>/settings": (FOREIGN, "/api/v1/stations/{station}/settings"),
    "PATCH /api/v1/stations/<id:station_id>/settings": (FOREIGN, "/api/v1/stations/{station}/settings"),
    "GET /api/v1/store/items": (OWN, "/api/v1/store/items"),
    "POST /api/v1/store/items": (OWN, ""),
    "PATCH /api/v1/store/items/<id:item_id>": (FOREIGN, "/api/v1/store/items/{item}"),
    "POST /api/v1/store/items/<id:item_id>/picture": (FOREIGN, "/api/v1/store/items/{item}/picture"),
    "POST /api/v1/store/items/<id:item_id>/stock": (FOREIGN, "/api/v1/store/items/{item}/stock"),
    "POST /api/v1/store/redemptions": (FOREIGN, '{"user_id": {vol}, "item_id": {item}}'),
    "POST /api/v1/store/redemptions/<id:redemption_id>/cancel": (FOREIGN, "/api/v1/store/redemptions/{redemption}/cancel"),
    "GET /api/v1/teams": (OWN, "/api/v1/teams"),
    "POST /api/v1/teams": (OWN, ""),
    "POST /api/v1/teams/<id:team_id>/members": (FOREIGN, "/api/v1/teams/{team}/members"),
    "DELETE /api/v1/teams/<id:team_id>/members/<id:user_id>": (FOREIGN, "/api/v1/teams/{team}/members/{vol}"),
    "GET /api/v1/tips": (OWN, "/api/v1/tips"),
    "POST /api/v1/tips": (OWN, ""),
    "GET /api/v1/tips/<id:tip_id>": (FOREIGN, "/api/v1/tips/{tip}"),
    "POST /api/v1/tips/<id:tip_id>/close": (FOREIGN, "/api/v1/tips/{tip}/close"),
    "POST /api/v1/tips/<id:tip_id>/photos": (FOREIGN, "/api/v1/tips/{tip}/photos"),
    "GET /api/v1/tips/<id:tip_id>/photos/<id:photo_id>": (FOREIGN, "/api/v1/tips/{tip}/photos/1"),
    "POST /api/v1/tips/<id:tip_id>/review": (FOREIGN, "/api/v1/tips/{tip}/review"),
    "POST /api/v1/tips/<id:tip_id>/triage": (FOREIGN, "/api/v1/tips/{tip}/triage"),
    "POST /api/v1/users": (FOREIGN, '{"username": "intruder", "password": "a long pass 7", "display_name": "x", '
                                    '"team_id": {team}}'),
    "GET /api/v1/users/<id:user_id>": (FOREIGN, "/api/v1/users/{vol}"),
    "PATCH /api/v1/users/<id:user_id>": (FOREIGN, "/api/v1/users/{vol}"),
    "POST /api/v1/users/<id:user_id>/adjustments": (FOREIGN, "/api/v1/users/{vol}/adjustments"),
    "POST /api/v1/users/<id:user_id>/approve": (FOREIGN, "/api/v1/users/{pending}/approve"),
    "GET /api/v1/users/<id:user_id>/badges": (FOREIGN, "/api/v1/users/{vol}/badges"),
    "POST /api/v1/users/<id:user_id>/disable": (FOREIGN, "/api/v1/users/{vol}/disable"),
    "GET /api/v1/users/<id:user_id>/ledger": (FOREIGN, "/api/v1/users/{vol}/ledger"),
    "GET /api/v1/users/<id:user_id>/service": (FOREIGN, "/api/v1/users/{vol}/service"),
    "GET /api/v1/callouts": (OWN, "/api/v1/callouts"),
    "POST /api/v1/callouts": (FOREIGN, '{"title": "x", "needed": 1, "team_ids": [{team}]}'),
    "GET /api/v1/callouts/<id:callout_id>": (FOREIGN, "/api/v1/callouts/{callout}"),
    "POST /api/v1/callouts/<id:callout_id>/answer": (FOREIGN, "/api/v1/callouts/{callout}/answer"),
    "POST /api/v1/callouts/<id:callout_id>/arrived": (FOREIGN, "/api/v1/callouts/{callout}/arrived"),
    "POST /api/v1/callouts/<id:callout_id>/close": (FOREIGN, "/api/v1/callouts/{callout}/close"),
    "GET /api/v1/me/vouchers": (OWN, "/api/v1/me/vouchers"),
    "GET /api/v1/me/notice-preferences": (OWN, "/api/v1/me/notice-preferences"),
    "PUT /api/v1/me/notice-preferences": (OWN, ""),
    "GET /api/v1/service/<id:record_id>/photo": (FOREIGN, "/api/v1/service/{record}/photo"),
    "POST /api/v1/service/<id:record_id>/photo": (FOREIGN, "/api/v1/service/{record}/photo"),
    "GET /api/v1/sponsors": (OWN, "/api/v1/sponsors"),
    "POST /api/v1/sponsors": (OWN, ""),
    "GET /api/v1/sponsors/<id:sponsor_id>": (FOREIGN, "/api/v1/sponsors/{sponsor}"),
    "PATCH /api/v1/sponsors/<id:sponsor_id>": (FOREIGN, "/api/v1/sponsors/{sponsor}"),
    "POST /api/v1/sponsors/<id:sponsor_id>/gifts": (FOREIGN, "/api/v1/sponsors/{sponsor}/gifts"),
    "GET /api/v1/sponsors/<id:sponsor_id>/report": (FOREIGN, "/api/v1/sponsors/{sponsor}/report?since=2026-01-01&"
                                                             "until=2026-12-31"),
    "POST /api/v1/store/items/<id:item_id>/voucher": (FOREIGN, "/api/v1/store/items/{item}/voucher"),
    "GET /api/v1/webhooks": (OWN, "/api/v1/webhooks"),
    "POST /api/v1/webhooks": (OWN, ""),
    "DELETE /api/v1/webhooks/<id:webhook_id>": (FOREIGN, "/api/v1/webhooks/{webhook}"),
    "GET /api/v1/webhooks/<id:webhook_id>/deliveries": (FOREIGN, "/api/v1/webhooks/{webhook}/deliveries"),
    "GET /api/v1/care/concerns": (OWN, "/api/v1/care/concerns"),
    "GET /api/v1/care/households": (OWN, "/api/v1/care/households"),
    "POST /api/v1/care/households": (OWN, ""),
    "GET /api/v1/care/households.csv": (OWN, "/api/v1/care/households.csv"),
    "GET /api/v1/care/households/<id:household_id>": (FOREIGN, "/api/v1/care/households/{household}"),
    "PATCH /api/v1/care/households/<id:household_id>": (FOREIGN, "/api/v1/care/households/{household}"),
    "POST /api/v1/care/households/<id:household_id>/visits": (FOREIGN, "/api/v1/care/households/{household}/visits"),
    "POST /api/v1/care/visits/<id:visit_id>/close-concern": (FOREIGN, "/api/v1/care/visits/{visit}/close-concern"),
    "GET /api/v1/care/visits/<id:visit_id>/photo": (FOREIGN, "/api/v1/care/visits/{visit}/photo"),
    "POST /api/v1/care/visits/<id:visit_id>/photo": (FOREIGN, "/api/v1/care/visits/{visit}/photo"),
    "POST /api/v1/events/<id:event_id>/publicity": (FOREIGN, "/api/v1/events/{event}/publicity"),
    "POST /api/v1/events/<id:event_id>/publicity/photo": (FOREIGN, "/api/v1/events/{event}/publicity/photo"),
    "GET /api/v1/mediation/cases": (OWN, "/api/v1/mediation/cases"),
    "POST /api/v1/mediation/cases": (OWN, ""),
    "GET /api/v1/mediation/cases/<id:case_id>": (FOREIGN, "/api/v1/mediation/cases/{case}"),
    "POST /api/v1/mediation/cases/<id:case_id>/follow-up": (FOREIGN, "/api/v1/mediation/cases/{case}/follow-up"),
    "GET /api/v1/mediation/pool": (OWN, "/api/v1/mediation/pool"),
    "GET /api/v1/publicity/reach": (OWN, "/api/v1/publicity/reach"),
    "POST /api/v1/publicity/series": (OWN, ""),
    "GET /api/v1/users/<id:user_id>/record": (FOREIGN, "/api/v1/users/{vol}/record"),
    "GET /api/v1/teams/<id:team_id>/units": (FOREIGN, "/api/v1/teams/{team}/units"),
    "POST /api/v1/teams/<id:team_id>/units": (FOREIGN, "/api/v1/teams/{team}/units"),
    "GET /api/v1/units/<id:unit_id>": (FOREIGN, "/api/v1/units/{unit}"),
    "PATCH /api/v1/units/<id:unit_id>": (FOREIGN, "/api/v1/units/{unit}"),
    "DELETE /api/v1/units/<id:unit_id>": (FOREIGN, "/api/v1/units/{unit}"),
    "PUT /api/v1/units/<id:unit_id>/members": (FOREIGN, "/api/v1/units/{unit}/members"),
    # -- pages
    "GET /": (OWN, "/"),
    "GET /awards/<id:award_id>/certificate": (FOREIGN, "/awards/{award}/certificate"),
    "GET /badges": (OWN, "/badges"),
    "GET /c/<token>": (CODE, "/c/{poster}"),
    "POST /c/<token>": (CODE, "/c/{poster}"),
    "GET /checkins/<id:checkin_id>": (FOREIGN, "/checkins/{checkin}"),
    "GET /counter": (OWN, "/counter"),
    "GET /counter/count": (OWN, "/counter/count"),
    "POST /counter/count": (OWN, ""),
    "POST /counter/end": (OWN, ""),
    "GET /counter/export.csv": (OWN, "/counter/export.csv"),
    "POST /counter/identify": (CODE, "/counter/identify"),
    "GET /counter/receipt/<ref>": (OWN, ""),
    "POST /counter/redeem": (OWN, ""),
    "POST /counter/redemptions/<id:redemption_id>/cancel": (FOREIGN, "/counter/redemptions/{redemption}/cancel"),
    "POST /counter/reservations/<id:redemption_id>/fulfil": (FOREIGN, "/counter/reservations/{redemption}/fulfil"),
    "GET /counter/summary": (OWN, "/counter/summary"),
    "GET /county/stations": (OWN, ""),
    "GET /station/settings": (OWN, "/station/settings"),
    "POST /station/settings": (OWN, "/station/settings"),
    "GET /county": (OWN, "/county"),
    "GET /county/summary.csv": (OWN, "/county/summary.csv"),
    "GET /api/v1/county/summary": (OWN, "/api/v1/county/summary"),
    "POST /county/stations": (OWN, ""),
    "GET /favicon.ico": (PUBLIC, ""),
    "GET /healthz": (PUBLIC, ""),
    "GET /join/<token>": (PUBLIC, ""),
    "POST /language": (OWN, ""),
    "GET /leaderboard": (OWN, "/leaderboard"),
    "GET /login": (PUBLIC, ""),
    "POST /login": (PUBLIC, ""),
    "POST /logout": (OWN, ""),
    "GET /manage": (OWN, "/manage"),
    "GET /manage/approvals": (OWN, "/manage/approvals"),
    "POST /manage/approvals/<id:user_id>/<any(approve, reject):decision>": (FOREIGN, "/manage/approvals/{pending}/approve"),
    "GET /manage/audit": (OWN, "/manage/audit"),
    "GET /manage/awards": (OWN, "/manage/awards"),
    "POST /manage/awards": (OWN, ""),
    "GET /manage/awards/people": (OWN, "/manage/awards/people"),
    "POST /manage/awards/templates": (OWN, ""),
    "GET /manage/checkpoints": (OWN, "/manage/checkpoints"),
    "GET /manage/checkpoints/<id:checkpoint_id>": (FOREIGN, "/manage/checkpoints/{checkpoint}"),
    "POST /manage/checkpoints/<id:checkpoint_id>": (FOREIGN, "/manage/checkpoints/{checkpoint}"),
    "GET /manage/checkpoints/<id:checkpoint_id>/poster": (FOREIGN, "/manage/checkpoints/{checkpoint}/poster"),
    "GET /manage/checkpoints/<id:checkpoint_id>/qr.<any(png, svg):fmt>": (FOREIGN, "/manage/checkpoints/{checkpoint}/qr.png"),
    "POST /manage/checkpoints/<id:checkpoint_id>/rotate": (FOREIGN, "/manage/checkpoints/{checkpoint}/rotate"),
    "GET /manage/checkpoints/new": (OWN, "/manage/checkpoints/new"),
    "POST /manage/checkpoints/new": (OWN, ""),
    "GET /manage/checkpoints/posters": (OWN, "/manage/checkpoints/posters"),
    "GET /manage/dashboard": (OWN, "/manage/dashboard"),
    "GET /manage/events": (OWN, "/manage/events"),
    "POST /manage/events": (OWN, ""),
    "GET /manage/events/<id:event_id>/live": (FOREIGN, "/manage/events/{event}/live"),
    "POST /manage/events/<id:event_id>/signout": (FOREIGN, "/manage/events/{event}/signout"),
    "GET /manage/leader-checkin": (OWN, "/manage/leader-checkin"),
    "POST /manage/leader-checkin": (OWN, ""),
    "GET /manage/no-shows": (OWN, "/manage/no-shows"),
    "POST /manage/no-shows/<id:user_id>/clear": (FOREIGN, "/manage/no-shows/{vol}/clear"),
    "GET /manage/personal-data": (OWN, "/manage/personal-data"),
    "POST /manage/personal-data": (OWN, ""),
    "GET /manage/points": (OWN, "/manage/points"),
    "GET /manage/shifts": (OWN, "/manage/shifts"),
    "GET /manage/shifts/<id:shift_id>": (FOREIGN, "/manage/shifts/{shift}"),
    "POST /manage/shifts/<id:shift_id>/attendance/<id:user_id>/<any(no_show, confirm):action>": (
        FOREIGN, "/manage/shifts/{shift}/attendance/{vol}/confirm"),
    "POST /manage/shifts/<id:shift_id>/cancel": (FOREIGN, "/manage/shifts/{shift}/cancel"),
    "GET /manage/shifts/<id:shift_id>/edit": (FOREIGN, "/manage/shifts/{shift}/edit"),
    "POST /manage/shifts/<id:shift_id>/edit": (FOREIGN, "/manage/shifts/{shift}/edit"),
    "POST /manage/shifts/copy-week": (OWN, ""),
    "GET /manage/shifts/new": (OWN, "/manage/shifts/new"),
    "POST /manage/shifts/new": (OWN, ""),
    "GET /manage/teams": (OWN, "/manage/teams"),
    "POST /manage/teams": (OWN, ""),
    "GET /manage/teams/<id:team_id>": (FOREIGN, "/manage/teams/{team}"),
    "POST /manage/teams/<id:team_id>/members": (FOREIGN, "/manage/teams/{team}/members"),
    "POST /manage/teams/<id:team_id>/members/<id:user_id>/<any(coordinator, member, remove):action>": (
        FOREIGN, "/manage/teams/{team}/members/{vol}/remove"),
    "POST /manage/teams/<id:team_id>/units": (FOREIGN, "/manage/teams/{team}/units"),
    "POST /manage/teams/<id:team_id>/members/<id:user_id>/unit": (FOREIGN, "/manage/teams/{team}/members/{vol}/unit"),
    "POST /manage/units/<id:unit_id>/<any(rename, delete):action>": (FOREIGN, "/manage/units/{unit}/rename"),
    "GET /manage/tips": (OWN, "/manage/tips"),
    "POST /manage/tips/<id:tip_id>/close": (FOREIGN, "/manage/tips/{tip}/close"),
    "POST /manage/tips/<id:tip_id>/review": (FOREIGN, "/manage/tips/{tip}/review"),
    "POST /manage/tips/<id:tip_id>/triage": (FOREIGN, "/manage/tips/{tip}/triage"),
    "GET /manage/tips/follow-up": (OWN, "/manage/tips/follow-up"),
    "GET /manage/users": (OWN, "/manage/users"),
    "GET /manage/users/<id:user_id>": (FOREIGN, "/manage/users/{vol}"),
    "POST /manage/users/<id:user_id>/<any(roles, disable, enable):action>": (FOREIGN, "/manage/users/{vol}/disable"),
    "GET /manage/users/<id:user_id>/points": (FOREIGN, "/manage/users/{vol}/points"),
    "POST /manage/users/<id:user_id>/points": (FOREIGN, "/manage/users/{vol}/points"),
    "POST /manage/users/<id:user_id>/signin-code": (FOREIGN, "/manage/users/{vol}/signin-code"),
    "GET /manage/users/new": (OWN, "/manage/users/new"),
    "POST /manage/users/new": (OWN, ""),
    "GET /manifest.webmanifest": (PUBLIC, ""),
    "GET /me/data.json": (OWN, "/me/data.json"),
    "GET /me/export": (OWN, "/me/export"),
    "GET /me/identity": (OWN, "/me/identity"),
    "POST /me/identity": (OWN, ""),
    "GET /me/service": (OWN, "/me/service"),
    "POST /me/service/<id:record_id>/sign-out": (FOREIGN, "/me/service/{record}/sign-out"),
    "GET /me/service/makeup": (OWN, "/me/service/makeup"),
    "POST /me/service/makeup": (OWN, ""),
    "GET /notices": (OWN, "/notices"),
    "POST /notices/read": (OWN, ""),
    "GET /pending": (PUBLIC, ""),
    "GET /points": (OWN, "/points"),
    "GET /profile": (OWN, "/profile"),
    "GET /profile/notices": (OWN, "/profile/notices"),
    "POST /profile/notices": (OWN, ""),
    "POST /profile": (OWN, ""),
    "GET /queued": (OWN, "/queued"),
    "POST /queued/unscanned": (OWN, ""),
    "GET /register": (PUBLIC, ""),
    "POST /register": (PUBLIC, ""),
    "GET /reports": (OWN, "/reports"),
    "GET /reports/certificate/<id:user_id>": (FOREIGN, "/reports/certificate/{vol}"),
    "GET /reports/checkins.csv": (OWN, "/reports/checkins.csv"),
    "GET /reports/hours-teams.csv": (OWN, "/reports/hours-teams.csv"),
    "GET /reports/hours-volunteers.csv": (OWN, "/reports/hours-volunteers.csv"),
    "GET /reports/ledger.csv": (OWN, "/reports/ledger.csv"),
    "GET /reports/national-hours.csv": (OWN, "/reports/national-hours.csv"),
    "POST /reports/national-hours.csv": (OWN, ""),
    "GET /reports/store.csv": (OWN, "/reports/store.csv"),
    "GET /reports/grids.csv": (OWN, "/reports/grids.csv"),
    "GET /area": (OWN, "/area"),
    "GET /units/<id:unit_id>": (FOREIGN, "/units/{unit}"),
    "GET /s/<code>": (PUBLIC, ""),
    "POST /s/<code>": (PUBLIC, ""),
    "GET /scan": (OWN, "/scan"),
    "POST /scan": (CODE, "/scan"),
    "GET /shifts": (OWN, "/shifts"),
    "GET /shifts/<id:shift_id>": (FOREIGN, "/shifts/{shift}"),
    "POST /shifts/<id:shift_id>/<any(signup, withdraw):action>": (FOREIGN, "/shifts/{shift}/signup"),
    "GET /shifts/calendar": (OWN, "/shifts/calendar"),
    "POST /shifts/calendar/revoke": (OWN, ""),
    "GET /shifts/feed/<token>.ics": (PUBLIC, ""),
    "GET /signin/password": (PUBLIC, ""),
    "POST /signin/password": (PUBLIC, ""),
    "GET /staff/service": (OWN, "/staff/service"),
    "POST /staff/service/<id:record_id>/confirm": (FOREIGN, "/staff/service/{record}/confirm"),
    "POST /staff/service/<id:record_id>/reject": (FOREIGN, "/staff/service/{record}/reject"),
    "GET /staff/service/entry": (OWN, "/staff/service/entry"),
    "POST /staff/service/entry": (OWN, ""),
    "GET /staff/users/<id:user_id>/service": (FOREIGN, "/staff/users/{vol}/service"),
    "POST /station": (OWN, ""),
    "GET /stations/<id:station_id>/invite": (FOREIGN, "/stations/{station}/invite"),
    "POST /stations/<id:station_id>/invite": (FOREIGN, "/stations/{station}/invite"),
    "GET /store": (OWN, "/store"),
    "GET /store/card": (OWN, "/store/card"),
    "POST /store/items/<id:item_id>/reserve": (FOREIGN, "/store/items/{item}/reserve"),
    "GET /store/manage": (OWN, "/store/manage"),
    "POST /store/manage": (OWN, ""),
    "GET /store/manage/<id:item_id>": (FOREIGN, "/store/manage/{item}"),
    "POST /store/manage/<id:item_id>": (FOREIGN, "/store/manage/{item}"),
    "GET /store/mine": (OWN, "/store/mine"),
    "GET /store/pictures/<name>": (PUBLIC, ""),
    "GET /tips/<id:tip_id>": (FOREIGN, "/tips/{tip}"),
    "POST /tips/<id:tip_id>/photos": (FOREIGN, "/tips/{tip}/photos"),
    "GET /tips/<id:tip_id>/photos/<id:photo_id>": (FOREIGN, "/tips/{tip}/photos/1"),
    "GET /tips/mine": (OWN, "/tips/mine"),
    "GET /tips/new": (OWN, "/tips/new"),
    "POST /tips/new": (OWN, ""),
    "GET /welcome": (OWN, ""),
    "POST /welcome": (OWN, ""),
    "GET /callouts": (OWN, "/callouts"),
    "POST /callouts": (OWN, ""),
    "GET /callouts/<id:callout_id>": (FOREIGN, "/callouts/{callout}"),
    "POST /callouts/<id:callout_id>/answer": (FOREIGN, "/callouts/{callout}/answer"),
    "POST /callouts/<id:callout_id>/arrived/<id:user_id>": (FOREIGN, "/callouts/{callout}/arrived/{vol}"),
    "POST /callouts/<id:callout_id>/close": (FOREIGN, "/callouts/{callout}/close"),
    "GET /callouts/banner": (OWN, "/callouts/banner"),
    "GET /callouts/new": (OWN, "/callouts/new"),
    "GET /manage/webhooks": (OWN, "/manage/webhooks"),
    "POST /manage/webhooks": (OWN, ""),
    "POST /manage/webhooks/<id:webhook_id>/delete": (FOREIGN, "/manage/webhooks/{webhook}/delete"),
    "POST /manage/webhooks/<id:webhook_id>/deliveries/<id:delivery_id>/redeliver": (
        FOREIGN, "/manage/webhooks/{webhook}/deliveries/{delivery}/redeliver"),
    "POST /manage/webhooks/<id:webhook_id>/test": (FOREIGN, "/manage/webhooks/{webhook}/test"),
    "GET /service/<id:record_id>/photo": (FOREIGN, "/service/{record}/photo"),
    "GET /store/sponsors": (OWN, "/store/sponsors"),
    "POST /store/sponsors": (OWN, ""),
    "GET /store/sponsors/<id:sponsor_id>": (FOREIGN, "/store/sponsors/{sponsor}"),
    "POST /store/sponsors/<id:sponsor_id>": (FOREIGN, "/store/sponsors/{sponsor}"),
    "GET /store/sponsors/<id:sponsor_id>/letter": (FOREIGN, "/store/sponsors/{sponsor}/letter"),
    "POST /store/sponsors/<id:sponsor_id>/link": (FOREIGN, "/store/sponsors/{sponsor}/link"),
    "POST /store/items/<id:item_id>/voucher": (FOREIGN, "/store/items/{item}/voucher"),
    "GET /store/vouchers/<id:redemption_id>": (FOREIGN, "/store/vouchers/{redemption}"),
    "GET /v/<token>": (PUBLIC, ""),
    "POST /v/<token>": (PUBLIC, ""),
    "GET /care": (OWN, "/care"),
    "GET /care/new": (OWN, "/care/new"),
    "POST /care/new": (OWN, ""),
    "GET /care/<id:household_id>": (FOREIGN, "/care/{household}"),
    "POST /care/<id:household_id>/visits": (FOREIGN, "/care/{household}/visits"),
    "POST /care/visits/<id:visit_id>/close-concern": (FOREIGN, "/care/visits/{visit}/close-concern"),
    "GET /care/visits/<id:visit_id>/photo": (FOREIGN, "/care/visits/{visit}/photo"),
    "GET /manage/events/<id:event_id>/publicity": (FOREIGN, "/manage/events/{event}/publicity"),
    "POST /manage/events/<id:event_id>/publicity": (FOREIGN, "/manage/events/{event}/publicity"),
    "GET /mediation": (OWN, "/mediation"),
    "GET /mediation/new": (OWN, "/mediation/new"),
    "POST /mediation/new": (OWN, ""),
    "GET /mediation/pool": (OWN, "/mediation/pool"),
    "GET /mediation/<id:case_id>": (FOREIGN, "/mediation/{case}"),
    "POST /mediation/<id:case_id>/follow-up": (FOREIGN, "/mediation/{case}/follow-up"),
    "GET /reports/person-records.csv": (OWN, "/reports/person-records.csv"),
}


#: Bodies that pass validation, for the routes above that need one (the refusal is the station's).
BODIES = {
    "PATCH /api/v1/checkpoints/<id:checkpoint_id>": {"name": "改名"},
    "PATCH /api/v1/stations/<id:station_id>/settings": {"night_factor": 2},
    "POST /api/v1/service/<id:record_id>/reject": {"note": "no"},
    "POST /api/v1/store/items/<id:item_id>/stock": {"change": 1, "reason": "到货"},
    "PATCH /api/v1/store/items/<id:item_id>": {"cost": 3},
    "POST /api/v1/teams/<id:team_id>/members": {"user_id": "{vol}"},
    "POST /api/v1/tips/<id:tip_id>/close": {"resolution": "done"},
    "POST /api/v1/tips/<id:tip_id>/review": {"valid": True, "note": "ok"},
    "POST /api/v1/tips/<id:tip_id>/triage": {"level": "red"},
    "POST /api/v1/users/<id:user_id>/adjustments": {"amount": 1, "reason": "x"},
    "POST /api/v1/callouts/<id:callout_id>/answer": {"answer": "coming"},
    "POST /api/v1/callouts/<id:callout_id>/arrived": {"user_id": "{vol}"},
    "PATCH /api/v1/sponsors/<id:sponsor_id>": {"name": "改名"},
    "POST /api/v1/sponsors/<id:sponsor_id>/gifts": {"item_id": "{item}", "quantity": 1},
    "POST /api/v1/care/households/<id:household_id>/visits": {"started_at": "2026-12-01T09:00:00+08:00",
                                                               "ended_at": "2026-12-01T10:00:00+08:00"},
    "POST /api/v1/events/<id:event_id>/publicity": {"audience": 30},
    "POST /api/v1/mediation/cases/<id:case_id>/follow-up": {"satisfaction": "satisfied"},
    "POST /api/v1/teams/<id:team_id>/units": {"name": "新分队"},
    "PATCH /api/v1/units/<id:unit_id>": {"name": "改名"},
    "PATCH /api/v1/users/<id:user_id>": {"area": "三组"},
    "PUT /api/v1/units/<id:unit_id>/members": {"user_ids": []},
}


#: Forms that pass validation, for the pages above that need one.
PAGE_FORMS = {"POST /callouts/<id:callout_id>/answer": {"answer": "coming"}}

#: Uploads (multipart): a small PNG.
UPLOADS = {"POST /api/v1/store/items/<id:item_id>/picture", "POST /api/v1/tips/<id:tip_id>/photos",
           "POST /api/v1/service/<id:record_id>/photo", "POST /api/v1/care/visits/<id:visit_id>/photo",
           "POST /api/v1/events/<id:event_id>/publicity/photo"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _routes(app) -> set[str]:
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}}


@pytest.fixture
def two(tmp_path, pg_url):
    app = make_test_app(tmp_path, pg_url, WTF_CSRF_ENABLED=False)
    with arrange(app) as session:
        a = factories.station(session)
        b = Station(name="灵隐派出所")
        session.add(b)
        session.flush()
        team_a = factories.team(session, "西湖巡逻队", station_row=a)
        me = factories.user(session, roles=["admin", "coordinator", "clerk", "volunteer"], station_row=a,
                            team=team_a, team_role="coordinator", balance=100)
        team_b = factories.team(session, f"{MARK}队", station_row=b)
        admin_b = factories.admin(session, station_row=b, display_name=f"{MARK}站长")
        vol = factories.user(session, station_row=b, team=team_b, display_name=f"{MARK}队员", balance=50,
                             phone="13900000000")
        pending = factories.user(session, station_row=b, status="pending", display_name=f"{MARK}新人")
        checkpoint = factories.checkpoint(session, team=team_b, name=f"{MARK}巡逻点")
        event = factories.event(session, team=team_b, title=f"{MARK}活动", starts_at=utcnow())
        checkpoint.station_id = event.station_id = b.id
        session.add_all([checkpoint, event])
        start = utcnow().replace(microsecond=0) + timedelta(days=2)
        shift = factories.shift(session, team_b, starts_at=start, ends_at=start + timedelta(hours=2),
                                route=[checkpoint], title=f"{MARK}夜巡")
        tip = factories.tip(session, vol, description=f"{MARK}线索")
        item = factories.store_item(session, name=f"{MARK}毛巾", cost=5, station_row=b)
        record = factories.service_record(session, vol, start - timedelta(days=5), 60, source="makeup",
                                          status="pending", place=f"{MARK}茶室")
        redemption = store.redeem(session, admin_b, item_id=item.id, user_id=vol.id).redemption
        award = recognition.grant_award(session, admin_b, user_id=vol.id, title=f"{MARK}表彰", points=0)
        checkin = Checkin(user_id=vol.id, kind="checkpoint", checkpoint_id=checkpoint.id, station_id=b.id,
                          created_at=utcnow(), received_at=utcnow())
        session.add(checkin)
        session.flush()
        hook = Webhook(station_id=b.id, url=f"https://hooks.example.cn/{MARK}", events="tip.created",
                       secret="s" * 32, created_by=admin_b.id)
        session.add(hook)
        session.flush()
        delivery = webhooks.send_test(session, admin_b, hook.id)
        callout = callouts.create(session, admin_b, title=f"{MARK}召集", needed=2)
        sponsor = sponsors.create(session, admin_b, name=f"{MARK}超市")
        household = care.create_household(session, admin_b, kind="other", label=f"{MARK}户", volunteer_ids=[vol.id])
        visit = care.log_visit(session, admin_b, household.id, started_at=start - timedelta(days=9),
                               ended_at=start - timedelta(days=9) + timedelta(hours=1), visitor_ids=[vol.id],
                               concern=True, concern_note=f"{MARK}担心")
        case = mediation.log_case(session, admin_b, started_at=start - timedelta(days=8),
                                  ended_at=start - timedelta(days=8) + timedelta(hours=1), place=f"{MARK}调解室",
                                  parties=["甲", "乙"], dispute_kind="other", mediator_ids=[vol.id],
                                  outcome="settled")
        unit = units.create_unit(session, admin_b, team_b.id, name=f"{MARK}分队", leader_ids=[vol.id])
        ids = {"station": b.id, "team": team_b.id, "unit": unit.id, "vol": vol.id, "pending": pending.id, "checkpoint": checkpoint.id,
               "event": event.id, "shift": shift.id, "tip": tip.id, "item": item.id, "record": record.id,
               "redemption": redemption.id, "award": award.id, "checkin": checkin.id, "webhook": hook.id,
               "delivery": delivery.id, "callout": callout.id, "sponsor": sponsor.id, "household": household.id,
               "visit": visit.id, "case": case.id,
               "poster": checkpoints.checkin_url("https://patrol.example.cn", checkpoints.token(checkpoint))}
        ids["member_code"] = codes.member_code(vol.id)[0]
    yield app, me, ids
    app.extensions["db_engine"].dispose()


def test_every_route_is_in_the_table(two):
    app, _me, _ids = two
    routes = _routes(app)
    assert routes - set(ROUTES) == set(), "a new route: add it to ROUTES"
    assert set(ROUTES) - routes == set(), "a route is gone: take it out of ROUTES"


def _fill(text: str, ids: dict) -> str:
    for key, value in ids.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def test_nothing_of_another_station_is_reachable_through_the_api(two):
    app, me, ids = two
    api = factories.ApiClient(app)
    leaks = []
    for key, (kind, target) in ROUTES.items():
        method, rule = key.split(" ", 1)
        if not rule.startswith("/api/") or kind in (PUBLIC,) or not target:
            continue
        if target.startswith("{"):
            path, body = rule, _fill(target, ids)
            response = api.request(method, path, user=me, data=body.encode(),
                                   headers={"Content-Type": "application/json"})
        elif key in UPLOADS:
            response = api.request(method, _fill(target, ids), user=me,
                                   data={"file": (io.BytesIO(PNG), "photo.png", "image/png")})
        else:
            body = jsonlib.loads(_fill(jsonlib.dumps(BODIES.get(key, {})), ids))
            body = {name: int(value) if isinstance(value, str) and value.isdigit() else value
                    for name, value in body.items()}  # the ids filled in
            response = api.request(method, _fill(target, ids), user=me, json=body if method != "GET" else None)
        text = response.get_data(as_text=True)
        said = f"{key}: {response.status_code} {text[:200]}"
        code = (response.get_json(silent=True) or {}).get("code")
        if kind == FOREIGN and (response.status_code != 404 or code != "not_found"):
            leaks.append(said)
        elif kind == CODE and (response.status_code != 400 or code != "invalid_code"):
            leaks.append(said)
        elif MARK in text:
            leaks.append(said)
    assert leaks == [], "\n".join(item[:120] for item in leaks)


def test_nothing_of_another_station_is_reachable_through_the_pages(two):
    app, me, ids = two
    browser = signed_in(app, me)
    leaks = []
    for key, (kind, target) in ROUTES.items():
        method, rule = key.split(" ", 1)
        if rule.startswith("/api/") or kind == PUBLIC or not target:
            continue
        data = dict(PAGE_FORMS.get(key, {}))
        if kind == CODE:
            data = {"code": ids["poster"] if "identify" not in rule else ids["member_code"]}
        response = browser.open(_fill(target, ids), method=method, data=data if method == "POST" else None)
        text = response.get_data(as_text=True)
        said = f"{key}: {response.status_code} {text[:200]}"
        if kind == FOREIGN and method == "POST" and response.status_code in (302, 303):
            # an action answers a refusal with a message on the page it goes back to
            text = browser.get(response.headers["Location"]).get_data(as_text=True)
            if "notice-error" not in text:
                leaks.append(f"{said} (no refusal said)")
        elif kind == FOREIGN and response.status_code != 404:
            leaks.append(said)
        if MARK in text:
            leaks.append(said)
    assert leaks == [], "\n".join(item[:120] for item in leaks)
    identify = browser.post("/counter/identify", data={"code": ids["member_code"]}).get_data(as_text=True)
    assert MARK not in identify
