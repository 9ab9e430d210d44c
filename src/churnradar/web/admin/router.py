"""REST API for people: users (list, create, change) and teams (list, create); admins' tokens only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.exceptions import AuthError
from churnradar.models.people import Role, User
from churnradar.web.deps import AdminToken, SessionDep

router = APIRouter(tags=["people"])
REFUSED: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Refused (login or team exists, weak password, unknown manager, a phone number not "
        "in E.164 form); nothing changed."
    },
    403: {"description": "Needs a token with the admin scope, of an admin."},
}


class UserRead(BaseModel):
    """A user as the users page lists them."""

    id: int
    login: str
    role: Role
    display_name: str | None
    email: str | None
    phone: str | None
    team: str | None
    manager: str | None
    is_active: bool


class UserCreate(BaseModel):
    """A new user; without a password they cannot sign in until `churnradar user set-password`."""

    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=200)
    role: Role
    password: str | None = Field(default=None, max_length=1024)
    team: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="E.164, like +8613800138000.")
    display_name: str | None = Field(default=None, max_length=200)
    manager: str | None = Field(default=None, max_length=200)


class UserChange(BaseModel):
    """A user's role, team, manager and whether they may sign in (all given, as the page's form does);
    the phone number changes only when given (null removes it)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    team: str | None = Field(default=None, max_length=200)
    manager: str | None = Field(default=None, max_length=200)
    is_active: bool
    phone: str | None = Field(default=None, max_length=32, description="E.164; left as it is when omitted.")


class TeamCreate(BaseModel):
    """A new team."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


def _read(user: User, team: str | None, manager: str | None) -> UserRead:
    return UserRead(
        id=user.id,
        login=user.login,
        role=Role(user.role),
        display_name=user.display_name,
        email=user.email,
        phone=user.phone,
        team=team,
        manager=manager,
        is_active=user.is_active,
    )


def _user(session: Session, login: str) -> UserRead:
    return next(_read(*row) for row in auth_service.list_users(session) if row[0].login == login)


def _refused(session: Session, exc: AuthError) -> HTTPException:
    session.rollback()
    return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))


@router.get("/users", response_model=list[UserRead], responses=REFUSED, summary="List users")
def list_users(_principal: AdminToken, session: SessionDep) -> list[UserRead]:
    """Every user with role, team and manager, by login."""
    return [_read(*row) for row in auth_service.list_users(session)]


@router.post("/users", response_model=UserRead, status_code=201, responses=REFUSED, summary="Create a user")
def create_user(principal: AdminToken, session: SessionDep, body: UserCreate) -> UserRead:
    """Create a user (audited); the password, when given, must pass the strength check."""
    try:
        user = auth_service.create_user(session, **body.model_dump(), actor=principal)
        session.commit()
    except AuthError as exc:
        raise _refused(session, exc) from None
    return _user(session, user.login)


@router.put(
    "/users/{user_id}",
    response_model=UserRead,
    responses={**REFUSED, 404: {"description": "No such user."}},
    summary="Change a user",
)
def change_user(principal: AdminToken, session: SessionDep, user_id: int, body: UserChange) -> UserRead:
    """Change role, team, manager or active flag (audited with each old and new value)."""
    if auth_service.get_user(session, user_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    try:
        change = body.model_dump(exclude={"phone"})
        phone = body.phone if "phone" in body.model_fields_set else ...
        user = auth_service.update_user(session, user_id, **change, phone=phone, actor=principal)
        session.commit()
    except AuthError as exc:
        raise _refused(session, exc) from None
    return _user(session, user.login)


@router.get("/teams", response_model=list[str], responses=REFUSED, summary="List teams")
def list_teams(_principal: AdminToken, session: SessionDep) -> list[str]:
    """Every team name, sorted."""
    return auth_service.list_team_names(session)


@router.post("/teams", status_code=201, responses=REFUSED, summary="Create a team")
def create_team(principal: AdminToken, session: SessionDep, body: TeamCreate) -> dict[str, str]:
    """Create a team (audited)."""
    try:
        team = auth_service.create_team(session, body.name, actor=principal)
        session.commit()
    except AuthError as exc:
        raise _refused(session, exc) from None
    return {"name": team.name}
