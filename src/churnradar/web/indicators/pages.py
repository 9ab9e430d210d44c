"""Custom indicators as a page for admins: the list with what uses each, a form to create or edit one, a
preview computed as of a date, removal (refused naming the rules that read it), and YAML export and import.

The form posts the same definition the API takes (`indicator.custom.CustomDefinition`), so its errors are
the API's, located by key; the service stores, checks and audits as for the API and the CLI.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from churnradar.auth.schemas import Principal
from churnradar.indicator import service as indicator_service
from churnradar.indicator.custom import ATTRIBUTES, CustomDefinition, parse_definition
from churnradar.indicator.exceptions import DefinitionError, IndicatorInUseError, IndicatorNotFoundError
from churnradar.models.people import Role
from churnradar.rule import service as rule_service
from churnradar.rule.fields import customer_fields
from churnradar.web.csrf import require_csrf
from churnradar.web.customers.service import FAMILY_LABELS
from churnradar.web.deps import AdminDep
from churnradar.web.downloads import yaml_attachment
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.templating import render

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add(
    "indicators",
    NavItem("indicators", N_("Indicators"), "/admin/indicators", order=75, roles=frozenset({Role.ADMIN})),
)
REFUSED = (DefinitionError, IndicatorInUseError, IndicatorNotFoundError)
PREVIEW_CUSTOMERS = 10
AGGREGATES = {
    "count": N_("number of events"),
    "distinct_days": N_("days with an event"),
    "sum": N_("sum"),
    "mean": N_("mean"),
    "median": N_("median"),
    "min": N_("minimum"),
    "max": N_("maximum"),
    "latest": N_("latest value"),
    "days_since_last": N_("days since the last event"),
}
COMPARES = {"": N_("no comparison"), "ratio": N_("ratio to the window before"),
            "change_pct": N_("change in % from the window before")}  # fmt: skip
DIRECTIONS = {"": N_("either"), "inbound": N_("inbound"), "outbound": N_("outbound")}
NUMBERS = ("value", "amount", "quantity")
# Every input of the form, blank.
BLANK: dict[str, Any] = dict.fromkeys(
    ("name", "name_en", "name_zh", "unit", "family", "description", "description_zh", "aggregate", "field",
     "window_days", "compare", "channel", "direction", "keywords", "value_min", "value_max", "attribute_name",
     "attribute_equals"), "",
) | {"events": []}  # fmt: skip
# Form inputs named as the definition's keys.
SAME_KEYS = {"name", "name_en", "name_zh", "unit", "family", "description", "description_zh", "events",
             "aggregate", "field"}  # fmt: skip


def _words(text: str) -> list[str]:
    commas = text.replace("\uff0c", ",")  # a full-width comma separates too
    return [w.strip() for w in commas.split(",") if w.strip()]


def _raw(form: FormData) -> dict[str, Any]:
    """The posted form as a definition's mapping: blank inputs left out, so the definition's defaults hold."""

    def text(key: str) -> str:
        return str(form.get(key, "")).strip()

    flt: dict[str, Any] = {}
    if channel := _words(text("channel")):
        flt["channel"] = channel
    if text("direction"):
        flt["direction"] = text("direction")
    if keywords := _words(text("keywords")):
        flt["text_contains_any"] = keywords
    for key in ("value_min", "value_max"):
        if text(key):
            flt[key] = text(key)
    if text("attribute_name") or text("attribute_equals"):
        flt["attribute"] = {"name": text("attribute_name"), "equals": text("attribute_equals")}
    raw: dict[str, Any] = {k: text(k) for k in SAME_KEYS - {"events"} if text(k)}
    raw["events"] = [str(e) for e in form.getlist("events")]
    raw |= {"filter": flt} if flt else {}
    raw |= {"window_days": text("window_days")} if text("window_days") else {}
    raw |= {"compare": text("compare")} if text("compare") else {}
    return raw


def _form_of(d: CustomDefinition) -> dict[str, Any]:
    """A stored definition as the form's values."""
    f = d.filter
    same = d.model_dump(mode="json", include=SAME_KEYS)
    return same | {
        "window_days": d.window_days or "",
        "compare": d.compare or "",
        "channel": ", ".join(f.channel or []),
        "direction": f.direction or "",
        "keywords": ", ".join(f.text_contains_any or []),
        "value_min": "" if f.value_min is None else f.value_min,
        "value_max": "" if f.value_max is None else f.value_max,
        "attribute_name": f.attribute.name if f.attribute else "",
        "attribute_equals": f.attribute.equals if f.attribute else "",
    }


def _posted(form: FormData) -> dict[str, Any]:
    """The posted values to show again in the form (after an error or with a preview)."""
    keep = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "events")}
    return {**keep, "events": [str(e) for e in form.getlist("events")]}


def _page(
    request: Request, principal: Principal, *, error: str | None = None, code: int = 200, **extra: Any
) -> Response:
    engine = request.app.state.engine
    definitions = indicator_service.list_custom(engine)
    with engine.connect() as conn:
        used = {d.name: rule_service.rules_using(conn, d.slugs()) for d in definitions}
    context: dict[str, Any] = {
        "definitions": definitions,
        "used": used,
        "kinds": indicator_service.event_kinds(engine),
        "families": FAMILY_LABELS,
        "aggregates": AGGREGATES,
        "compares": COMPARES,
        "directions": DIRECTIONS,
        "attributes": ATTRIBUTES,
        "numbers": NUMBERS,
        "form": {"family": "activity", "aggregate": "count", "field": "value", "events": []},
        "editing": None,
        "preview": None,
        "yaml_text": "",
        "as_of": (request.app.state.clock.now().date() + timedelta(days=1)).isoformat(),
        "error": error,
        "saved": request.query_params.get("saved"),
        **extra,
    }
    context["form"] = BLANK | context["form"]
    return render(request, "admin/indicators.html", context, principal=principal, status_code=code)


def _refused(request: Request, principal: Principal, exc: Exception, form: FormData, code: int) -> Response:
    editing = str(form.get("editing", "")) or None
    return _page(request, principal, error=str(exc)[:1000], code=code, form=_posted(form), editing=editing)


def _store(request: Request, principal: Principal, definitions: list[CustomDefinition]) -> dict[str, int]:
    counts = indicator_service.save_custom(
        request.app.state.engine,
        definitions,
        actor=principal,
        reserved=tuple(customer_fields()),
        rules_using=rule_service.rules_using,
        clock=request.app.state.clock,
    )
    request.app.state.cache.clear()  # the rules editor's field list reads the new indicator at once
    return counts


@router.get("/admin/indicators", name="admin_indicators")
def indicators_page(request: Request, principal: AdminDep, edit: str | None = None) -> Response:
    """Every custom indicator and what uses it, the form (for a new one, or `edit`'s), export and import."""
    if not edit:
        return _page(request, principal)
    try:
        found = indicator_service.get_custom(request.app.state.engine, edit[:64])
    except IndicatorNotFoundError as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_404_NOT_FOUND)
    return _page(request, principal, form=_form_of(found), editing=found.name)


@router.post("/admin/indicators", name="admin_indicator_save")
async def save_indicator(request: Request, principal: AdminDep) -> Response:
    """Create (or, from the edit form, replace) one indicator, checked like the API's; audited."""
    form = await request.form()
    editing = str(form.get("editing", ""))
    try:
        definition = parse_definition(_raw(form))
        if definition.name != (editing or definition.name):
            raise DefinitionError(f"name: stays {editing!r} when editing; create a new one for a new name")
        taken = {d.name for d in indicator_service.list_custom(request.app.state.engine)}
        if not editing and definition.name in taken:
            raise DefinitionError(f"name: indicator {definition.name!r} exists; edit it instead")
        _store(request, principal, [definition])
    except REFUSED as exc:
        return _refused(request, principal, exc, form, status.HTTP_400_BAD_REQUEST)
    return RedirectResponse(
        f"/admin/indicators?saved={definition.name}", status_code=status.HTTP_303_SEE_OTHER
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DefinitionError(f"as_of: {text[:40]!r} is not a date (YYYY-MM-DD)") from None


@router.post("/admin/indicators/preview", name="admin_indicator_preview")
async def preview_indicator(request: Request, principal: AdminDep) -> Response:
    """The form's definition computed for a few customers as of the chosen date; nothing is stored."""
    form = await request.form()
    try:
        definition = parse_definition(_raw(form))
        as_of = _day(str(form.get("as_of", "")))
    except DefinitionError as exc:
        return _refused(request, principal, exc, form, status.HTTP_400_BAD_REQUEST)
    settings = request.app.state.settings
    try:
        rows, valued = await run_in_threadpool(
            indicator_service.preview_custom,
            request.app.state.engine,
            definition,
            as_of,
            limit=PREVIEW_CUSTOMERS,
            reserved=tuple(customer_fields()),
            zone=settings.zone,
            analytics=settings.analytics,
        )
    except DefinitionError as exc:
        return _refused(request, principal, exc, form, status.HTTP_400_BAD_REQUEST)
    editing = str(form.get("editing", "")) or None
    preview = {"rows": rows, "valued": valued, "columns": definition.slugs(), "as_of": as_of}
    return _page(
        request, principal, form=_posted(form), editing=editing, preview=preview, as_of=as_of.isoformat()
    )


@router.post("/admin/indicators/import", name="admin_indicators_import")
def import_indicators(
    request: Request, principal: AdminDep, text: Annotated[str, Form(max_length=200_000)]
) -> Response:
    """Create or replace what a YAML document defines, checked whole first (nothing stored when bad)."""
    try:
        definitions = indicator_service.parse_custom_yaml(text, "YAML")
        _store(request, principal, definitions)
    except REFUSED as exc:
        return _page(
            request, principal, error=str(exc)[:1000], code=status.HTTP_400_BAD_REQUEST, yaml_text=text
        )
    names = ",".join(d.name for d in definitions)
    return RedirectResponse(f"/admin/indicators?saved={names[:500]}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/admin/indicators/export.yaml", name="admin_indicators_export")
def export_indicators(request: Request, principal: AdminDep) -> Response:
    """Every custom indicator as YAML (audited); the import here, the API and the CLI take it back."""
    text = indicator_service.export_custom(request.app.state.engine, actor=principal)
    return yaml_attachment(text, "indicators.yaml")


@router.post("/admin/indicators/{name}/delete", name="admin_indicator_delete")
def delete_indicator(request: Request, principal: AdminDep, name: str) -> Response:
    """Remove an indicator; refused, naming the rules, while any reads it; audited."""
    try:
        indicator_service.remove_custom(
            request.app.state.engine,
            name,
            actor=principal,
            rules_using=rule_service.rules_using,
            clock=request.app.state.clock,
        )
    except IndicatorInUseError as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_409_CONFLICT)
    except IndicatorNotFoundError as exc:
        return _page(request, principal, error=str(exc), code=status.HTTP_404_NOT_FOUND)
    request.app.state.cache.clear()
    return RedirectResponse("/admin/indicators", status_code=status.HTTP_303_SEE_OTHER)
