"""Sign in, sign out, the language switch, and the user's own page with their API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from churnradar.auth import service as auth_service
from churnradar.auth.ratelimit import LoginThrottle
from churnradar.auth.schemas import AuthError, Scope
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import SESSION_FINGERPRINT, SESSION_LOCALE, SESSION_USER, PrincipalDep, SessionDep
from churnradar.web.i18n import LANGUAGES
from churnradar.web.templating import render

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to return to after login; anything that could leave the site becomes "/"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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
    """Check the password (rate-limited per login and per address) and start a fresh session."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = _client(request)
    context = {"next": safe_next(next), "login": login}
    if throttle.blocked(login, address):
        context["error"] = "blocked"
        return render(request, "login.html", context, status_code=status.HTTP_429_TOO_MANY_REQUESTS)
    user = auth_service.authenticate(session, login=login, password=password)
    if user is None:
        throttle.failed(login, address)
        context["error"] = "invalid"
        return render(request, "login.html", context, status_code=status.HTTP_401_UNAUTHORIZED)
    throttle.succeeded(login)
    locale = auth_service.preferred_locale(session, user.id) or request.session.get(SESSION_LOCALE)
    session.commit()  # a rehashed password
    # A new session on login: nothing set before authentication (a planted CSRF token) carries over.
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_FINGERPRINT] = auth_service.password_fingerprint(user)
    if isinstance(locale, str):
        request.session[SESSION_LOCALE] = locale
    return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout", name="logout")
def logout(request: Request, _principal: PrincipalDep) -> Response:
    """End the session."""
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
