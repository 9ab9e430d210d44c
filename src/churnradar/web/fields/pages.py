"""Custom fields and entry forms as pages: the admin's page, and a customer's fields and entries (360).

The 360 page includes `customers/_custom_fields.html` and `customers/_manual_entry.html` with the data of
`customer.fields.custom_profile`; their forms post here and come back to the customer's page.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from churnradar.auth.schemas import Principal
from churnradar.customer import fields as customer_fields
from churnradar.customer import service as customer_service
from churnradar.field import service as field_service
from churnradar.field.exceptions import (
    FieldDefinitionError,
    FieldInUseError,
    FieldNotFoundError,
    FieldPermissionError,
    FieldValueError,
)
from churnradar.field.schemas import Configuration, Entity, FieldKind
from churnradar.models.people import Role
from churnradar.rule import service as rule_service
from churnradar.rule.fields import reserved_names
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep, PrincipalDep, SessionDep
from churnradar.web.downloads import yaml_attachment
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.templating import render

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add(
    "fields",
    NavItem("fields", N_("Fields and forms"), "/admin/fields", order=85, roles=frozenset({Role.ADMIN})),
)
REFUSED = (FieldDefinitionError, FieldInUseError, FieldNotFoundError, FieldValueError, FieldPermissionError)
QUESTIONS = 4  # question rows the new-form form offers (more through the YAML import)
KIND_LABELS = {
    FieldKind.TEXT: N_("text"),
    FieldKind.NUMBER: N_("number"),
    FieldKind.DATE: N_("date"),
    FieldKind.CHOICE: N_("choice"),
}
ENTITY_LABELS = {Entity.CUSTOMER: N_("customer field"), Entity.EVENT: N_("event attribute")}


def _page(
    request: Request, principal: Principal, *, error: str | None = None, code: int = 200, **extra: Any
) -> Response:
    engine = request.app.state.engine
    context: dict[str, Any] = {
        "fields": field_service.list_fields(engine),
        "entry_types": field_service.list_entry_types(engine),
        "roles": list(Role),
        "kinds": KIND_LABELS,
        "entities": ENTITY_LABELS,
        "questions": range(QUESTIONS),
        "error": error,
        "saved": request.query_params.get("saved"),
        **extra,
    }
    return render(request, "admin/fields.html", context, principal=principal, status_code=code)


def _save(request: Request, principal: Principal, config: Configuration) -> Response:
    try:
        field_service.save(
            request.app.state.engine,
            config,
            actor=principal,
            reserved=reserved_names(),
            rules_using=rule_service.rules_using,
        )
    except REFUSED as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_400_BAD_REQUEST)
    return RedirectResponse("/admin/fields?saved=1", status_code=status.HTTP_303_SEE_OTHER)


def _choices(text: str) -> list[str]:
    commas = text.replace("\uff0c", ",")  # a full-width comma separates too
    return [c.strip() for c in commas.split(",") if c.strip()]


Text = Annotated[str, Form(max_length=200)]


@router.get("/admin/fields", name="admin_fields")
def fields_page(request: Request, principal: AdminDep) -> Response:
    """Every custom field and entry form, forms for new ones, and the YAML export and import."""
    return _page(request, principal)


@router.post("/admin/fields", name="admin_field_save")
async def save_field(request: Request, principal: AdminDep) -> Response:
    """Create or replace one field from the page's form (roles as checkboxes)."""
    form = await request.form()
    raw = {
        "slug": str(form.get("slug", "")).strip(),
        "entity": str(form.get("entity", Entity.CUSTOMER.value)),
        "type": str(form.get("type", "")),
        "label_en": str(form.get("label_en", "")).strip(),
        "label_zh": str(form.get("label_zh", "")).strip(),
        "choices": _choices(str(form.get("choices", ""))),
        "visible_to": [str(r) for r in form.getlist("visible_to")],
        "editable_by": [str(r) for r in form.getlist("editable_by")],
    }
    try:
        config = Configuration.model_validate({"fields": [raw]})
    except ValueError as exc:
        return _page(request, principal, error=_located(exc), code=status.HTTP_400_BAD_REQUEST)
    return _save(request, principal, config)


@router.post("/admin/fields/entry-types", name="admin_entry_type_save")
async def save_entry_type(request: Request, principal: AdminDep) -> Response:
    """Create or replace one entry form from the page's form (its filled question rows)."""
    form = await request.form()
    questions = []
    for n in range(QUESTIONS):
        slug = str(form.get(f"q{n}_slug", "")).strip()
        if not slug:
            continue
        questions.append(
            {
                "slug": slug,
                "type": str(form.get(f"q{n}_type", "")),
                "label_en": str(form.get(f"q{n}_label_en", "")).strip() or slug,
                "label_zh": str(form.get(f"q{n}_label_zh", "")).strip(),
                "choices": _choices(str(form.get(f"q{n}_choices", ""))),
                "required": form.get(f"q{n}_required") == "true",
                "sets_field": str(form.get(f"q{n}_sets_field", "")).strip() or None,
            }
        )
    raw = {
        "slug": str(form.get("slug", "")).strip(),
        "label_en": str(form.get("label_en", "")).strip(),
        "label_zh": str(form.get("label_zh", "")).strip(),
        "channel": str(form.get("channel", "")).strip() or None,
        "fields": questions,
    }
    try:
        config = Configuration.model_validate({"entry_types": [raw]})
    except ValueError as exc:
        return _page(request, principal, error=_located(exc), code=status.HTTP_400_BAD_REQUEST)
    return _save(request, principal, config)


def _located(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)[:500]
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors()[:5])[:1000]


@router.post("/admin/fields/import", name="admin_fields_import")
def import_fields(
    request: Request, principal: AdminDep, text: Annotated[str, Form(max_length=200_000)]
) -> Response:
    """Create or replace what a YAML document defines, checked whole first."""
    try:
        config = field_service.parse_yaml(text, "YAML")
    except FieldDefinitionError as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_400_BAD_REQUEST, yaml_text=text)
    return _save(request, principal, config)


@router.get("/admin/fields/export.yaml", name="admin_fields_export")
def export_fields(request: Request, principal: AdminDep) -> Response:
    """Every field and entry form as YAML (audited)."""
    text = field_service.export_yaml(request.app.state.engine, actor=principal)
    return yaml_attachment(text, "fields.yaml")


@router.post("/admin/fields/{entity}/{slug}/delete", name="admin_field_delete")
def delete_field(request: Request, principal: AdminDep, entity: Entity, slug: str) -> Response:
    """Remove a field; refused, naming the rules and forms, while any reads it."""
    try:
        field_service.remove_field(
            request.app.state.engine,
            slug,
            entity=entity,
            actor=principal,
            rules_using=rule_service.rules_using,
        )
    except REFUSED as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_409_CONFLICT)
    return RedirectResponse("/admin/fields", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/fields/entry-types/{slug}/delete", name="admin_entry_type_delete")
def delete_entry_type(request: Request, principal: AdminDep, slug: str) -> Response:
    """Remove an entry form (the events recorded with it stay)."""
    try:
        field_service.remove_entry_type(request.app.state.engine, slug, actor=principal)
    except REFUSED as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_404_NOT_FOUND)
    return RedirectResponse("/admin/fields", status_code=status.HTTP_303_SEE_OTHER)


# A refusal on the customer page is kept in the session for its next view (never in the link, where a crafted
# URL could put any text on the page); the form's partial takes it out once shown.
FLASH = {"custom-fields": "field_error", "manual-entry": "entry_error"}


def _refused(request: Request, customer_id: int, anchor: str, error: str, **query: str) -> Response:
    request.session[FLASH[anchor]] = error[:500]
    return _back(customer_id, anchor, **query)


def _back(customer_id: int, anchor: str, **query: str) -> Response:
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse(
        f"/customers/{customer_id}{suffix}#{anchor}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.post("/customers/{customer_id}/fields", name="customer_fields_save")
async def save_customer_fields(
    request: Request, principal: PrincipalDep, session: SessionDep, customer_id: int
) -> Response:
    """Change the fields of a customer the user sees, those their role may edit; back to the customer."""
    customer = customer_service.visible(session, principal, customer_id)
    form = await request.form()
    changes = {k.removeprefix("f_"): str(v) for k, v in form.items() if k.startswith("f_")}
    try:
        customer_fields.set_field_values(
            session, principal, customer, changes, now=request.app.state.clock.now()
        )
    except REFUSED as exc:
        session.rollback()
        return _refused(request, customer_id, "custom-fields", str(exc))
    request.app.state.cache.clear()
    return _back(customer_id, "custom-fields", fields_saved="1")


@router.post("/customers/{customer_id}/entries/{entry_type}", name="customer_entry_record")
async def record_entry(
    request: Request, principal: PrincipalDep, session: SessionDep, customer_id: int, entry_type: str
) -> Response:
    """Record an entry on a customer the user sees: an event by them, read at the next evaluation."""
    customer = customer_service.visible(session, principal, customer_id)
    form = await request.form()
    answers = {k.removeprefix("a_"): str(v) for k, v in form.items() if k.startswith("a_")}
    try:
        customer_fields.record_entry(
            session,
            principal,
            customer,
            entry_type,
            answers,
            settings=request.app.state.settings,
            now=request.app.state.clock.now(),
        )
    except REFUSED as exc:
        session.rollback()
        return _refused(request, customer_id, "manual-entry", str(exc), entry_type=entry_type)
    request.app.state.cache.clear()
    return _back(customer_id, "manual-entry", entry_saved=entry_type)
