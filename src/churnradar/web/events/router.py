"""Bulk event ingestion: a JSON array or NDJSON, checked like a file import, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from churnradar.auth.schemas import Principal
from churnradar.config import WebSettings
from churnradar.customer import service as customer_service
from churnradar.customer.access import sees_all
from churnradar.ingest import service as ingest_service
from churnradar.ingest.exceptions import FileFormatError
from churnradar.ingest.schemas import FileSummary, RecordKind, RowError
from churnradar.ingest.validate import bounded
from churnradar.models import ImportStatus
from churnradar.web.deps import IngestPrincipal

router = APIRouter(prefix="/events", tags=["events"])
# By number: Starlette renamed these constants (RFC 9110 names) in versions newer than our lower bound.
TOO_LARGE, UNPROCESSABLE = 413, 422
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines", "application/ndjson")


class IngestRejected(BaseModel):
    """A rejected batch: nothing was stored; each error names the record by its position (row 1 = first)."""

    detail: str
    summary: FileSummary


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(TOO_LARGE, f"the body exceeds {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        # Counted as it arrives: a client that lies about (or omits) Content-Length is cut off all the same.
        if size > limit:
            raise HTTPException(TOO_LARGE, f"the body exceeds {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes, content_type: str) -> list[Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not UTF-8") from exc
    try:
        return _parse_text(text, content_type)
    except RecursionError as exc:  # json's decoder recurses per level: 100,000 nested arrays exhaust it
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body nests too deeply to be events") from exc


def _parse_text(text: str, content_type: str) -> list[Any]:
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise HTTPException(
                        status.HTTP_400_BAD_REQUEST, f"line {number} is not JSON: {exc.msg}"
                    ) from exc
        return records
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON: {exc.msg}") from exc
    if not isinstance(document, list):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "send a JSON array of event objects (or NDJSON)")
    return document


def _out_of_scope(request: Request, principal: Principal, records: list[dict[str, Any]]) -> list[RowError]:
    """Rows naming customers the principal may not see, reported as unknown (their existence is not told).

    `records` carry the importer's own column names (`canonical_records`) and the customer id is read as the
    importer reads it, so the check sees exactly what will be stored.
    """
    if sees_all(principal):
        return []
    keys = [ingest_service.customer_key(r.get("customer_id")) for r in records]
    with request.app.state.sessions() as session:
        visible = customer_service.visible_external_ids(session, principal, {k for k in keys if k})
    return [
        RowError(
            file="api", row=number, column="customer_id", message=f"unknown customer_id {bounded(key)!r}"
        )
        for number, key in enumerate(keys, start=1)
        if key and key not in visible
    ]


@router.post(
    "",
    response_model=FileSummary,
    summary="Ingest events in bulk",
    responses={
        413: {"description": "The body is larger than the limit."},
        422: {"model": IngestRejected, "description": "Some rows are invalid; nothing was stored."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest_events(request: Request, principal: IngestPrincipal) -> Any:
    """Events as a JSON array or NDJSON (canonical columns, CONTRACT §2); the same rows twice store once."""
    options: WebSettings = request.app.state.settings.web
    body = await _read_body(request, options.max_ingest_bytes)
    records = _parse(body, request.headers.get("content-type", "application/json"))
    if len(records) > options.max_ingest_records:
        raise HTTPException(TOO_LARGE, f"at most {options.max_ingest_records:,} records per request")
    if not records:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "no records")
    try:
        records = ingest_service.canonical_records(records, RecordKind.EVENTS)
    except FileFormatError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    denied = await run_in_threadpool(_out_of_scope, request, principal, records)
    if denied:
        summary = FileSummary(
            file="api",
            kind=RecordKind.EVENTS,
            status=ImportStatus.REJECTED.value,
            rows=len(records),
            rejected=len(denied),
            error_count=len(denied),
            errors=denied[:1_000],
        )
    else:
        summary = await run_in_threadpool(
            ingest_service.import_records,
            request.app.state.engine,
            records,
            kind=RecordKind.EVENTS,
            settings=request.app.state.settings,
            source=f"api:{principal.login}",
        )
    if summary.status == ImportStatus.SUCCEEDED and summary.inserted + summary.updated:
        request.app.state.cache.clear()  # the overview's counts include these events now
    if summary.status != ImportStatus.SUCCEEDED:
        rejected = IngestRejected(detail="rejected, nothing stored", summary=summary)
        return JSONResponse(rejected.model_dump(mode="json"), status_code=UNPROCESSABLE)
    return summary
