"""Recognition over JSON: awards, badges and leaderboards."""
from __future__ import annotations

from flask import url_for

from ... import db
from ...schemas.recognition import AwardCreate, AwardOut, BadgeList, LeaderboardOut, LeaderboardQuery
from ...schemas.common import Attrs
from ...services import recognition
from .base import current_api_user, route


@route("/awards", "POST", summary="Grant an award (its points are an award ledger entry)", tag="recognition",
       body=AwardCreate, response=AwardOut, status=201, idempotent=True, roles=("coordinator",))
def grant_award(body: AwardCreate):
    award = recognition.grant_award(db.get_session(), current_api_user(), user_id=body.user_id, title=body.title,
                                    points=body.points, note=body.note)
    return Attrs(award, certificate_url=url_for("pages.award_certificate", award_id=award.id))


@route("/users/<id:user_id>/badges", summary="A person's badges", tag="recognition", response=BadgeList)
def badges(user_id: int):
    return {"badges": recognition.badge_list(db.get_session(), current_api_user(), user_id)}


@route("/leaderboard", summary="Points earned in a period, highest first (ties share a rank)",
       tag="recognition", query=LeaderboardQuery, response=LeaderboardOut)
def leaderboard(query: LeaderboardQuery):
    board = recognition.leaderboard(db.get_session(), current_api_user(), query.period, query.team_id,
                                    limit=query.limit, unit_id=query.unit_id)
    board["entries"] = [{key: row[key] for key in ("rank", "user_id", "display_name", "points")}
                        for row in board["entries"]]
    return board
