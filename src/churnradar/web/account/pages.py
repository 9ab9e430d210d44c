"""Sign in, sign out, the language switch, and the user's own page with their API tokens."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from churnradar.auth import service as auth_service
from churnradar.auth import sessions as auth_sessions
from churnradar.auth.exceptions import AuthError
from churnradar.auth.ratelimit import Attempt, LoginThrottle
from churnradar.auth.schemas import Scope
from churnradar.config import WebSettings
from churnradar.web.client import client_address, remember_device, trusted_device
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import SESSION_ID, SESSION_LOCALE, PrincipalDep, SessionDep, clock_of
from churnradar.web.i18n import LANGUAGES
from churnradar.web.templating import render

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to return to after login; anything that could leave the site becomes "/"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/login", name="login")
def login_page(request: Request, next: str = "/", lang: str | None = None) -> Response:
    """The sign-in form (`?lang=zh_CN` switches its language)."""
    if lang in LANGUAGES:
        request.session[SESSION_LOCALE] = lang
    return render(request, "login.html", {"next": safe_next(next), "error": None, "login": ""})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    login: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (slowed after repeated failures, see auth.ratelimit) and start a new session."""
    throttle: LoginThrottle = request.app.state.login_throttle
    options: WebSettings = request.app.state.settings.web
    address = client_address(request)
    attempt = Attempt(login, address, trusted_device(request, login))
    context: dict[str, Any] = {"next": safe_next(next), "login": login}
    if (wait := throttle.wait(attempt)) > 0:
        context["error"] = "blocked"
        context["wait_seconds"] = math.ceil(wait)
        refused = render(request, "login.html", context, status_code=status.HTTP_429_TOO_MANY_REQUESTS)
        refused.headers["Retry-After"] = str(math.ceil(wait))
        return refused
    now = clock_of(request).now()
    source = f"web:{address}"
    user = auth_service.authenticate(session, login=login, password=password)
    if user is None:
        throttle.failed(attempt)
        auth_service.record_login(session, login, user_id=None, ok=False, at=now, source=source)
        session.commit()
        context["error"] = "invalid"
        return render(request, "login.html", context, status_code=status.HTTP_401_UNAUTHORIZED)
    throttle.succeeded(attempt)
    locale = auth_service.preferred_locale(session, user.id) or request.session.get(SESSION_LOCALE)
    secret = auth_sessions.start(
        session, user, now=now, lifetime=timedelta(hours=options.session_hours), source=source
    )
    session.commit()  # the session, the audit entry and a rehashed password
    # A new session on login: nothing set before authentication (a planted CSRF token) carries over.
    request.session.clear()
    request.session[SESSION_ID] = secret
    if isinstance(locale, str):
        request.session[SESSION_LOCALE] = locale
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    remember_device(request, response, user.login)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, principal: PrincipalDep, session: SessionDep) -> Response:
    """End the session on the server too: a copy of the cookie stops working."""
    secret = request.session.get(SESSION_ID)
    if isinstance(secret, str):
        auth_sessions.end(session, secret, now=clock_of(request).now(), actor=principal)
        session.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/language", name="language")
def language(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    locale: Annotated[str, Form(max_length=16)],
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Switch the interface language and remember it for this user."""
    if locale in LANGUAGES:
        auth_service.choose_locale(session, principal, locale)
        session.commit()
        request.session[SESSION_LOCALE] = locale
    return RedirectResponse(safe_next(back), status_code=status.HTTP_303_SEE_OTHER)


@router.get("/account", name="account")
def account(request: Request, principal: PrincipalDep, session: SessionDep) -> Response:
    """The signed-in user's own page: who they are and their API tokens."""
    context = {"tokens": auth_service.list_tokens(session, principal.user_id), "secret": None, "error": None}
    return render(request, "account.html", context | {"scopes": list(Scope)}, principal=principal)


@router.post("/account/tokens", name="account_token_create")
def create_token(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_days: Annotated[int | None, Form(ge=1, le=3650)] = None,
) -> Response:
    """Create an API token acting as the signed-in user; its secret is shown on this response only."""
    secret, error = None, None
    try:
        _, secret = auth_service.create_token(
            session,
            login=principal.login,
            scopes=auth_service.parse_scopes(scopes or []),
            name=name.strip(),
            expires_in=timedelta(days=expires_days) if expires_days else None,
            actor=principal,
        )
        session.commit()
    except AuthError as exc:
        error = str(exc)
    context = {
        "tokens": auth_service.list_tokens(session, principal.user_id),
        "secret": secret,
        "error": error,
    }
    code = status.HTTP_200_OK if error is None else status.HTTP_400_BAD_REQUEST
    return render(
        request, "account.html", context | {"scopes": list(Scope)}, principal=principal, status_code=code
    )


@router.post("/account/tokens/{token_id}/revoke", name="account_token_revoke")
def revoke_token(request: Request, principal: PrincipalDep, session: SessionDep, token_id: int) -> Response:
    """Revoke one of the signed-in user's own tokens (someone else's token is "not found")."""
    if not auth_service.revoke_token(session, token_id, owner_id=principal.user_id, actor=principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    session.commit()
    return RedirectResponse("/account", status_code=status.HTTP_303_SEE_OTHER)
