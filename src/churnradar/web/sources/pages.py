"""Connected sources for admins: each source's schedule, last sync and cursors, and "Sync now".

Sources are defined with `churnradar sources apply FILE` or the API; secrets show as "set" only.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from churnradar.auth.schemas import Principal
from churnradar.i18n import msg
from churnradar.i18n.message import Message
from churnradar.ingest.exceptions import IngestError
from churnradar.models.people import Role
from churnradar.source import service as source_service
from churnradar.source.exceptions import SourceError
from churnradar.web.csrf import require_csrf
from churnradar.web.deps import AdminDep
from churnradar.web.i18n import N_
from churnradar.web.nav import NavItem, nav_items
from churnradar.web.templating import render

router = APIRouter(prefix="/admin/sources", dependencies=[Depends(require_csrf)], include_in_schema=False)
nav_items.add(
    "sources", NavItem("sources", N_("Sources"), "/admin/sources", order=85, roles=frozenset({Role.ADMIN}))
)


def _page(request: Request, principal: Principal, result: Message | None = None, ok: bool = True) -> Response:
    views = source_service.list_sources(request.app.state.engine)
    context = {"sources": views, "result": result, "ok": ok}
    return render(request, "admin/sources.html", context, principal=principal)


@router.get("", name="admin_sources")
def sources(request: Request, principal: AdminDep) -> Response:
    """Every source with its schedule, last sync and cursors."""
    return _page(request, principal)


@router.post("/{name}/sync", name="admin_source_sync")
async def sync_now(name: str, request: Request, principal: AdminDep) -> Response:
    """Sync one source now and show what it did."""
    try:
        summary = await run_in_threadpool(
            source_service.sync_source, request.app.state.engine, name, settings=request.app.state.settings
        )
    except (SourceError, IngestError) as exc:
        return _page(
            request, principal, msg("The sync of {name} failed: {error}", name=name, error=str(exc)), False
        )
    if not summary.ok:
        errors = [str(e) for k in summary.kinds for e in k.errors[:3]]
        error = summary.error or "; ".join(errors)
        return _page(
            request, principal, msg("The sync of {name} failed: {error}", name=name, error=error), False
        )
    totals = summary.totals()
    done = msg(
        "Synced {name}: {rows} rows read, {inserted} inserted, {updated} updated.",
        name=name,
        rows=totals["rows"],
        inserted=totals["inserted"],
        updated=totals["updated"],
    )
    return _page(request, principal, done)
