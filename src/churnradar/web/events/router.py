"""Bulk ingestion of every canonical kind: a JSON array or NDJSON, checked like a file import, all or nothing.

`POST /events`, `/customers`, `/contracts`, `/invoices` take an ingest token (or a session); `/users/bulk`
an admin's. A user who does not see every customer may send rows only for customers they see, checked on what
will be stored: the rows' customer_id and, for a contract or invoice already stored, the customer it is
stored for now; customers' owner and team, which decide who sees a customer, only admins and directors set.
"""

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
from churnradar.ingest.schemas import SPECS, FileSummary, RecordKind, RowError
from churnradar.ingest.stored import stored_customers
from churnradar.ingest.validate import bounded
from churnradar.models import ImportStatus
from churnradar.models.people import Role
from churnradar.web.deps import IngestPrincipal

router = APIRouter(tags=["ingest"])
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


def _parse(body: bytes, content_type: str, kind: RecordKind) -> list[Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not UTF-8") from exc
    try:
        return _parse_text(text, content_type, kind)
    except RecursionError as exc:  # json's decoder recurses per level: 100,000 nested arrays exhaust it
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the body nests too deeply to be {kind.value}"
        ) from exc


def _parse_text(text: str, content_type: str, kind: RecordKind) -> list[Any]:
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
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"send a JSON array of {kind.value} objects (or NDJSON)"
        )
    return document


def _out_of_scope(
    request: Request, principal: Principal, records: list[dict[str, Any]], kind: RecordKind
) -> list[RowError]:
    """Rows naming customers the principal may not see, reported as unknown (their existence is not told).

    `records` carry the importer's own column names (`canonical_records`) and the customer id is read as the
    importer reads it, so the check sees exactly what will be stored.
    """
    if sees_all(principal):
        return []
    if kind is RecordKind.CUSTOMERS:
        fixed = [
            RowError(file="api", row=n, column=c, message=f"{c} is set by admins and directors only")
            for n, r in enumerate(records, start=1)
            for c in ("owner", "team")
            if ingest_service.customer_key(r.get(c)) is not None
        ]
        if fixed:
            return fixed
    keys = [ingest_service.customer_key(r.get("customer_id")) for r in records]
    key = SPECS[kind].key
    ids = [ingest_service.customer_key(r.get(key)) for r in records] if kind in STORED_FOR else []
    now = stored_customers(request.app.state.engine, kind, {i for i in ids if i})
    with request.app.state.sessions() as session:
        wanted = {k for k in keys if k} | set(now.values())
        visible = customer_service.visible_external_ids(session, principal, wanted)
    denied = [
        RowError(
            file="api", row=number, column="customer_id", message=f"unknown customer_id {bounded(customer)!r}"
        )
        for number, customer in enumerate(keys, start=1)
        if customer and customer not in visible
    ]
    denied += [
        RowError(
            file="api", row=number, column=key, message=f"{key} {bounded(i)!r} may not be changed by you"
        )
        for number, i in enumerate(ids, start=1)
        if i in now and now[i] not in visible
    ]
    return sorted(denied, key=lambda e: e.row or 0)


STORED_FOR = (RecordKind.CONTRACTS, RecordKind.INVOICES)  # kinds whose stored rows belong to a customer


async def _ingest(request: Request, principal: Principal, kind: RecordKind) -> Any:
    if kind is RecordKind.USERS and principal.role != Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins may send users")
    options: WebSettings = request.app.state.settings.web
    body = await _read_body(request, options.max_ingest_bytes)
    records = _parse(body, request.headers.get("content-type", "application/json"), kind)
    if len(records) > options.max_ingest_records:
        raise HTTPException(TOO_LARGE, f"at most {options.max_ingest_records:,} records per request")
    if not records:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "no records")
    try:
        records = ingest_service.canonical_records(records, kind)
    except FileFormatError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    denied = await run_in_threadpool(_out_of_scope, request, principal, records, kind)
    if denied:
        summary = FileSummary(
            file="api",
            kind=kind,
            status=ImportStatus.REJECTED.value,
            rows=len(records),
            rejected=len({e.row for e in denied}),
            error_count=len(denied),
            errors=denied[:1_000],
        )
    else:
        summary = await run_in_threadpool(
            ingest_service.import_records,
            request.app.state.engine,
            records,
            kind=kind,
            settings=request.app.state.settings,
            source=f"api:{principal.login}",
        )
    if summary.status == ImportStatus.SUCCEEDED and summary.inserted + summary.updated:
        request.app.state.cache.clear()  # the overview's counts include these rows now
    if summary.status != ImportStatus.SUCCEEDED:
        rejected = IngestRejected(detail="rejected, nothing stored", summary=summary)
        return JSONResponse(rejected.model_dump(mode="json"), status_code=UNPROCESSABLE)
    return summary


def _route(kind: RecordKind, path: str) -> None:
    async def ingest(request: Request, principal: IngestPrincipal) -> Any:
        return await _ingest(request, principal, kind)

    ingest.__name__ = f"ingest_{kind.value}"
    ingest.__doc__ = (
        f"{kind.value.capitalize()} as a JSON array or NDJSON (canonical columns, CONTRACT §2); "
        "the same rows twice store once." + (" Admins only." if kind is RecordKind.USERS else "")
    )
    router.post(
        path,
        response_model=FileSummary,
        summary=f"Ingest {kind.value} in bulk",
        responses={
            403: {"description": "This user may not send this kind."},
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
    )(ingest)


for _kind in (
    RecordKind.EVENTS,
    RecordKind.CUSTOMERS,
    RecordKind.CONTRACTS,
    RecordKind.INVOICES,
):
    _route(_kind, f"/{_kind.value}")
# `POST /users` creates one person with a password (web/admin); users in bulk, as a file import takes them:
_route(RecordKind.USERS, "/users/bulk")
