"""REST API for the work kept on a customer: tags (add, remove, list) and notes; as the 360 page does them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from churnradar.auth.schemas import Principal, Scope
from churnradar.intervention import repository as intervention_repo
from churnradar.intervention.schemas import TaskError
from churnradar.kit.clock import SystemClock
from churnradar.web.customers.router import VisibleCustomer
from churnradar.web.deps import SessionDep, api_principal
from churnradar.web.tasks import service

router = APIRouter(prefix="/customers", tags=["customers"])
WritePrincipal = Annotated[Principal, Depends(api_principal(Scope.WRITE))]
clock = SystemClock()
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such customer, or not one this token's user may see."},
    422: {"description": "Empty or too long; nothing was changed."},
}


class TagIn(BaseModel):
    """A tag to put on the customer."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=service.MAX_TAG_CHARS)


class NoteIn(BaseModel):
    """A note about the customer (kept in the history of its open, else latest, task)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=service.MAX_NOTE_CHARS)


class Tags(BaseModel):
    """The customer's tags after the change."""

    tags: list[str]


def _tags(session: SessionDep, customer_id: int) -> Tags:
    return Tags(tags=intervention_repo.tags(session.connection(), customer_id))


def _refused(exc: TaskError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/{customer_id}/tags", response_model=Tags, responses=REFUSALS, summary="A customer's tags")
def list_tags(customer: VisibleCustomer, session: SessionDep) -> Tags:
    """The tags on a customer the token's user may see (rules' tags and hand-made ones)."""
    return _tags(session, customer.id)


@router.post("/{customer_id}/tags", response_model=Tags, responses=REFUSALS, summary="Tag a customer")
def add_tag(customer: VisibleCustomer, principal: WritePrincipal, session: SessionDep, body: TagIn) -> Tags:
    """Put a tag on the customer (needs `write`); audited."""
    try:
        service.tag(session, principal, customer, body.tag, now=clock.now())
    except TaskError as exc:
        raise _refused(exc) from None
    return _tags(session, customer.id)


@router.delete("/{customer_id}/tags", response_model=Tags, responses=REFUSALS, summary="Remove a tag")
def remove_tag(
    customer: VisibleCustomer,
    principal: WritePrincipal,
    session: SessionDep,
    tag: Annotated[str, Query(min_length=1, max_length=service.MAX_TAG_CHARS, description="The tag.")],
) -> Tags:
    """Take a tag off the customer (needs `write`); audited. Removing a tag it lacks changes nothing."""
    try:
        service.untag(session, principal, customer, tag, now=clock.now())
    except TaskError as exc:
        raise _refused(exc) from None
    return _tags(session, customer.id)


@router.post(
    "/{customer_id}/notes",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=REFUSALS,
    summary="Leave a note on a customer",
)
def add_note(customer: VisibleCustomer, principal: WritePrincipal, session: SessionDep, body: NoteIn) -> None:
    """A note on the customer (needs `write`), shown on its 360 page; a customer with no task yet is 422."""
    try:
        service.add_note(session, principal, customer, body.text, now=clock.now())
    except TaskError as exc:
        raise _refused(exc) from None
