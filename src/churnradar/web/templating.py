"""Jinja2 rendering with the request's language, formatter, CSRF token and navigation in every template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from churnradar import i18n
from churnradar.auth.schemas import Principal
from churnradar.web.csrf import csrf_token
from churnradar.web.deps import SESSION_LOCALE
from churnradar.web.i18n import LANGUAGES, Formatter, negotiate, translations, value_name
from churnradar.web.nav import visible_nav

environment = Environment(
    loader=PackageLoader("churnradar.web", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


def request_locale(request: Request) -> str:
    """The user's chosen language (kept in the session), else the browser's, else English."""
    chosen = request.session.get(SESSION_LOCALE)
    if isinstance(chosen, str) and chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language"))


class Named(Protocol):
    """Anything people named in both languages (a template, ...)."""

    @property
    def name_en(self) -> str: ...

    @property
    def name_zh(self) -> str: ...


def names_by_slug(request: Request, named: Mapping[str, Named]) -> dict[str, str]:
    """Each slug's name as the reader reads it (their language, else English), for pages that show names."""
    locale = request_locale(request)
    return {slug: i18n.Localized(n.name_en, n.name_zh).render(locale) for slug, n in named.items()}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render `template` with what every page needs; `_` translates into the request's language."""
    locale = request_locale(request)
    catalog = translations(locale)
    values: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "locale": locale,
        "languages": LANGUAGES,
        "gettext": catalog.gettext,
        "ngettext": catalog.ngettext,
        "pgettext": catalog.pgettext,
        "value_name": lambda value: value_name(value, catalog),
        "_": catalog.gettext,
        # A domain's text value (a catalog message with parameters, or data in both languages) in the
        # reader's language.
        "localize": lambda text: i18n.render(text, locale),
        "fmt": Formatter(locale, request.app.state.settings.zone),
        "csrf_token": csrf_token(request),
        "nav": visible_nav(principal) if principal else [],
        "htmx": request.headers.get("hx-request") == "true",
    }
    values.update(context or {})
    html = environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={"Content-Language": locale.replace("_", "-")})
