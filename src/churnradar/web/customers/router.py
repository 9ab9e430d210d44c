"""REST API for customers: list (filters, sort, pages), detail, events, indicators, owner, tags, notes,
custom field values and manual entries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from churnradar import reactions
from churnradar.auth.schemas import Principal, Scope
from churnradar.customer import fields as customer_fields
from churnradar.customer import service
from churnradar.customer.schemas import (
    MAX_TAG_CHARS,
    CustomerFilter,
    CustomerRead,
    CustomerRow,
    EventRead,
    IndicatorSeries,
    NoteIn,
    OwnerChange,
    OwnerChanged,
    TagIn,
    Tags,
)
from churnradar.kit.clock import SystemClock
from churnradar.models import Customer
from churnradar.web.deps import ReadPrincipal, SessionDep, api_principal
from churnradar.web.schemas import Page

router = APIRouter(prefix="/customers", tags=["customers"])
WritePrincipal = Annotated[Principal, Depends(api_principal(Scope.WRITE))]
clock = SystemClock()
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such customer, or not one this token's user may see."}
}
OWNER_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown or inactive user."},
    403: {"description": "The token's user may not change owners, or not to this user."},
    **NOT_FOUND,
}
WORK_REFUSALS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    422: {"description": "Empty or too long; nothing was changed."},
}


def visible_customer(principal: ReadPrincipal, session: SessionDep, customer_id: str) -> Customer:
    """The customer of the path if the token's user may see it; 404 before any other refusal otherwise."""
    return service.visible_by_external_id(session, principal, customer_id)


# Routes that change a customer resolve it before the write scope and the body are checked: a customer out
# of scope is simply not there.
VisibleCustomer = Annotated[Customer, Depends(visible_customer)]


@router.get("", response_model=Page[CustomerRow], summary="List customers")
def list_customers(
    principal: ReadPrincipal, session: SessionDep, flt: Annotated[CustomerFilter, Query()]
) -> Page[CustomerRow]:
    """The customers the token's user may see, filtered, sorted and paginated."""
    rows, total = service.list_customers(session, principal, flt)
    return Page[CustomerRow].of(rows, total=total, page=flt.page, per_page=flt.per_page)


@router.get("/{customer_id}", response_model=CustomerRead, responses=NOT_FOUND, summary="Get a customer")
def get_customer(principal: ReadPrincipal, session: SessionDep, customer_id: str) -> CustomerRead:
    """One customer by its source-system id, with contracts and latest invoices."""
    customer = service.visible_by_external_id(session, principal, customer_id)
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
    customer = service.visible_by_external_id(session, principal, customer_id)
    events, total = service.events(session, customer, page=page, per_page=per_page, kind=kind)
    return Page[EventRead].of(events, total=total, page=page, per_page=per_page)


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
    customer = service.visible_by_external_id(session, principal, customer_id)
    return service.indicator_series(session, customer)


@router.post(
    "/{customer_id}/owner",
    response_model=OwnerChanged,
    responses=OWNER_REFUSALS,
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
    [result] = service.change_owner(
        session,
        principal,
        [customer],
        body.owner,
        events=reactions.dispatcher(request.app.state.settings),
        via="api",
        now=clock.now(),
    )
    session.commit()
    request.app.state.cache.clear()
    return result


@router.get("/{customer_id}/tags", response_model=Tags, responses=WORK_REFUSALS, summary="A customer's tags")
def list_tags(customer: VisibleCustomer, session: SessionDep) -> Tags:
    """The tags on a customer the token's user may see (rules' tags and hand-made ones)."""
    return Tags(tags=service.tags(session, customer))


@router.post("/{customer_id}/tags", response_model=Tags, responses=WORK_REFUSALS, summary="Tag a customer")
def add_tag(customer: VisibleCustomer, principal: WritePrincipal, session: SessionDep, body: TagIn) -> Tags:
    """Put a tag on the customer (needs `write`); audited."""
    service.tag(session, principal, customer, body.tag, now=clock.now())
    return Tags(tags=service.tags(session, customer))


@router.delete("/{customer_id}/tags", response_model=Tags, responses=WORK_REFUSALS, summary="Remove a tag")
def remove_tag(
    customer: VisibleCustomer,
    principal: WritePrincipal,
    session: SessionDep,
    tag: Annotated[str, Query(min_length=1, max_length=MAX_TAG_CHARS, description="The tag.")],
) -> Tags:
    """Take a tag off the customer (needs `write`); audited. Removing a tag it lacks changes nothing."""
    service.untag(session, principal, customer, tag, now=clock.now())
    return Tags(tags=service.tags(session, customer))


@router.post(
    "/{customer_id}/notes",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_REFUSALS,
    summary="Leave a note on a customer",
)
def add_note(customer: VisibleCustomer, principal: WritePrincipal, session: SessionDep, body: NoteIn) -> None:
    """A note on the customer (needs `write`), shown on its 360 page; a customer with no task yet is 422."""
    service.add_note(session, principal, customer, body.text, now=clock.now())


@router.put("/{customer_id}/fields", summary="Change a customer's custom fields")
def put_customer_fields(
    customer: VisibleCustomer,
    principal: WritePrincipal,
    session: SessionDep,
    request: Request,
    body: Annotated[dict[str, Any], Body(examples=[{"renewal_intent": "low"}])],
) -> Any:
    """Set custom fields (slug: value, null clears) of a customer the token's user sees, each one their role
    may edit; 422 or 403 naming the field, nothing changed."""
    now = request.app.state.clock.now()
    return customer_fields.set_field_values(session, principal, customer, body, now=now)


@router.post(
    "/{customer_id}/entries/{entry_type}",
    status_code=status.HTTP_201_CREATED,
    summary="Record a manual entry on a customer",
)
async def post_entry(
    customer: VisibleCustomer,
    entry_type: str,
    principal: WritePrincipal,
    session: SessionDep,
    request: Request,
    body: Annotated[dict[str, Any], Body(examples=[{"intent": "low", "text": "budget cut"}])],
) -> Any:
    """Record an entry (the form's answers by slug) on a customer the token's user sees: an event of the
    form's kind by this user, read by indicators and rules at the next evaluation."""

    def record() -> Any:
        return customer_fields.record_entry(
            session,
            principal,
            customer,
            entry_type,
            body,
            settings=request.app.state.settings,
            now=request.app.state.clock.now(),
        )

    done = await run_in_threadpool(record)
    request.app.state.cache.clear()
    return {"event_id": done.event_id, "kind": done.kind, "fields_set": done.fields_set}
