"""The overview page: a column of panels from a registry (alert and task panels register themselves later)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.models.people import Role
from churnradar.web.cache import TtlCache
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import PrincipalDep, SessionDep
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, OverviewPanel, nav_items, overview_panels, visible_panels
from churnradar.web.overview import service
from churnradar.web.templating import render

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add("overview", NavItem("overview", N_("Overview"), "/", order=10))


def _counts(session: Session, principal: Principal) -> dict[str, Any]:
    return {"counts": service.data_counts(session, principal)}


def _breakdowns(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "breakdowns": [
            (N_("Customers by industry"), "industry", service.customers_by(session, principal, "industry")),
            (N_("Customers by segment"), "segment", service.customers_by(session, principal, "segment")),
            (N_("Customers by status"), "status", service.customers_by(session, principal, "status")),
        ]
    }


def _imports(session: Session, principal: Principal) -> dict[str, Any]:
    return {"imports": service.recent_imports(session)}


# The alert panels (customers per level, trend, new vs resolved, reasons) register with order 20-40 from
# churnradar.web.risk.panels.
overview_panels.add(
    "data_counts", OverviewPanel("data_counts", "overview/_counts.html", _counts, order=10, cached=True)
)
overview_panels.add(
    "breakdowns", OverviewPanel("breakdowns", "overview/_breakdowns.html", _breakdowns, order=50, cached=True)
)
overview_panels.add(
    "recent_imports",
    OverviewPanel(
        "recent_imports",
        "overview/_imports.html",
        _imports,
        order=60,
        roles=frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER}),
    ),
)


def panel_data(
    request: Request, session: Session, principal: Principal, panel: OverviewPanel
) -> dict[str, Any]:
    """What fills `panel` for this principal (reused for a minute when the panel scans whole tables)."""
    if not panel.cached:
        return panel.load(session, principal)
    cache: TtlCache = request.app.state.cache
    key = ("overview", panel.slug, principal.user_id, principal.role)
    return cache.get_or_set(key, lambda: panel.load(session, principal))


@router.get("/", name="overview")
def overview(request: Request, principal: PrincipalDep, session: SessionDep) -> Response:
    """The overview: each registered panel the user's role may see, filled with data in the user's scope."""
    panels = [(panel, panel_data(request, session, principal, panel)) for panel in visible_panels(principal)]
    return render(request, "overview/page.html", {"panels": panels}, principal=principal)
