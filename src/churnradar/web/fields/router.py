"""/api/v1/fields and /api/v1/entry-types: custom fields and entry forms; a customer's fields and entries.

Any signed-in token reads the definitions; only an admin's admin token creates, replaces, removes, exports
and imports them (audited by the field service). A token with the write scope changes the fields of, and
records entries on, the customers its user may see, as its user's role allows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from churnradar.auth.schemas import Principal, Scope
from churnradar.customer import fields as customer_fields
from churnradar.field import service as field_service
from churnradar.field.schemas import Configuration, Entity, EntryTypeDef, FieldDef
from churnradar.indicator.registry import default_registry
from churnradar.rule import service as rule_service
from churnradar.rule.fields import CUSTOMER_FIELDS
from churnradar.web.customers.router import VisibleCustomer
from churnradar.web.deps import AdminToken, ReadPrincipal, SessionDep, api_principal

router = APIRouter(tags=["fields"])
WritePrincipal = Annotated[Principal, Depends(api_principal(Scope.WRITE))]
YAML_BODY = {
    "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}
}


def reserved_names() -> tuple[str, ...]:
    """Names a custom customer field may not take: the built-in fields and every indicator."""
    return (*CUSTOMER_FIELDS, *default_registry())


def save(request: Request, principal: Any, config: Configuration) -> dict[str, int]:
    """Store checked definitions (refusing names taken and retyping fields rules read)."""
    return field_service.save(
        request.app.state.engine,
        config,
        actor=principal,
        reserved=reserved_names(),
        rules_using=rule_service.rules_using,
    )


@router.get("/fields", response_model=list[FieldDef], summary="List custom fields")
def list_fields(_principal: ReadPrincipal, request: Request, entity: Entity | None = None) -> Any:
    """Every custom customer field and named event attribute (or those of `entity`)."""
    return field_service.list_fields(request.app.state.engine, entity)


@router.get("/fields/export", summary="Export fields and entry forms as YAML (admins)")
def export_fields(principal: AdminToken, request: Request) -> Response:
    """Every field and entry form as one YAML document, which `POST /fields/import` takes back."""
    text = field_service.export_yaml(request.app.state.engine, actor=principal)
    return Response(text, media_type="application/yaml")


@router.post(
    "/fields/import", summary="Import fields and entry forms from YAML (admins)", openapi_extra=YAML_BODY
)
def import_fields(
    principal: AdminToken, request: Request, text: str = Body(media_type="application/yaml")
) -> Any:
    """Create or replace everything a YAML document defines, checked whole first (nothing stored if bad)."""
    return save(request, principal, field_service.parse_yaml(text, "body"))


@router.put("/fields/{slug}", response_model=FieldDef, summary="Create or replace a field (admins)")
def put_field(slug: str, body: FieldDef, principal: AdminToken, request: Request) -> Any:
    """Create or replace the field `slug` (of the body's entity); 409 naming the rules when a retype would
    break them, 422 naming what is wrong."""
    if body.slug != slug:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's slug differs from the path's")
    save(request, principal, Configuration(fields=[body]))
    return body


@router.delete("/fields/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a field (admins)")
def delete_field(
    slug: str, principal: AdminToken, request: Request, entity: Entity = Entity.CUSTOMER
) -> Response:
    """Remove a field; 409 naming the rules (and entry forms) while any reads it."""
    field_service.remove_field(
        request.app.state.engine, slug, entity=entity, actor=principal, rules_using=rule_service.rules_using
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/entry-types", response_model=list[EntryTypeDef], summary="List entry forms")
def list_entry_types(_principal: ReadPrincipal, request: Request) -> Any:
    """Every manual entry form."""
    return field_service.list_entry_types(request.app.state.engine)


@router.put("/entry-types/{slug}", response_model=EntryTypeDef, summary="Create or replace an entry form")
def put_entry_type(slug: str, body: EntryTypeDef, principal: AdminToken, request: Request) -> Any:
    """Create or replace the entry form `slug` (admins); its entries become events of kind `slug`."""
    if body.slug != slug:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's slug differs from the path's")
    save(request, principal, Configuration(entry_types=[body]))
    return body


@router.delete("/entry-types/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove an entry form")
def delete_entry_type(slug: str, principal: AdminToken, request: Request) -> Response:
    """Remove an entry form (admins); the events recorded with it stay."""
    field_service.remove_entry_type(request.app.state.engine, slug, actor=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/customers/{customer_id}/fields", summary="Change a customer's custom fields")
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
    "/customers/{customer_id}/entries/{entry_type}",
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
