"""Coordinator and admin pages: the Manage hub, approvals, teams and members, users.

Every rule lives in the services; these views turn forms into service calls. Each action works
as a plain form (POST, then a redirect back with a message) and as an htmx request (the changed
row or section comes back in place).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import db
from ...errors import DomainError
from ...services import access, accounts, signin_links, teams, units
from ...web import htmx
from ..nav import manage_links
from ..params import arg_page
from . import bp
from .common import field_errors, flash_and_redirect, form_int, render, role_required, unit_of_work
from ..params import form_id

ROLES, USER_STATUSES = accounts.ROLES, accounts.USER_STATUSES

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
            "admin": _("Administrator"), "county_admin": _("County administrator"),
            "police_assistant": _("Police assistant")}.get(role, role)


def _grantable_roles() -> tuple[str, ...]:
    """The roles the signed-in admin may give: county_admin only by a county_admin."""
    return ROLES if current_user.is_county_admin else tuple(role for role in ROLES if role != "county_admin")


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


def _decision_answer(user, message: str | None, error: str | None = None):
    if _is_partial():
        return render_template("pages/staff/_approval_row.html", user=user, message=message, error=error,
                               teams=teams.managed_teams(db.get_session(), current_user))
    flash(error or message, "error" if error else "ok")
    return redirect(url_for("pages.approvals"))


def _decision_refused(failure: DomainError, user_id: int, decision: str):
    """Shown in place: e.g. a team the coordinator does not lead."""
    user = accounts.person(db.get_session(), current_user, user_id)
    return _decision_answer(user, None, str(failure.message))


@bp.post("/manage/approvals/<id:user_id>/<any(approve, reject):decision>")
@role_required("coordinator")
@unit_of_work(on_error=_decision_refused)
def decide_registration(user_id: int, decision: str):
    session_db = db.get_session()
    team_id = form_int("team_id")
    team = None
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
    return lambda: _decision_answer(user, message)


# -- teams ----------------------------------------------------------------------------------------

def _teams_page(errors: dict | None = None, values: dict | None = None):
    session_db = db.get_session()
    rows = teams.managed_teams(session_db, current_user)
    counts = teams.member_counts(session_db, [team.id for team in rows])
    return render_template("pages/staff/teams.html", teams=rows, counts=counts, errors=errors or {},
                           values=values or {}), (422 if errors else 200)


def _team_values() -> dict:
    return {"name": request.form.get("name", "")[:200], "description": request.form.get("description", "")[:2000]}


def _team_refused(error: DomainError):
    errors = {"name": str(error.message)} if error.code == "name_taken" else field_errors(error)
    return _teams_page(errors, _team_values())


@bp.route("/manage/teams", methods=["GET", "POST"], endpoint="teams")
@role_required("coordinator")
@unit_of_work(on_error=_team_refused, error_page=("forbidden",))
def teams_list():
    if request.method == "POST":
        team = teams.create_team(db.get_session(), current_user, **_team_values())
        flash(_("Team %(name)s was created.", name=team.name), "ok")
        return redirect(url_for("pages.team", team_id=team.id))
    return _teams_page()


def _team_context(team, *, q: str = "", errors=None, message=None, values=None) -> dict:
    session_db = db.get_session()
    rows = sorted(teams.members(session_db, team.id), key=lambda pair: pair[1].role != "coordinator")
    unit_rows = units.list_units(session_db, current_user, team.id)
    return {
        "team": team,
        "units": unit_rows,
        "unit_info": units.summaries(session_db, unit_rows),
        "unit_names": {unit.id: unit.name for unit in unit_rows},
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


def _member_values() -> dict:
    return {"username": request.form.get("username", "")[:64], "role": request.form.get("role", "member")}


def _members_answer(row, *, errors=None, message=None, values=None):
    q = request.form.get("q", "").strip()[:64]
    if _is_partial():
        return render_template("pages/staff/_team_members.html",
                               **_team_context(row, q=q, errors=errors, message=message, values=values))
    if errors:
        return render_template("pages/staff/team.html",
                               **_team_context(row, q=q, errors=errors, values=values)), 422
    flash(message, "ok")
    return redirect(url_for("pages.team", team_id=row.id, q=q or None))


def _member_refused(error: DomainError, team_id: int):
    row = teams.team_for_manager(db.get_session(), current_user, team_id)  # refused again if that was why
    errors = field_errors(error)
    if "user_id" in errors:
        errors["username"] = errors.pop("user_id")
    return _members_answer(row, errors=errors, values=_member_values())


@bp.post("/manage/teams/<id:team_id>/members")
@role_required("coordinator")
@unit_of_work(on_error=_member_refused, error_page=("forbidden",))
def team_add_member(team_id: int):
    """Add by username (typed) or by user id (from the search), as member or coordinator."""
    session_db = db.get_session()
    row = teams.team_for_manager(session_db, current_user, team_id)
    values = _member_values()
    user_id = form_int("user_id")
    if user_id is not None:
        membership = teams.add_member(session_db, current_user, row.id, user_id, values["role"])
    else:
        membership = teams.add_member_by_username(session_db, current_user, row.id, values["username"],
                                                  values["role"])
    added = accounts.person(session_db, current_user, membership.user_id)
    message = _("%(name)s is now in the team.", name=added.display_name)
    return lambda: _members_answer(row, message=message, values={"role": "member"})


def _member_row_answer(row, person, *, message=None, error=None):
    if _is_partial():
        unit_rows = units.list_units(db.get_session(), current_user, row.id)
        return render_template("pages/staff/_member_row.html", team=row, user=person, units=unit_rows,
                               unit_names={unit.id: unit.name for unit in unit_rows},
                               membership=teams.membership_of(db.get_session(), row.id, person.id),
                               message=message, error=error)
    flash(error or message, "error" if error else "ok")
    return redirect(url_for("pages.team", team_id=row.id))


def _member_action_refused(failure: DomainError, team_id: int, user_id: int, action: str):
    session_db = db.get_session()
    row = teams.team_for_manager(session_db, current_user, team_id)  # refused again if that was why
    person = accounts.person(session_db, current_user, user_id)
    return _member_row_answer(row, person, error=str(failure.message))


@bp.post("/manage/teams/<id:team_id>/members/<id:user_id>/<any(coordinator, member, remove):action>")
@role_required("coordinator")
@unit_of_work(on_error=_member_action_refused, error_page=("forbidden",))
def team_member_action(team_id: int, user_id: int, action: str):
    session_db = db.get_session()
    row = teams.team_for_manager(session_db, current_user, team_id)
    person = accounts.person(session_db, current_user, user_id)
    if action == "remove":
        teams.remove_member(session_db, current_user, row.id, person.id)
        message = _("%(name)s was removed from the team.", name=person.display_name)
    else:
        teams.add_member(session_db, current_user, row.id, person.id, action)
        message = (_("%(name)s is now a coordinator of this team.", name=person.display_name)
                   if action == "coordinator" else
                   _("%(name)s is now a member of this team.", name=person.display_name))
    return lambda: _member_row_answer(row, person, message=message)


# -- sub-units (分队) -------------------------------------------------------------------------------

def _back_to_team(team_id: int, *_args, **_kwargs) -> str:
    return url_for("pages.team", team_id=team_id, _anchor="units")


@bp.post("/manage/teams/<id:team_id>/units")
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(_back_to_team), error_page=("forbidden", "not_found"))
def unit_create(team_id: int):
    unit = units.create_unit(db.get_session(), current_user, team_id, name=request.form.get("name", "")[:200])
    flash(_("Sub-unit %(name)s was created.", name=unit.name), "ok")
    return redirect(_back_to_team(team_id))


def _unit_back(error: DomainError, unit_id: int, **_kwargs):
    unit = units.get_unit(db.get_session(), current_user, unit_id)  # refused again if that was why
    return flash_and_redirect(lambda *_a: _back_to_team(unit.team_id))(error)


@bp.post("/manage/units/<id:unit_id>/<any(rename, delete):action>")
@role_required("coordinator")
@unit_of_work(on_error=_unit_back, error_page=("forbidden", "not_found"))
def unit_action(unit_id: int, action: str):
    session_db = db.get_session()
    unit = units.get_unit(session_db, current_user, unit_id)
    team_id, name = unit.team_id, unit.name
    if action == "rename":
        unit = units.update_unit(session_db, current_user, unit_id, name=request.form.get("name", "")[:200])
        flash(_("The sub-unit is now called %(name)s.", name=unit.name), "ok")
    else:
        units.delete_unit(session_db, current_user, unit_id)
        flash(_("Sub-unit %(name)s was deleted; its members stay in the team.", name=name), "ok")
    return redirect(_back_to_team(team_id))


@bp.post("/manage/teams/<id:team_id>/members/<id:user_id>/unit")
@role_required("coordinator")
@unit_of_work(on_error=flash_and_redirect(_back_to_team), error_page=("forbidden", "not_found"))
def unit_assign(team_id: int, user_id: int):
    session_db = db.get_session()
    row = units.assign_member(session_db, current_user, team_id, user_id, form_id("unit_id"),
                              leader=request.form.get("leader") == "1")
    person = accounts.person(session_db, current_user, user_id)
    flash(_("%(name)s's sub-unit was saved.", name=person.display_name), "ok")
    return redirect(url_for("pages.team", team_id=team_id, _anchor=f"member-{row.user_id}"))


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


def _new_user_page(errors: dict | None = None, values: dict | None = None):
    my_teams = teams.managed_teams(db.get_session(), current_user)
    values = values or {"team_id": my_teams[0].id if len(my_teams) == 1 else None, "roles": ["volunteer"]}
    return render_template("pages/staff/user_new.html", errors=errors or {}, values=values, teams=my_teams,
                           roles=_grantable_roles()), (422 if errors else 200)


def _new_user_values() -> dict:
    values = {key: request.form.get(key, "")[:300] for key in ("username", "display_name", "phone")}
    values["team_id"] = form_int("team_id")
    values["roles"] = [role for role in request.form.getlist("roles") if role in ROLES] or ["volunteer"]
    return values


def _new_user_refused(error: DomainError):
    errors = {"username": str(error.message)} if error.code == "username_taken" else field_errors(error)
    return _new_user_page(errors, _new_user_values())


@bp.route("/manage/users/new", methods=["GET", "POST"])
@role_required("coordinator")
@unit_of_work(on_error=_new_user_refused)
def user_new():
    if request.method == "POST":
        values = _new_user_values()
        user = accounts.create_user(db.get_session(), current_user, password=request.form.get("password", "")[:300],
                                    roles=values["roles"],
                                    **{key: values[key] for key in ("username", "display_name", "phone", "team_id")})
        flash(_("The account %(username)s was created. Give them the password in person.",
                username=user.username), "ok")
        return redirect(url_for("pages.user_detail", user_id=user.id))
    return _new_user_page()


def _user_context(person, **extra) -> dict:
    session_db = db.get_session()
    team_names = {team.id: team.name for team in teams.list_teams(session_db, current_user)}
    return {"person": person, "roles": _grantable_roles(),
            "person_teams": [team_names[tid] for tid in access.team_ids_of(session_db, person.id)
                             if tid in team_names],
            "may_issue_code": person.status == "active" and signin_links.may_issue(session_db, current_user, person),
            "errors": {}, **extra}


@bp.get("/manage/users/<id:user_id>")
@role_required("coordinator")
def user_detail(user_id: int):
    session_db = db.get_session()
    person = accounts.get_user_for_staff(session_db, current_user, user_id)
    return render_template("pages/staff/user.html", **_user_context(person))


def _user_action_refused(error: DomainError, user_id: int, action: str):
    person = accounts.person(db.get_session(), current_user, user_id)
    return render_template("pages/staff/user.html", **_user_context(person, errors=field_errors(error))), 422


@bp.post("/manage/users/<id:user_id>/<any(roles, disable, enable):action>")
@role_required("admin")
@unit_of_work(on_error=_user_action_refused, error_page=("forbidden", "not_found"))
def user_admin_action(user_id: int, action: str):
    session_db = db.get_session()
    if action == "roles":
        roles = [role for role in request.form.getlist("roles") if role in ROLES]
        person = accounts.set_roles(session_db, current_user, user_id, roles,
                                    area=request.form.get("area", "")[:200] if "area" in request.form else None)
        message = _("Roles saved.")
    elif action == "disable":
        person = accounts.disable(session_db, current_user, user_id)
        message = _("The account is disabled. Its sessions have ended.")
    else:
        person = accounts.enable(session_db, current_user, user_id)
        message = _("The account can sign in again.")
    flash(message, "ok")
    return redirect(url_for("pages.user_detail", user_id=person.id))
