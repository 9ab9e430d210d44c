"""REST API for the high-risk list and for changing a customer's owner."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from churnradar.auth.schemas import Principal, Scope
from churnradar.kit.clock import SystemClock
from churnradar.web.customers.router import VisibleCustomer
from churnradar.web.deps import ReadPrincipal, SessionDep, api_principal
from churnradar.web.risk import repository as repo
from churnradar.web.risk import service
from churnradar.web.risk.schemas import OwnerChange, OwnerChanged, RiskFilter, RiskRow
from churnradar.web.schemas import Page

router = APIRouter(tags=["risk"])
WritePrincipal = Annotated[Principal, Depends(api_principal(Scope.WRITE))]


REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown or inactive user."},
    403: {"description": "The token's user may not change owners, or not to this user."},
    404: {"description": "No such customer, or not one this token's user may see."},
}


@router.get("/risk", response_model=Page[RiskRow], summary="List customers at risk")
def list_risk(
    principal: ReadPrincipal, session: SessionDep, flt: Annotated[RiskFilter, Query()]
) -> Page[RiskRow]:
    """Customers with a current level or score that the token's user may see: filtered, sorted, paginated.

    By default every customer with a risk row, worst level first; `level=any` keeps those with a level.
    """
    rows, total = repo.list_risk(session, principal, flt)
    return Page[RiskRow].of(rows, total=total, page=flt.page, per_page=flt.per_page)


@router.post(
    "/customers/{customer_id}/owner",
    response_model=OwnerChanged,
    responses=REFUSALS,
    summary="Change a customer's owner",
)
def change_owner(
    request: Request,
    customer: VisibleCustomer,
    principal: WritePrincipal,
    session: SessionDep,
    body: OwnerChange,
) -> OwnerChanged:
    """Give a customer (by its source-system id) to another user; its open task follows the owner.

    Needs a token with the `read` and `write` scopes. Managers may assign to their team's reps, admins
    and directors to any rep or manager, reps not at all. The change is recorded in the customer's owner
    history and the audit log.
    """
    try:
        [result] = service.assign_owner(
            session,
            principal,
            [customer],
            body.owner,
            settings=request.app.state.settings,
            via="api",
            now=SystemClock().now(),
        )
    except service.AssignError as exc:
        session.rollback()
        raise HTTPException(exc.status_code, exc.message) from exc
    session.commit()
    request.app.state.cache.clear()
    return result
