"""REST API for the effectiveness report: the same figures as the page, in the token user's scope."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status

from churnradar.web.deps import ReadPrincipal, SessionDep
from churnradar.web.effectiveness.pages import ROLES, cached_report

router = APIRouter(prefix="/effectiveness", tags=["effectiveness"])


@router.get(
    "",
    summary="The effectiveness report",
    responses={403: {"description": "Reps' tokens: the report is for managers, directors and admins."}},
)
def effectiveness(
    request: Request,
    principal: ReadPrincipal,
    session: SessionDep,
    go_live: Annotated[date | None, Query(description="Compare churn before and after this date.")] = None,
) -> dict[str, Any]:
    """Churn rate per month, warning precision and coverage per rule and level, the save rate against the
    control group, task outcomes by action, owner and team, and deadline compliance (as
    `churnradar report effectiveness --json`). A manager's token sees their team's customers only."""
    if principal.role not in ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the effectiveness report is for managers and up")
    return cached_report(request, session, principal, go_live)[0]
