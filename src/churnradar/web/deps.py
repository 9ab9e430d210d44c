"""Request dependencies: a database session, the signed-in principal (pages) or token principal (API)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from churnradar.auth import service as auth_service
from churnradar.auth import sessions as auth_sessions
from churnradar.auth.schemas import Principal, Scope
from churnradar.kit.clock import Clock
from churnradar.models.people import Role
from churnradar.web.client import client_address

SESSION_ID = "sid"
SESSION_LOCALE = "locale"
bearer = HTTPBearer(auto_error=False, description="An API token from `churnradar token create`.")


class LoginRequiredError(Exception):
    """A page was asked for without a valid session; the app answers with a redirect to the login page."""


def db_session(request: Request) -> Iterator[Session]:
    """One database session per request; routes that write commit explicitly.

    `session.info["settings"]` carries the app's settings (and `session.info["clock"]` its clock) to
    registered panels and sections, whose loaders receive only the session and the principal.
    """
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        session.info["settings"] = request.app.state.settings
        session.info["clock"] = clock_of(request)
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def clock_of(request: Request) -> Clock:
    """The app's clock (tests freeze it)."""
    clock: Clock = request.app.state.clock
    return clock


def current_principal(request: Request, session: SessionDep) -> Principal:
    """The signed-in user of a page request (a live server-side session), or LoginRequiredError."""
    secret = request.session.get(SESSION_ID)
    if not isinstance(secret, str):
        raise LoginRequiredError
    principal = auth_sessions.principal(session, secret, now=clock_of(request).now())
    if principal is None:
        request.session.clear()
        raise LoginRequiredError
    principal = replace(principal, source=f"web:{client_address(request)}")
    request.state.principal = principal  # an error page after sign-in keeps the user's menu
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A page dependency admitting only these roles (403 for the others, login for no session)."""

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN)
        return principal

    return dependency


AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def api_principal(scope: Scope) -> Callable[..., Principal]:
    """A dependency admitting API tokens that carry `scope` (401 without a valid token, 403 without scope)."""

    def dependency(
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "an API token is required", challenge)
        principal = auth_service.token_principal(session, credentials.credentials, clock=clock_of(request))
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired API token", challenge)
        session.commit()  # last_used_at
        if not principal.has_scope(scope):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the {scope.value!r} scope")
        return replace(principal, source=f"api:{client_address(request)}")

    return dependency


ReadPrincipal = Annotated[Principal, Depends(api_principal(Scope.READ))]
IngestPrincipal = Annotated[Principal, Depends(api_principal(Scope.INGEST))]


def admin_token(principal: Annotated[Principal, Depends(api_principal(Scope.ADMIN))]) -> Principal:
    """A token with the admin scope whose user is an admin (the scope alone is not enough)."""
    if principal.role != Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this user's role may not do this")
    return principal


AdminToken = Annotated[Principal, Depends(admin_token)]
