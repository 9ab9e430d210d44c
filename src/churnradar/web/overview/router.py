"""REST API for the overview: every panel the token user's role may see, as JSON, in their scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder

from churnradar.web.deps import ReadPrincipal, SessionDep
from churnradar.web.nav import visible_panels
from churnradar.web.overview.pages import panel_data

router = APIRouter(tags=["overview"])


@router.get("/overview", summary="The overview's figures")
def overview(request: Request, principal: ReadPrincipal, session: SessionDep) -> dict[str, Any]:
    """The figures of each overview panel (customers per level, trend, new versus resolved alerts, reasons,
    deadline compliance, data health, data counts, ...) keyed by panel, as the page shows them."""
    panels = visible_panels(principal)
    return {p.slug: jsonable_encoder(panel_data(request, session, principal, p)) for p in panels}
