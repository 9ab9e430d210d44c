"""REST API for the high-risk list (a customer's owner is changed through the customers router)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from churnradar.customer.schemas import RiskFilter, RiskRow
from churnradar.web.deps import ReadPrincipal, SessionDep
from churnradar.web.risk import service
from churnradar.web.schemas import Page

router = APIRouter(tags=["risk"])


@router.get("/risk", response_model=Page[RiskRow], summary="List customers at risk")
def list_risk(
    principal: ReadPrincipal, session: SessionDep, flt: Annotated[RiskFilter, Query()]
) -> Page[RiskRow]:
    """Customers with a current level or score that the token's user may see: filtered, sorted, paginated.

    By default every customer with a risk row, worst level first; `level=any` keeps those with a level.
    """
    rows, total = service.list_risk(session, principal, flt)
    return Page[RiskRow].of(rows, total=total, page=flt.page, per_page=flt.per_page)
