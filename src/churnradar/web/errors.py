"""Domain refusals mapped to HTTP once: routes raise, this answers (JSON for the API, else a page).

A domain exception becomes the HTTPException it stands for and takes the same path as one raised by hand,
so the API answers `{"detail": ...}` with the status below and a page shows the error page. The API's
`detail` is in the reader's language (the session's, else Accept-Language, else English), through the one
catalog: a domain refusal's message rendered, a fixed text translated; its shape stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from churnradar import i18n
from churnradar.customer.exceptions import CustomerNotFoundError, OwnerChangeError
from churnradar.field.exceptions import (
    FieldDefinitionError,
    FieldInUseError,
    FieldNotFoundError,
    FieldPermissionError,
    FieldValueError,
)
from churnradar.indicator.exceptions import DefinitionError, IndicatorInUseError, IndicatorNotFoundError
from churnradar.intervention.exceptions import TaskError
from churnradar.notification.exceptions import ChannelConfigError
from churnradar.rule.exceptions import TemplateSettingsError
from churnradar.source.exceptions import SourceDefinitionError, SourceError, SourceNotFoundError
from churnradar.web.i18n import N_, negotiate
from churnradar.web.tasks.service import NotAllowedError, TaskNotFoundError
from churnradar.web.templating import render, request_locale

API_PREFIX = "/api/v1"


def _owner_refusal(exc: OwnerChangeError) -> i18n.Localized:
    chinese = i18n.translations("zh_CN").gettext(exc.msgid) % exc.values
    return i18n.Localized(exc.message, chinese)


Answer = Callable[[Any], tuple[int, Any]]

# Each refusal: its HTTP status and the `detail` the API answers with.
ERRORS: dict[type[Exception], Answer] = {
    CustomerNotFoundError: lambda _exc: (status.HTTP_404_NOT_FOUND, "no such customer"),
    OwnerChangeError: lambda exc: (exc.status_code, _owner_refusal(exc)),
    TaskError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, getattr(exc, "text", str(exc))),
    ChannelConfigError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, exc.text),
    TemplateSettingsError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)),
    TaskNotFoundError: lambda _exc: (status.HTTP_404_NOT_FOUND, "no such task"),
    NotAllowedError: lambda exc: (status.HTTP_403_FORBIDDEN, str(exc)),
    SourceNotFoundError: lambda _exc: (status.HTTP_404_NOT_FOUND, "no such source"),
    SourceDefinitionError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)),
    SourceError: lambda exc: (status.HTTP_409_CONFLICT, str(exc)),  # busy, or its secrets unreadable
    IndicatorNotFoundError: lambda _exc: (status.HTTP_404_NOT_FOUND, "no such indicator"),
    IndicatorInUseError: lambda exc: (status.HTTP_409_CONFLICT, {"message": str(exc), "rules": exc.rules}),
    DefinitionError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)[:2000]),
    FieldNotFoundError: lambda exc: (status.HTTP_404_NOT_FOUND, str(exc)),
    FieldInUseError: lambda exc: (status.HTTP_409_CONFLICT, {"message": str(exc), "rules": exc.rules}),
    FieldDefinitionError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)[:2000]),
    FieldValueError: lambda exc: (status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)),
    FieldPermissionError: lambda exc: (status.HTTP_403_FORBIDDEN, str(exc)),
}

# The API's fixed refusals, translated where they are answered (texts with values in them stay English).
API_DETAILS = (
    N_("no such customer"),
    N_("no such task"),
    N_("no such source"),
    N_("no such indicator"),
    N_("no such rule"),
    N_("no such version"),
    N_("no such user"),
    N_("no such silence"),
    N_("no such route"),
    N_("no such playbook"),
    N_("no such choice"),
    N_("no such channel"),
    N_("no stored playbook"),
    N_("no stored notification routing"),
    N_("no stored channel"),
    N_("no records"),
    N_("an API token is required"),
    N_("invalid or expired API token"),
    N_("this user's role may not do this"),
    N_("only admins may send users"),
    N_("the effectiveness report is for managers and up"),
    N_("the body is not UTF-8"),
    N_("the body's slug differs from the path's"),
    N_("the body's name differs from the path's"),
)


def in_language(detail: Any, locale: str) -> Any:
    """An API `detail` in `locale`, of the same shape: a message rendered, a catalog text translated, the
    `message` of a structured detail too; anything else as it is."""
    if isinstance(detail, i18n.Message | i18n.Localized):
        return detail.render(locale)
    if isinstance(detail, str):
        return i18n.translations(i18n.normalize(locale)).gettext(detail) if detail else detail
    if isinstance(detail, dict) and "message" in detail:
        return {**detail, "message": in_language(detail["message"], locale)}
    return detail


def is_api(request: Request) -> bool:
    """True for the REST API's paths (answered in JSON)."""
    return request.url.path.startswith(API_PREFIX)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """An HTTP error as JSON for the API (and static files), as the error page otherwise."""
    if is_api(request) or request.url.path.startswith("/static"):
        # The session's language where there is a session (a signed-in browser), else Accept-Language.
        locale = (
            request_locale(request)
            if "session" in request.scope
            else negotiate(request.headers.get("accept-language"))
        )
        detail = in_language(exc.detail, locale)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
    principal = getattr(request.state, "principal", None)  # signed in: the page keeps the user's menu
    return render(
        request,
        "error.html",
        {"code": exc.status_code, "reason": None},
        principal=principal,
        status_code=exc.status_code,
    )


async def domain_error(request: Request, exc: Exception) -> Response:
    """A domain refusal answered as the HTTPException it maps to."""
    for kind in type(exc).__mro__:
        answer = ERRORS.get(kind)
        if answer is not None:
            code, detail = answer(exc)
            return await http_error(request, StarletteHTTPException(code, detail))
    raise exc  # not a mapped refusal (unreachable: handlers are installed for ERRORS' types only)


def install(app: FastAPI) -> None:
    """Register the HTTP error answer and every domain refusal of `ERRORS` on `app`."""
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    for kind in ERRORS:
        app.add_exception_handler(kind, domain_error)
