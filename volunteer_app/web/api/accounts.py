"""Accounts and teams over JSON."""
from __future__ import annotations

from flask import request

from ... import db
from ...schemas.common import Attrs
from ...schemas.accounts import (CreateUserRequest, MemberAdd, MembershipOut, RegisterRequest, TeamCreate,
                                 TeamList, TeamOut, TokenOut, TokenRequest, UserOut, UserUpdate)
from ...services import access, accounts, expiry, teams
from ...timeutil import isoformat
from .base import current_api_user, route


def _user(user, viewer=None) -> Attrs:
    """A user for ``UserOut``; the phone number only where ``accounts.sees_phone`` says so."""
    session = db.get_session()
    viewer = viewer or current_api_user()
    return Attrs(user, hidden=() if accounts.sees_phone(session, viewer, user) else ("phone",),
                 roles=accounts.roles_of(user), team_ids=access.team_ids_of(session, user.id),
                 level=accounts.level_for(user.lifetime_points), expiring=expiry.expiring(session, user.id))


@route("/auth/token", "POST", summary="Get a bearer token", tag="accounts", body=TokenRequest,
       response=TokenOut, auth=False)
def token(body: TokenRequest):
    session = db.get_session()
    user = accounts.authenticate(session, body.username, body.password, ip=request.remote_addr or "")
    raw, token_row = accounts.issue_token(session, user, kind="api")
    return {"access_token": raw, "token_type": "bearer", "expires_at": isoformat(token_row.expires_at),
            "user": _user(user, viewer=user)}


@route("/auth/token", "DELETE", summary="Give back the bearer token of this call (it is refused from then on)",
       tag="accounts", status=204)
def revoke_token():
    raw = request.headers.get("Authorization", "").partition(" ")[2].strip()  # checked by @route
    accounts.revoke_token(db.get_session(), raw, holder=current_api_user())
    return None


@route("/register", "POST", summary="Register (pending until approved)", tag="accounts", body=RegisterRequest,
       response=UserOut, status=201, auth=False)
def register(body: RegisterRequest):
    session = db.get_session()
    user = accounts.register(session, **body.model_dump(), ip=request.remote_addr or "")
    return _user(user, viewer=user)


@route("/users", "POST", summary="Create an active user", tag="accounts", body=CreateUserRequest,
       response=UserOut, status=201, roles=("coordinator",))
def create_user(body: CreateUserRequest):
    user = accounts.create_user(db.get_session(), current_api_user(), **body.model_dump())
    return _user(user)


@route("/users/<id:user_id>", summary="A user", tag="accounts", response=UserOut)
def get_user(user_id: int):
    return _user(accounts.get_user(db.get_session(), current_api_user(), user_id))


@route("/users/<id:user_id>", "PATCH", summary="Give roles or a police assistant's area", tag="accounts",
       body=UserUpdate, response=UserOut, roles=("admin",))
def update_user(user_id: int, body: UserUpdate):
    user = accounts.set_roles(db.get_session(), current_api_user(), user_id, body.roles, area=body.area)
    return _user(user)


@route("/me", summary="The authenticated user", tag="accounts", response=UserOut)
def me():
    return _user(current_api_user())


@route("/users/<id:user_id>/approve", "POST", summary="Approve a registration", tag="accounts", response=UserOut,
       roles=("coordinator",))
def approve(user_id: int):
    return _user(accounts.approve(db.get_session(), current_api_user(), user_id))


@route("/users/<id:user_id>/disable", "POST", summary="Disable an account", tag="accounts", response=UserOut,
       roles=("admin",))
def disable(user_id: int):
    return _user(accounts.disable(db.get_session(), current_api_user(), user_id))


@route("/teams", "POST", summary="Create a team", tag="teams", body=TeamCreate, response=TeamOut, status=201,
       roles=("admin",))
def create_team(body: TeamCreate):
    team = teams.create_team(db.get_session(), current_api_user(), **body.model_dump())
    return Attrs(team, member_count=0)


@route("/teams", summary="List the station's teams", tag="teams", response=TeamList)
def list_teams():
    session = db.get_session()
    rows = teams.list_teams(session, current_api_user())
    counts = teams.member_counts(session, [team.id for team in rows])
    return {"teams": [Attrs(team, member_count=counts.get(team.id, 0)) for team in rows]}


@route("/teams/<id:team_id>/members", "POST", summary="Add a member or change their role", tag="teams",
       body=MemberAdd, response=MembershipOut, status=201, roles=("coordinator",))
def add_member(team_id: int, body: MemberAdd):
    membership = teams.add_member(db.get_session(), current_api_user(), team_id, body.user_id, body.role)
    return {"team_id": membership.team_id, "user_id": membership.user_id, "role": membership.role}


@route("/teams/<id:team_id>/members/<id:user_id>", "DELETE", summary="Remove a member", tag="teams", status=204,
       roles=("coordinator",))
def remove_member(team_id: int, user_id: int):
    teams.remove_member(db.get_session(), current_api_user(), team_id, user_id)
    return None
