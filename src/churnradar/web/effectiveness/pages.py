"""`/effectiveness`: are we keeping more customers? For managers (their team's figures), directors, admins."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.models.people import Role
from churnradar.web.cache import TtlCache
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import SessionDep, require_roles
from churnradar.web.effectiveness import service
from churnradar.web.i18n import LEVEL_LABELS, N_, translations
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.risk import service as risk_service
from churnradar.web.templating import render, request_locale

ROLES = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add("effectiveness", NavItem("effectiveness", N_("Effectiveness"), "/effectiveness", 70, ROLES))
ViewerDep = Annotated[Principal, Depends(require_roles(*ROLES))]
# Stored values shown translated ("holdout" is the mute of a held-out alert, shown on the customer page).
LABELS = (
    N_("intervened"),
    N_("held out"),
    N_("holdout"),
    N_("retained"),
    N_("churned"),
    N_("false alarm"),
    N_("unreachable"),
    *LEVEL_LABELS.values(),
)


def cached_report(
    request: Request, session: Session, principal: Principal, go_live: date | None
) -> tuple[dict[str, Any], date]:
    """The report in the principal's scope with data up to today, reused for a minute (page and API)."""
    settings: Settings = request.app.state.settings
    until = datetime.now(settings.zone).date() + timedelta(days=1)
    cache: TtlCache = request.app.state.cache
    key = ("effectiveness", principal.user_id, principal.role, until, go_live)
    engine = request.app.state.engine
    report: dict[str, Any] = cache.get_or_set(
        key, lambda: service.report_for(engine, session, principal, until=until, go_live=go_live)
    )
    return report, until


@router.get("/effectiveness", name="effectiveness")
def effectiveness_page(
    request: Request,
    principal: ViewerDep,
    session: SessionDep,
    go_live: Annotated[date | None, Query(description="Compare churn before and after this date.")] = None,
) -> Response:
    """Churn per month, warnings per level and rule, save rate, task outcomes and deadline compliance."""
    report, until = cached_report(request, session, principal, go_live)
    catalog = translations(request_locale(request))
    context = {
        "report": report,
        "charts": service.chart_data(report, catalog.gettext),
        "alert_dates": service.alert_dates(report),
        "go_live": go_live,
        "until": until,
        "scoped": principal.role == Role.MANAGER,
        "rule_names": risk_service.rule_names(session),
    }
    return render(request, "effectiveness/page.html", context, principal=principal)
