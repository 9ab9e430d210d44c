"""The web app factory: pages (session cookie + CSRF) and the REST API (scoped tokens) on one FastAPI app."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churnradar import __version__
from churnradar.auth.ratelimit import LoginThrottle
from churnradar.config import Settings, WebSettings
from churnradar.db import session_factory
from churnradar.indicator import service as indicator_service
from churnradar.kit.clock import Clock, SystemClock
from churnradar.rule import service as rule_service
from churnradar.web import errors
from churnradar.web.account import pages as account_pages
from churnradar.web.admin import audit as audit_api
from churnradar.web.admin import pages as admin_pages
from churnradar.web.admin import router as people_api
from churnradar.web.cache import TtlCache
from churnradar.web.client import parse_networks
from churnradar.web.csrf import CsrfError
from churnradar.web.customers import pages as customer_pages
from churnradar.web.customers import router as customer_api
from churnradar.web.datahealth import pages as datahealth_pages  # noqa: F401 (registers its overview panel)
from churnradar.web.deps import LoginRequiredError, ReadPrincipal
from churnradar.web.effectiveness import pages as effectiveness_pages
from churnradar.web.effectiveness import panels as effectiveness_panels  # noqa: F401 (registers its panel)
from churnradar.web.effectiveness import router as effectiveness_api
from churnradar.web.events import router as event_api
from churnradar.web.fields import pages as field_pages
from churnradar.web.fields import router as field_api
from churnradar.web.health import router as health_api
from churnradar.web.indicators import pages as indicator_pages
from churnradar.web.indicators import router as indicator_api
from churnradar.web.overview import pages as overview_pages
from churnradar.web.overview import router as overview_api
from churnradar.web.requests import RequestIds
from churnradar.web.risk import pages as risk_pages
from churnradar.web.risk import router as risk_api
from churnradar.web.rules import editor as rule_editor
from churnradar.web.rules import pages as rule_pages
from churnradar.web.rules import router as rule_api
from churnradar.web.settings import pages as settings_pages
from churnradar.web.settings import router as settings_api
from churnradar.web.silences import router as silence_api
from churnradar.web.sources import pages as source_pages
from churnradar.web.sources import router as source_api
from churnradar.web.tasks import pages as task_pages
from churnradar.web.tasks import router as task_api
from churnradar.web.templating import render

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "churnradar_session"
# Scripts only from this origin (htmx and ECharts are vendored); data for charts travels as JSON, not code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the security headers to every response (pure ASGI: no buffering of streamed exports)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequiredError)
    async def login_required(request: Request, _exc: LoginRequiredError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = app.url_path_for("login") + "?" + urlencode({"next": target})
        if request.headers.get("hx-request") == "true":
            # htmx swaps responses into the page; ask it to navigate instead.
            return Response(status_code=status.HTTP_401_UNAUTHORIZED, headers={"HX-Redirect": login})
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(login, status_code=status.HTTP_303_SEE_OTHER)
        return Response("sign in first", status_code=status.HTTP_401_UNAUTHORIZED)

    @app.exception_handler(CsrfError)
    async def csrf_refused(request: Request, _exc: CsrfError) -> Response:
        return render(
            request, "error.html", {"code": 403, "reason": "csrf"}, status_code=status.HTTP_403_FORBIDDEN
        )

    errors.install(app)


def _api_router(app: FastAPI) -> APIRouter:
    api = APIRouter(prefix=errors.API_PREFIX)
    api.include_router(customer_api.router)
    api.include_router(event_api.router)
    api.include_router(risk_api.router)
    api.include_router(rule_api.router)
    api.include_router(silence_api.router)
    api.include_router(task_api.router)
    api.include_router(people_api.router)
    api.include_router(audit_api.router)
    api.include_router(overview_api.router)
    api.include_router(settings_api.router)
    api.include_router(source_api.router)
    api.include_router(indicator_api.router)
    api.include_router(field_api.router)
    api.include_router(effectiveness_api.router)

    @api.get("/openapi.json", include_in_schema=False)
    def openapi(_principal: ReadPrincipal) -> dict[str, Any]:
        """The OpenAPI document of this API (a token with the read scope is required)."""
        return app.openapi()

    return api


def create_app(
    settings: Settings, engine: Engine, web: WebSettings | None = None, *, clock: Clock | None = None
) -> FastAPI:
    """The churnradar web app over `engine`, signing cookies with the settings' secret key.

    `web` replaces `settings.web` (tests' small limits); the app and its routes read `settings.web` only.
    `clock` is "now" for sessions, tokens and the figures that depend on it; tests freeze it.
    """
    if web is not None:
        settings = settings.model_copy(update={"web": web})
    options = settings.web
    # FastAPI's own /docs would load Swagger UI from a CDN; the document is served under the API instead.
    app = FastAPI(
        title="churnradar",
        version=__version__,
        description="Customer churn early warning: customers, events and bulk ingestion. "
        "Authenticate with `Authorization: Bearer <token>` (`churnradar token create LOGIN --scopes read`).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    indicator_service.use_store(engine)
    rule_service.use_store(engine)
    app.state.sessions = session_factory(engine)
    app.state.cache = TtlCache(options.cache_seconds)
    app.state.clock = clock or SystemClock()
    app.state.trusted_proxies = parse_networks(options.trusted_proxies)
    app.state.login_throttle = LoginThrottle.build(
        per_pair=options.login_failures_per_pair,
        per_address=options.login_failures_per_address,
        per_login=options.login_failures_per_login,
        per_device=options.login_failures_per_device,
        max_delay=options.login_max_delay_seconds,
    )

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=options.session_hours * 3600,
        same_site="lax",
        https_only=options.secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestIds)  # outermost: its id is on every line logged while serving
    _install_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for pages in (account_pages, overview_pages, customer_pages, admin_pages, task_pages):
        app.include_router(pages.router)
    app.include_router(rule_editor.router)  # before the pages: /rules/new is not a rule's id
    app.include_router(rule_pages.router)
    app.include_router(field_pages.router)
    app.include_router(indicator_pages.router)
    app.include_router(settings_pages.router)
    app.include_router(source_pages.router)
    app.include_router(effectiveness_pages.router)
    app.include_router(risk_pages.router)
    app.include_router(_api_router(app))
    app.include_router(health_api.router)
    return app


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the app answers, flattened through included routers (for audits and tests)."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x keeps included routers nested
    except ImportError:  # older FastAPI: app.routes is already flat
        return [(r.path, frozenset(getattr(r, "methods", None) or ())) for r in app.routes]  # type: ignore[attr-defined]
    return [(c.path or "", frozenset(c.methods or ())) for c in iter_route_contexts(app.routes)]
