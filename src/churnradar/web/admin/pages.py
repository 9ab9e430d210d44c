"""Administration (admins only): users and teams, their roles, managers and access, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.exceptions import AuthError
from churnradar.auth.schemas import Principal
from churnradar.models.people import Role, User
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep, SessionDep
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.templating import render

router = APIRouter(prefix="/admin", dependencies=[Depends(require_csrf)], include_in_schema=False)
ADMINS = frozenset({Role.ADMIN})
nav_items.add("users", NavItem("users", N_("Users"), "/admin/users", order=80, roles=ADMINS))
nav_items.add("audit", NavItem("audit", N_("Audit log"), "/admin/audit", order=90, roles=ADMINS))

Text = Annotated[str, Form(max_length=200)]


def _blank(value: str) -> str | None:
    return value.strip() or None


def _team_rows(teams: list[str], users: list[tuple[User, str | None, str | None]]) -> list[dict[str, Any]]:
    """Each team with its active members and managers (from the user list, no second query)."""
    rows = []
    for name in teams:
        members = [u for u, team, _boss in users if team == name and u.is_active]
        managers = [u.login for u in members if u.role == Role.MANAGER.value]
        rows.append({"name": name, "members": len(members), "managers": managers})
    return rows


def _users_page(
    request: Request, session: Session, principal: Principal, *, error: str | None = None, code: int = 200
) -> Response:
    users = auth_service.list_users(session)
    teams = auth_service.list_team_names(session)
    context: dict[str, Any] = {
        "users": users,
        "teams": teams,
        "team_rows": _team_rows(teams, users),
        "roles": list(Role),
        "error": error,
    }
    return render(request, "admin/users.html", context, principal=principal, status_code=code)


@router.get("/users", name="admin_users")
def users(request: Request, principal: AdminDep, session: SessionDep) -> Response:
    """Every user with role, team and manager, and a form for a new one."""
    return _users_page(request, session, principal)


@router.post("/users", name="admin_user_create")
def create_user(
    request: Request,
    principal: AdminDep,
    session: SessionDep,
    login: Text,
    role: Annotated[Role, Form()],
    password: Annotated[str, Form(max_length=1024)],
    team: Text = "",
    email: Annotated[str, Form(max_length=320)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    display_name: Text = "",
    manager: Text = "",
) -> Response:
    """Create a user; the audit log records who did it."""
    try:
        auth_service.create_user(
            session,
            login=login,
            role=role,
            password=password,
            team=_blank(team),
            email=_blank(email),
            phone=_blank(phone),
            display_name=_blank(display_name),
            manager=_blank(manager),
            actor=principal,
        )
        session.commit()
    except AuthError as exc:
        session.rollback()
        return _users_page(request, session, principal, error=str(exc), code=status.HTTP_400_BAD_REQUEST)
    return RedirectResponse("/admin/users", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/users/{user_id}", name="admin_user_update")
def update_user(
    request: Request,
    principal: AdminDep,
    session: SessionDep,
    user_id: int,
    role: Annotated[Role, Form()],
    team: Text = "",
    manager: Text = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    is_active: Annotated[bool, Form()] = False,
) -> Response:
    """Change a user's role, team, manager, phone number or whether they may sign in."""
    if auth_service.get_user(session, user_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    try:
        auth_service.update_user(
            session,
            user_id,
            role=role,
            team=_blank(team),
            manager=_blank(manager),
            phone=_blank(phone),
            is_active=is_active,
            actor=principal,
        )
        session.commit()
    except AuthError as exc:
        session.rollback()
        return _users_page(request, session, principal, error=str(exc), code=status.HTTP_400_BAD_REQUEST)
    return RedirectResponse("/admin/users", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/teams", name="admin_team_create")
def create_team(request: Request, principal: AdminDep, session: SessionDep, name: Text) -> Response:
    """Create a team; the audit log records who did it."""
    try:
        auth_service.create_team(session, name, actor=principal)
        session.commit()
    except AuthError as exc:
        session.rollback()
        return _users_page(request, session, principal, error=str(exc), code=status.HTTP_400_BAD_REQUEST)
    return RedirectResponse("/admin/users#teams", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/audit", name="admin_audit")
def audit(request: Request, principal: AdminDep, session: SessionDep, entity: str | None = None) -> Response:
    """The latest changes: who did what to which user, token, rule or task."""
    entries = auth_service.list_audit(session, entity=entity or None, limit=300)
    return render(request, "admin/audit.html", {"entries": entries, "entity": entity}, principal=principal)
