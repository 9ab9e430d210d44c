"""REST API for customers: list (filters, sort, pages), detail, and a customer's events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from churnradar.models import Customer
from churnradar.web.customers import repository as repo
from churnradar.web.customers import service
from churnradar.web.customers.schemas import (
    CustomerFilter,
    CustomerRead,
    CustomerRow,
    EventRead,
    IndicatorSeries,
)
from churnradar.web.deps import ReadPrincipal, SessionDep
from churnradar.web.schemas import Page

router = APIRouter(prefix="/customers", tags=["customers"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such customer, or not one this token's user may see."}
}


def visible_customer(principal: ReadPrincipal, session: SessionDep, customer_id: str) -> Customer:
    """The customer of the path if the token's user may see it; 404 before any other refusal otherwise."""
    customer = repo.get_customer_by_external_id(session, principal, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    return customer


# Routes that change a customer resolve it before the write scope and the body are checked: a customer out
# of scope is simply not there.
VisibleCustomer = Annotated[Customer, Depends(visible_customer)]


@router.get("", response_model=Page[CustomerRow], summary="List customers")
def list_customers(
    principal: ReadPrincipal, session: SessionDep, flt: Annotated[CustomerFilter, Query()]
) -> Page[CustomerRow]:
    """The customers the token's user may see, filtered, sorted and paginated."""
    rows, total = repo.list_customers(session, principal, flt)
    return Page[CustomerRow].of(rows, total=total, page=flt.page, per_page=flt.per_page)


@router.get("/{customer_id}", response_model=CustomerRead, responses=NOT_FOUND, summary="Get a customer")
def get_customer(principal: ReadPrincipal, session: SessionDep, customer_id: str) -> CustomerRead:
    """One customer by its source-system id, with contracts and latest invoices."""
    customer = repo.get_customer_by_external_id(session, principal, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    return service.customer_detail(session, principal, customer)


@router.get(
    "/{customer_id}/events",
    response_model=Page[EventRead],
    responses=NOT_FOUND,
    summary="A customer's events",
)
def customer_events(
    principal: ReadPrincipal,
    session: SessionDep,
    customer_id: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[EventRead]:
    """A customer's events, newest first."""
    customer = repo.get_customer_by_external_id(session, principal, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    events, total = repo.events(session, customer.id, page=page, per_page=per_page, kind=kind)
    return Page[EventRead].of(
        [service.event_read(e) for e in events], total=total, page=page, per_page=per_page
    )


@router.get(
    "/{customer_id}/indicators",
    response_model=list[IndicatorSeries],
    responses=NOT_FOUND,
    summary="A customer's indicator history",
)
def customer_indicators(
    principal: ReadPrincipal, session: SessionDep, customer_id: str
) -> list[IndicatorSeries]:
    """Each indicator's values over the latest snapshots, with the customer's own baseline (their mean)."""
    customer = repo.get_customer_by_external_id(session, principal, customer_id)
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such customer")
    return service.indicator_series(session, customer.id)
