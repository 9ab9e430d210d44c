"""REST API for the overview: every panel the token user's role may see, as JSON, in their scope."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder

from churnradar.i18n import Localized, Message
from churnradar.web.deps import ReadPrincipal, SessionDep
from churnradar.web.i18n import negotiate
from churnradar.web.nav import visible_panels
from churnradar.web.overview.pages import panel_data

router = APIRouter(tags=["overview"])


@router.get("/overview", summary="The overview's figures")
def overview(request: Request, principal: ReadPrincipal, session: SessionDep) -> dict[str, Any]:
    """The figures of each overview panel (customers per level, trend, new versus resolved alerts, reasons,
    deadline compliance, data health, data counts, ...) keyed by panel, as the page shows them."""
    panels = visible_panels(principal)
    locale = negotiate(request.headers.get("accept-language"))
    return {
        p.slug: jsonable_encoder(worded(panel_data(request, session, principal, p), locale)) for p in panels
    }


def worded(value: Any, locale: str) -> Any:
    """`value` with every text value (a catalog message, data in two languages) in the reader's language,
    dataclasses as mappings of their fields."""
    if isinstance(value, Message | Localized):
        return value.render(locale)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: worded(getattr(value, f.name), locale) for f in fields(value)}
    if isinstance(value, dict):
        return {key: worded(item, locale) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [worded(item, locale) for item in value]
    return value
