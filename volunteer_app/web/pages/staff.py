"""Coordinator and admin pages: the Manage hub, approvals, teams and members, users.

Every rule lives in the services; these views turn forms into service calls. Each action works
as a plain form (POST, then a redirect back with a message) and as an htmx request (the changed
row or section comes back in place).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ... import db
from ...errors import DomainError
from ...models import ROLES, USER_STATUSES, Team, User
from ...services import access, accounts, teams
from ...web import htmx
from ..nav import manage_links
from ..params import arg_page
from . import bp
from .common import field_errors, form_int, render, role_required

# -- the Manage hub -------------------------------------------------------------------------------

@bp.get("/manage")
@role_required("coordinator", "clerk")
def manage():
    links = manage_links(current_user)
    pending = (accounts.count_pending(db.get_session(), current_user)
               if current_user.has_role("coordinator") else 0)
    return render_template("pages/staff/manage.html", links=links, pending=pending)


# -- helpers --------------------------------------------------------------------------------------

def _is_partial() -> bool:
    """A non-boosted htmx request wants only the changed piece back."""
    return bool(htmx) and not htmx.boosted


def _status_label(status: str) -> str:
    return {"pending": _("Waiting for approval"), "active": _("Active"), "disabled": _("Disabled")}.get(status, status)


def _role_label(role: str) -> str:
    return {"volunteer": _("Volunteer"), "clerk": _("Store clerk"), "coordinator": _("Coordinator"),
            "admin": _("Administrator")}.get(role, role)


@bp.app_context_processor
def _staff_labels():
    return {"status_label": _status_label, "role_label": _role_label}


# -- approvals ------------------------------------------------------------------------------------

@bp.get("/manage/approvals")
@role_required("coordinator")
def approvals():
    session_db = db.get_session()
    pending = accounts.search_users(session_db, current_user, status="pending", limit=200)
    pending.sort(key=lambda user: user.id)  # first come, first served
    return render_template("pages/staff/approvals.html", pending=pending,
                           teams=teams.managed_teams(session_db, current_user))


@bp.post("/manage/approvals/<id:user_id>/<any(approve, reject):decision>")
@role_required("coordinator")
def decide_registration(user_id: int, decision: str):
    session_db = db.get_session()
    team_id = form_int("team_id")
    team, error = None, None
    try:
        if decision == "approve":
            user = accounts.approve(session_db, current_user, user_id)
            if team_id:
                team = teams.get_team(session_db, current_user, team_id)
                teams.add_member(session_db, current_user, team.id, user.id, "member")
            message = (_("%(name)s is approved and joined %(team)s.", name=user.display_name, team=team.name)
                       if team else _("%(name)s is approved.", name=user.display_name))
        else:
            user = accounts.reject(session_db, current_user, user_id)
            message = _("%(name)s's registration was turned down.", name=user.display_name)
        db.commit()
    except DomainError as failure:  # shown in place: e.g. a team the coordinator does not lead
        session_db.rollback()
        user = access.get_in_station(session_db, User, user_id, current_user, _l("No such user."))
        error, message = str(failure.message), None
    if _is_partial():
        return render_template("pages/staff/_approval_row.html", user=user, message=message, error=error,
                               teams=teams.managed_teams(session_db, current_user))
    flash(error or message, "error" if error else "ok")
    return redirect(url_for("pages.approvals"))


# -- teams ----------------------------------------------------------------------------------------

@bp.route("/manage/teams", methods=["GET", "POST"], endpoint="teams")
@role_required("coordinator")
def teams_list():
    session_db = db.get_session()
    errors, values = {}, {}
    if request.method == "POST":
        values = {"name": request.form.get("name", "")[:200], "description": request.form.get("description", "")[:2000]}
        try:
            team = teams.create_team(session_db, current_user, **values)
            db.commit()
            flash(_("Team %(name)s was created.", name=team.name), "ok")
            return redirect(url_for("pages.team", team_id=team.id))
        except DomainError as error:
            session_db.rollback()
            if error.code == "forbidden":
                raise
            errors = field_errors(error)
            if error.code == "name_taken":
                errors = {"name": str(error.message)}
    rows = teams.managed_teams(session_db, current_user)
    counts = teams.member_counts(session_db, [team.id for team in rows])
    return render_template("pages/staff/teams.html", teams=rows, counts=counts, errors=errors,
                           values=values), (422 if errors else 200)


def _team_context(team: Team, *, q: str = "", errors=None, message=None, values=None) -> dict:
    session_db = db.get_session()
    rows = sorted(teams.members(session_db, team.id), key=lambda pair: pair[1].role != "coordinator")
    return {
        "team": team,
        "members": rows,
        "q": q,
        "candidates": teams.candidates(session_db, current_user, team.id, q) if q else [],
        "errors": errors or {},
        "message": message,
        "values": values or {},
    }


@bp.get("/manage/teams/<id:team_id>")
@role_required("coordinator")
def team(team_id: int):
    session_db = db.get_session()
    row = teams.team_for_manager(session_db, current_user, team_id)
    q = request.args.get("q", "").strip()[:64]
    context = _team_context(row, q=q)
    partial = "pages/staff/_candidates.html" if htmx.target == "candidates" else "pages/staff/_team_members.html"
    return render("pages/staff/team.html", partial, **context)


@bp.post("/manage/teams/<id:team_id>/members")
@role_required("coordinator")
def team_add_member(team_id: int):
    """Add by username (typed) or by user id (from the search), as member or coordinator."""
    session_db = db.get_session()
    row = teams.team_for_manager(session_db, current_user, team_id)
    role = request.form.get("role", "member")
    q = request.form.get("q", "").strip()[:64]
    user_id = form_int("user_id")
    values = {"username": request.form.get("username", "")[:64], "role": role}
    errors, message = {}, None
    try:
        if user_id is not None:
            membership = teams.add_member(session_db, current_user, row.id, user_id, role)
        else:
            membership = teams.add_member_by_username(session_db, current_user, row.id, values["username"], role)
        added = session_db.get(User, membership.user_id)
        db.commit()
        message = _("%(name)s is now in the team.", name=added.display_name)
        values = {"role": "member"}
    except DomainError as error:
        session_db.rollback()
        if error.code == "forbidden":
            raise
        errors = field_errors(error)
        if "user_id" in errors:
            errors["username"] = errors.pop("user_id")
    if _is_partial():
        return render_template("pages/staff/_team_members.html",
                               **_team_context(row, q=q, errors=errors, message=message, values=values))
    if errors:
        return render_template("pages/staff/team.html",
                               **_team_context(row, q=q, errors=errors, values=values)), 422
    flash(message, "ok")
    return redirect(url_for("pages.team", team_id=row.id, q=q or None))


@bp.post("/manage/teams/<id:team_id>/members/<id:user_id>/<any(coordinator, member, remove):action>")
@role_required("coordinator")
def team_member_action(team_id: int, user_id: int, action: str):
    session_db = db.get_session()
    row = teams.team_for_manager(session_db, current_user, team_id)
    person = access.get_in_station(session_db, User, user_id, current_user, _l("No such user."))
    membership, error, message = None, None, None
    try:
        if action == "remove":
            teams.remove_member(session_db, current_user, row.id, person.id)
            message = _("%(name)s was removed from the team.", name=person.display_name)
        else:
            membership = teams.add_member(session_db, current_user, row.id, person.id, action)
            message = (_("%(name)s is now a coordinator of this team.", name=person.display_name)
                       if action == "coordinator" else
                       _("%(name)s is now a member of this team.", name=person.display_name))
        db.commit()
    except DomainError as failure:
        session_db.rollback()
        if failure.code == "forbidden":
            raise
        error = str(failure.message)
        membership = teams.membership_of(session_db, row.id, person.id)
    if _is_partial():
        return render_template("pages/staff/_member_row.html", team=row, user=person, membership=membership,
                               message=message, error=error)
    flash(error or message, "error" if error else "ok")
    return redirect(url_for("pages.team", team_id=row.id))


# -- users ----------------------------------------------------------------------------------------

PAGE_SIZE = 20


@bp.get("/manage/users")
@role_required("coordinator")
def users():
    session_db = db.get_session()
    q = request.args.get("q", "").strip()[:64]
    status = request.args.get("status", "")
    status = status if status in USER_STATUSES else ""
    page = arg_page(10_000)
    found = accounts.search_users(session_db, current_user, query=q, status=status or None,
                                  limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    has_next = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    team_names = {team.id: team.name for team in teams.list_teams(session_db, current_user)}
    user_teams = {user.id: [team_names[tid] for tid in access.team_ids_of(session_db, user.id) if tid in team_names]
                  for user in found}
    context = {"found": found, "q": q, "status": status, "page": page, "has_next": has_next,
               "user_teams": user_teams, "statuses": USER_STATUSES}
    return render("pages/staff/users.html", "pages/staff/_user_results.html", **context)


@bp.route("/manage/users/new", methods=["GET", "POST"])
@role_required("coordinator")
def user_new():
    session_db = db.get_session()
    my_teams = teams.managed_teams(session_db, current_user)
    errors, values = {}, {"team_id": my_teams[0].id if len(my_teams) == 1 else None, "roles": ["volunteer"]}
    if request.method == "POST":
        values = {key: request.form.get(key, "")[:300] for key in ("username", "display_name", "phone")}
        values["team_id"] = form_int("team_id")
        values["roles"] = [role for role in request.form.getlist("roles") if role in ROLES] or ["volunteer"]
        password = request.form.get("password", "")[:300]
        try:
            user = accounts.create_user(session_db, current_user, password=password,
                                        roles=values["roles"],
                                        **{key: values[key] for key in ("username", "display_name", "phone",
                                                                        "team_id")})
            db.commit()
            flash(_("The account %(username)s was created. Give them the password in person.",
                    username=user.username), "ok")
            return redirect(url_for("pages.user_detail", user_id=user.id))
        except DomainError as error:
            session_db.rollback()
            errors = field_errors(error)
            if error.code == "username_taken":
                errors = {"username": str(error.message)}
    return render_template("pages/staff/user_new.html", errors=errors, values=values, teams=my_teams,
                           roles=ROLES), (422 if errors else 200)


def _user_context(person: User, **extra) -> dict:
    session_db = db.get_session()
    team_names = {team.id: team.name for team in teams.list_teams(session_db, current_user)}
    return {"person": person, "roles": ROLES,
            "person_teams": [team_names[tid] for tid in access.team_ids_of(session_db, person.id)
                             if tid in team_names],
            "errors": {}, **extra}


@bp.get("/manage/users/<id:user_id>")
@role_required("coordinator")
def user_detail(user_id: int):
    session_db = db.get_session()
    person = accounts.get_user_for_staff(session_db, current_user, user_id)
    return render_template("pages/staff/user.html", **_user_context(person))


@bp.post("/manage/users/<id:user_id>/<any(roles, disable, enable):action>")
@role_required("admin")
def user_admin_action(user_id: int, action: str):
    session_db = db.get_session()
    try:
        if action == "roles":
            roles = [role for role in request.form.getlist("roles") if role in ROLES]
            person = accounts.set_roles(session_db, current_user, user_id, roles)
            message = _("Roles saved.")
        elif action == "disable":
            person = accounts.disable(session_db, current_user, user_id)
            message = _("The account is disabled. Its sessions have ended.")
        else:
            person = accounts.enable(session_db, current_user, user_id)
            message = _("The account can sign in again.")
        db.commit()
    except DomainError as error:
        session_db.rollback()
        if error.code in ("forbidden", "not_found"):
            raise
        person = access.get_in_station(session_db, User, user_id, current_user, _l("No such user."))
        return render_template("pages/staff/user.html",
                               **_user_context(person, errors=field_errors(error))), 422
    flash(message, "ok")
    return redirect(url_for("pages.user_detail", user_id=person.id))
