"""Connected sources through the API, for admins' tokens: define, list, test, sync, delete.

Secrets go in once (`PUT` with `secrets`) and come back as "set" only; a `PUT` without them keeps them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from churnradar.source import service as source_service
from churnradar.source.exceptions import SourceError
from churnradar.source.schemas import SourceDefinition, SourceView, SyncSummary
from churnradar.web.deps import AdminToken

router = APIRouter(prefix="/sources", tags=["sources"])


@router.get("", response_model=list[SourceView], summary="List connected sources")
def list_sources(_principal: AdminToken, request: Request) -> Any:
    """Every source with its schedule, last sync and cursors; secrets show as "set"."""
    return source_service.list_sources(request.app.state.engine)


@router.put("/{name}", response_model=SourceView, summary="Create or replace a source")
def put_source(name: str, body: SourceDefinition, principal: AdminToken, request: Request) -> Any:
    """Create or replace the source `name`; secrets not sent keep their stored values."""
    if body.name != name:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's name differs from the path's")
    return source_service.save_source(
        request.app.state.engine, body, settings=request.app.state.settings, actor=principal
    )


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a source")
def delete_source(name: str, principal: AdminToken, request: Request) -> Response:
    """Remove the source, its runs and cursors; the data it imported stays."""
    source_service.delete_source(request.app.state.engine, name, actor=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/test", summary="Reach a source without storing anything")
def check_source(name: str, principal: AdminToken, request: Request) -> dict[str, Any]:
    """`{"ok": true, "found": ...}`, or `{"ok": false, "error": ...}` naming what failed; audited."""
    source_service.get_source(request.app.state.engine, name)  # 404 for an unknown name
    try:
        found = source_service.test_source(
            request.app.state.engine, name, settings=request.app.state.settings, actor=principal
        )
    except SourceError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "found": found}


@router.post("/{name}/sync", response_model=SyncSummary, summary="Sync a source now")
async def sync_source(name: str, principal: AdminToken, request: Request, full: bool = False) -> Any:
    """Pull what is new (everything with `full=true`); the summary says what each kind stored or why not.
    Audited."""
    return await run_in_threadpool(
        source_service.sync_source,
        request.app.state.engine,
        name,
        settings=request.app.state.settings,
        full=full,
        actor=principal,
    )
