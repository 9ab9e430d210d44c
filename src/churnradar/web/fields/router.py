"""/api/v1/fields and /api/v1/entry-types: custom fields and entry forms (a customer's values and entries are
the customers router's).

Any signed-in token reads the definitions; only an admin's admin token creates, replaces, removes, exports
and imports them (audited by the field service). A token with the write scope changes the fields of, and
records entries on, the customers its user may see, as its user's role allows.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request, Response, status

from churnradar.field import service as field_service
from churnradar.field.schemas import Configuration, Entity, EntryTypeDef, FieldDef
from churnradar.rule import service as rule_service
from churnradar.rule.fields import reserved_names
from churnradar.web.deps import AdminToken, ReadPrincipal

router = APIRouter(tags=["fields"])
YAML_BODY = {
    "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}, "required": True}
}


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
