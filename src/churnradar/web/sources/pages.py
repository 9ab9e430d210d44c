"""Connected sources for admins: define, edit and delete a source in a form, test it, sync it now, and read
its ledger of recent runs.

The form's inputs are the connector kind's (`source.form`); what it submits is checked by the same service
as YAML and the API, and each problem is shown beside its input. Secrets are write-only: an input left blank
keeps the stored value, and a stored one shows as "set", never its value.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from churnradar.auth.schemas import Principal
from churnradar.i18n import msg
from churnradar.i18n.message import Message
from churnradar.ingest.exceptions import IngestError
from churnradar.ingest.schemas import IMPORT_ORDER
from churnradar.kit.clock import SystemClock
from churnradar.models.people import Role
from churnradar.source import service as source_service
from churnradar.source.exceptions import SourceDefinitionError, SourceError
from churnradar.source.form import COMMON, FormField
from churnradar.source.schemas import SourceView
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.templating import render

router = APIRouter(prefix="/admin/sources", dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add(
    "sources", NavItem("sources", N_("Sources"), "/admin/sources", order=85, roles=frozenset({Role.ADMIN}))
)
KIND_LABELS = {"sql": N_("SQL database"), "rest": N_("REST JSON API"), "folder": N_("Watched folder")}
RECORD_LABELS = {
    "users": N_("Users"),
    "customers": N_("Customers"),
    "events": N_("Events"),
    "contracts": N_("Contracts"),
    "invoices": N_("Invoices"),
}
RUN_LABELS = {"running": N_("sync running"), "succeeded": N_("sync succeeded"), "failed": N_("sync failed")}
MAX_VALUE = 20_000  # characters kept of one input (a query, a mapping)
LEDGER_ROWS = 20


def _list(request: Request, principal: Principal) -> Response:
    context = {
        "sources": source_service.list_sources(request.app.state.engine),
        "kinds": source_service.connector_kinds(),
        "kind_labels": KIND_LABELS,
        "run_labels": RUN_LABELS,
    }
    return render(request, "admin/sources.html", context, principal=principal)


def _schedule_preview(request: Request, schedule: str) -> dict[str, Any]:
    """The next runs of a cron expression (or why it is not one), for the form."""
    settings = request.app.state.settings
    if not schedule.strip():
        return {"runs": [], "error": None, "blank": True, "zone": settings.timezone}
    try:
        runs = source_service.next_runs(schedule.strip(), settings.timezone, SystemClock().now())
    except ValueError as exc:
        return {"runs": [], "error": str(exc)[:300], "blank": False, "zone": settings.timezone}
    return {"runs": runs, "error": None, "blank": False, "zone": settings.timezone}


def _groups(fields: tuple[FormField, ...]) -> list[tuple[str, list[FormField], list[FormField]]]:
    """The form's fieldsets in order: (label, inputs, per-kind inputs shown as a table's columns)."""
    found: dict[str, tuple[list[FormField], list[FormField]]] = {}
    for field in fields:
        single, per_kind = found.setdefault(field.group, ([], []))
        (per_kind if field.per_kind else single).append(field)
    return [(label, single, per_kind) for label, (single, per_kind) in found.items()]


def _located(fields: tuple[FormField, ...], problems: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Each problem beside the input its path names (the longest input that holds it), the rest apart."""
    names = {"name", *(n for f in (*COMMON, *fields) for n in f.names())}
    beside: dict[str, list[str]] = {}
    apart: list[str] = []
    for path, message in problems:
        holders = [n for n in names if path == n or path.startswith(n + ".")]
        if holders:
            beside.setdefault(max(holders, key=len), []).append(message)
        else:
            apart.append(f"{path or 'source'}: {message}")
    return {"errors": beside, "general_errors": apart}


def _form(
    request: Request,
    principal: Principal,
    kind: str,
    *,
    view: SourceView | None,
    values: dict[str, Any],
    problems: tuple[tuple[str, str], ...] = (),
    result: Message | None = None,
    ok: bool = True,
    status_code: int = 200,
) -> Response:
    engine = request.app.state.engine
    fields = source_service.form_fields(kind)
    context = {
        "kind": kind,
        "kind_labels": KIND_LABELS,
        "view": view,
        "values": values,
        "groups": _groups(fields),
        "common": _groups(COMMON),
        "record_kinds": [k.value for k in IMPORT_ORDER],
        "record_labels": RECORD_LABELS,
        "run_labels": RUN_LABELS,
        "placeholders": source_service.form_placeholders(kind),
        "secrets_set": set(view.secrets) if view else set(),
        "preview": _schedule_preview(request, str(values.get("schedule") or "")),
        "runs": source_service.recent_runs(engine, view.name, LEDGER_ROWS) if view else [],
        "result": result,
        "ok": ok,
        **_located(fields, problems),
    }
    return render(request, "admin/source.html", context, principal=principal, status_code=status_code)


def _edit(
    request: Request, principal: Principal, name: str, result: Message | None = None, ok: bool = True
) -> Response:
    view = source_service.get_source(request.app.state.engine, name)
    values = source_service.form_values_of(view)
    return _form(request, principal, view.kind, view=view, values=values, result=result, ok=ok)


@router.get("", name="admin_sources")
def sources(request: Request, principal: AdminDep) -> Response:
    """Every source with its schedule, last sync and cursors, and a form to add one of each kind."""
    return _list(request, principal)


@router.get("/new", name="admin_source_new")
def new_source(request: Request, principal: AdminDep, kind: str = "rest") -> Response:
    """An empty form for a new source of `kind`."""
    source_service.form_fields(kind)  # 404 for an unknown kind
    return _form(request, principal, kind, view=None, values={"enabled": True})


@router.get("/schedule", name="admin_source_schedule")
def schedule_preview(request: Request, principal: AdminDep, schedule: str = "") -> Response:
    """The next runs of the schedule typed so far (the form asks as one types)."""
    context = {"preview": _schedule_preview(request, schedule[:200])}
    return render(request, "admin/_source_schedule.html", context, principal=principal)


@router.post("", name="admin_source_save")
async def save_source(request: Request, principal: AdminDep) -> Response:
    """Create or change a source from the form; refused, the form comes back with each problem located."""
    submitted = await request.form()
    form = {k: v[:MAX_VALUE] for k, v in submitted.items() if isinstance(v, str)}
    kind, original = form.get("kind", ""), form.get("original", "")
    engine = request.app.state.engine
    view = source_service.get_source(engine, original) if original else None
    if view is not None:
        form["name"] = original  # the name is the source's key: it is not renamed here
    try:
        definition = source_service.definition_from(kind, form)
        saved = source_service.save_source(
            engine, definition, settings=request.app.state.settings, actor=principal, new=view is None
        )
    except SourceDefinitionError as exc:
        values: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("secrets.")}
        for field in source_service.form_fields(kind) + COMMON:
            for name in field.names():
                if field.input == "checkbox":
                    values[name] = name in form
        problems = exc.problems or (("", str(exc)),)
        return _form(request, principal, kind, view=view, values=values, problems=problems, status_code=422)
    return RedirectResponse(f"/admin/sources/{saved.name}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/{name}", name="admin_source")
def source(request: Request, principal: AdminDep, name: str, saved: bool = False) -> Response:
    """One source's form, its Test and Sync now buttons and its ledger."""
    return _edit(request, principal, name, msg("Saved.") if saved else None)


@router.post("/{name}/test", name="admin_source_test")
async def test_source(name: str, request: Request, principal: AdminDep) -> Response:
    """Reach the source and read a little, storing nothing; show what was found or why not."""
    engine, settings = request.app.state.engine, request.app.state.settings
    source_service.get_source(engine, name)  # 404 for an unknown name
    try:
        found = await run_in_threadpool(
            source_service.test_source, engine, name, settings=settings, actor=principal
        )
    except SourceError as exc:
        return _edit(
            request,
            principal,
            name,
            msg("The test of {name} failed: {error}", name=name, error=str(exc)),
            False,
        )
    return _edit(request, principal, name, msg("Test of {name}: {found}", name=name, found=found))


@router.post("/{name}/sync", name="admin_source_sync")
async def sync_now(name: str, request: Request, principal: AdminDep) -> Response:
    """Sync one source now and show what it did, with the ledger."""
    try:
        summary = await run_in_threadpool(
            source_service.sync_source,
            request.app.state.engine,
            name,
            settings=request.app.state.settings,
            actor=principal,
        )
    except (SourceError, IngestError) as exc:
        failed = msg("The sync of {name} failed: {error}", name=name, error=str(exc))
        return _edit(request, principal, name, failed, False)
    if not summary.ok:
        errors = [str(e) for k in summary.kinds for e in k.errors[:3]]
        error = summary.error or "; ".join(errors)
        failed = msg("The sync of {name} failed: {error}", name=name, error=error)
        return _edit(request, principal, name, failed, False)
    totals = summary.totals()
    done = msg(
        "Synced {name}: {rows} rows read, {inserted} inserted, {updated} updated.",
        name=name,
        rows=totals["rows"],
        inserted=totals["inserted"],
        updated=totals["updated"],
    )
    return _edit(request, principal, name, done)


@router.post("/{name}/delete", name="admin_source_delete")
async def delete_source(name: str, request: Request, principal: AdminDep) -> Response:
    """Delete the source (its runs and cursors; the data it imported stays) once the box is ticked."""
    form = await request.form()
    if form.get("confirm") != "yes":
        return _edit(request, principal, name, msg("Tick the box to confirm the deletion."), False)
    source_service.delete_source(request.app.state.engine, name, actor=principal)
    return RedirectResponse("/admin/sources", status_code=status.HTTP_303_SEE_OTHER)
