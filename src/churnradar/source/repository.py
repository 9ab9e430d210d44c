"""The sources tables: definitions, sync runs, and the batches whose import runs carry each cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from churnradar.models import ImportRun, ImportStatus, Source, SourceBatch, SourceRun

SOURCES: Table = Source.__table__  # type: ignore[assignment]
RUNS: Table = SourceRun.__table__  # type: ignore[assignment]
BATCHES: Table = SourceBatch.__table__  # type: ignore[assignment]
IMPORT_RUNS: Table = ImportRun.__table__  # type: ignore[assignment]


def get(conn: Connection, name: str) -> dict[str, Any] | None:
    """The stored source called `name`, as a mapping of its columns."""
    row = conn.execute(select(SOURCES).where(SOURCES.c.name == name)).mappings().first()
    return dict(row) if row else None


def all_sources(conn: Connection) -> list[dict[str, Any]]:
    """Every stored source, by name."""
    return [dict(r) for r in conn.execute(select(SOURCES).order_by(SOURCES.c.name)).mappings()]


def insert_source(conn: Connection, **values: Any) -> int:
    """Store a new source; its id."""
    return int(conn.execute(insert(SOURCES).values(**values).returning(SOURCES.c.id)).scalar_one())


def update_source(conn: Connection, source_id: int, **values: Any) -> None:
    """Change a stored source's columns."""
    conn.execute(update(SOURCES).where(SOURCES.c.id == source_id).values(**values))


def delete_source(conn: Connection, source_id: int) -> None:
    """Remove a source with its runs and batches (the imported data stays)."""
    conn.execute(delete(BATCHES).where(BATCHES.c.source_id == source_id))
    conn.execute(delete(RUNS).where(RUNS.c.source_id == source_id))
    conn.execute(delete(SOURCES).where(SOURCES.c.id == source_id))


def start_run(conn: Connection, source_id: int, *, full: bool, at: datetime) -> int:
    """A running sync row; its id."""
    query = insert(RUNS).values(source_id=source_id, status="running", full=full, started_at=at)
    return int(conn.execute(query.returning(RUNS.c.id)).scalar_one())


def finish_run(conn: Connection, run_id: int, **values: Any) -> None:
    """Close a sync row with its counts, cursors and error."""
    conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))


def settle_runs(conn: Connection, source_id: int, *, at: datetime, note: str) -> int:
    """A source's sync rows a killed process left running, marked failed (committed batches stay so)."""
    running = (RUNS.c.source_id == source_id) & (RUNS.c.status == "running")
    query = update(RUNS).where(running).values(status="failed", finished_at=at, error=note)
    return int(conn.execute(query).rowcount or 0)


def add_batch(
    conn: Connection, *, source_id: int, run_id: int, import_run_id: int, kind: str, cursor: str | None
) -> None:
    """Note a batch beside its import run, in the import run's own transaction."""
    conn.execute(
        insert(BATCHES).values(
            source_id=source_id, source_run_id=run_id, import_run_id=import_run_id, kind=kind, cursor=cursor
        )
    )


def _committed(source_id: int, kind: str) -> Any:
    return (
        select(BATCHES.c.cursor)
        .join(IMPORT_RUNS, IMPORT_RUNS.c.id == BATCHES.c.import_run_id)
        .where(
            BATCHES.c.source_id == source_id,
            BATCHES.c.kind == kind,
            IMPORT_RUNS.c.status == ImportStatus.SUCCEEDED.value,
        )
    )


def cursor(conn: Connection, source_id: int, kind: str) -> str | None:
    """The cursor of the kind's newest committed batch (None: nothing committed yet)."""
    query = _committed(source_id, kind).order_by(BATCHES.c.id.desc()).limit(1)
    return conn.execute(query).scalar_one_or_none()


def done(conn: Connection, source_id: int, kind: str) -> frozenset[str]:
    """Every committed batch's cursor (a folder's imported files)."""
    return frozenset(str(c) for c in conn.execute(_committed(source_id, kind)).scalars() if c is not None)


def cursors(conn: Connection, source_id: int) -> dict[str, str | None]:
    """Per kind, the newest committed batch's cursor."""
    newest = (
        select(BATCHES.c.kind, func.max(BATCHES.c.id).label("id"))
        .join(IMPORT_RUNS, IMPORT_RUNS.c.id == BATCHES.c.import_run_id)
        .where(BATCHES.c.source_id == source_id, IMPORT_RUNS.c.status == ImportStatus.SUCCEEDED.value)
        .group_by(BATCHES.c.kind)
        .subquery()
    )
    query = select(BATCHES.c.kind, BATCHES.c.cursor).join(newest, newest.c.id == BATCHES.c.id)
    return {str(k): c for k, c in conn.execute(query)}


def last_runs(conn: Connection) -> dict[int, dict[str, Any]]:
    """Each source's newest sync row."""
    newest = select(RUNS.c.source_id, func.max(RUNS.c.id).label("id")).group_by(RUNS.c.source_id).subquery()
    query = select(RUNS).join(newest, newest.c.id == RUNS.c.id)
    return {int(r["source_id"]): dict(r) for r in conn.execute(query).mappings()}


def runs(conn: Connection, source_id: int, limit: int) -> list[dict[str, Any]]:
    """A source's newest sync rows first."""
    query = select(RUNS).where(RUNS.c.source_id == source_id).order_by(RUNS.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]
