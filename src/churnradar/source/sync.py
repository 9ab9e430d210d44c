"""One sync of one source: every chunk its connector reads goes through the file import's own path.

Per record kind (people and customers first), the connector reads after the kind's cursor; each chunk is
imported by `ingest.service` (the same validation, staging, set-based merge, lake commit and import log as
`churnradar import`), and the chunk's batch row is written inside the import run's own transaction. The
cursor is the newest batch whose import run succeeded, so it moves exactly when the rows are committed: a
rejected chunk, an unreachable source or a kill -9 leaves it where it was, and nothing is imported twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from churnradar.config import Settings
from churnradar.ingest.exceptions import IngestError
from churnradar.ingest.mapping import parse_mapping
from churnradar.ingest.schemas import FileSummary, RowError
from churnradar.ingest.service import ImportOptions, import_file, import_records, settle_interrupted_imports
from churnradar.ingest.validate import bounded
from churnradar.kit.clock import Clock
from churnradar.lake.exceptions import LakeBusyError
from churnradar.lake.locking import writer_lock
from churnradar.lake.service import lake_for
from churnradar.models import ImportStatus
from churnradar.source import cursor as cursors
from churnradar.source import repository as repo
from churnradar.source.connectors import CONNECTORS, Chunk, Pull
from churnradar.source.exceptions import ConnectorError, SourceError
from churnradar.source.schemas import KindResult, SyncSummary
from churnradar.source.secrets import unseal


class _RejectedError(Exception):
    """A chunk the import refused: the sync stops, the cursor stays."""


def import_options(stored: dict[str, Any]) -> ImportOptions:
    """The import choices a stored source makes (its mapping, missing customers, a folder's encoding)."""
    config = stored["config"]
    mapping = parse_mapping(config.get("mapping"), f"source {stored['name']}: mapping")
    encoding = config.get("options", {}).get("encoding") if stored["kind"] == "folder" else None
    return ImportOptions(
        mapping=mapping,
        encoding=encoding,
        create_missing_customers=bool(config.get("create_missing_customers", False)),
    )


class Sync:
    """The sync of one stored source; `run` returns its summary (and has written its ledger row)."""

    def __init__(self, engine: Engine, stored: dict[str, Any], settings: Settings, clock: Clock) -> None:
        self.engine, self.stored, self.settings, self.clock = engine, stored, settings, clock
        self.name, self.source_id = str(stored["name"]), int(stored["id"])

    def run(self, *, full: bool) -> SyncSummary:
        lock = lake_for(self.engine).root / "_locks" / f"source-{self.source_id}.lock"
        try:
            with writer_lock(lock, timeout=0):
                return self._run(full)
        except LakeBusyError:
            raise SourceError(f"source {self.name}: a sync of it is already running") from None

    def _run(self, full: bool) -> SyncSummary:
        settle_interrupted_imports(self.engine, clock=self.clock)
        with self.engine.begin() as conn:
            # Runs of this source left running were killed (this process holds its lock now).
            repo.settle_runs(
                conn, self.source_id, at=self.clock.now(), note="interrupted; its committed batches stay"
            )
            run_id = repo.start_run(conn, self.source_id, full=full, at=self.clock.now())
        started = time.monotonic()
        summary = SyncSummary(
            source=self.name, run_id=run_id, status="succeeded", full=full, duration_seconds=0
        )
        try:
            self._pull_all(summary, run_id, full)
        except _RejectedError:
            summary.status = "failed"
        except (SourceError, IngestError) as exc:
            summary.status = "failed"
            message = str(exc)
            summary.error = message if message.startswith("source ") else f"source {self.name}: {message}"
        except Exception as exc:
            self._finish(summary, run_id, started, failure=f"{type(exc).__name__}: {exc}")
            raise
        self._finish(summary, run_id, started)
        return summary

    def _finish(self, summary: SyncSummary, run_id: int, started: float, failure: str | None = None) -> None:
        if failure is not None:
            summary.status, summary.error = "failed", f"source {self.name}: {failure}"
        summary.error = bounded(summary.error, 2000) if summary.error else None
        summary.duration_seconds = round(time.monotonic() - started, 3)
        totals = summary.totals()
        with self.engine.begin() as conn:
            repo.finish_run(
                conn,
                run_id,
                status=summary.status,
                finished_at=self.clock.now(),
                rows_read=totals["rows"],
                inserted=totals["inserted"],
                updated=totals["updated"],
                rejected=totals["rejected"],
                duration_seconds=summary.duration_seconds,
                cursors={r.kind.value: r.cursor for r in summary.kinds},
                error=summary.error,
            )

    def _pull_all(self, summary: SyncSummary, run_id: int, full: bool) -> None:
        kind = CONNECTORS.get(self.stored["kind"])
        config = self.stored["config"]
        try:
            options = kind.options.model_validate(config.get("options", {}))
        except ValueError as exc:
            raise ConnectorError(
                f"source {self.name}: its stored options no longer validate: {exc}"
            ) from None
        choices = import_options(self.stored)
        secrets = unseal(self.stored["secrets"], self.settings, source=self.name)
        connector = kind.open(self.name, options, secrets)
        try:
            for record_kind in connector.kinds():
                result = KindResult(kind=record_kind)
                summary.kinds.append(result)
                with self.engine.connect() as conn:
                    start = None if full else repo.cursor(conn, self.source_id, record_kind.value)
                    done = frozenset() if full else repo.done(conn, self.source_id, record_kind.value)
                result.cursor = cursors.shown(start)
                pull = Pull(record_kind, start, done, self.settings.imports.batch_rows)
                for chunk in connector.chunks(pull):
                    imported = self._import(chunk, choices, run_id)
                    summary.owner_changes += imported.owner_changes
                    self._count(result, chunk, imported)
        finally:
            connector.close()

    def _import(self, chunk: Chunk, choices: ImportOptions, run_id: int) -> FileSummary:
        def note(conn: Connection, import_run_id: int) -> None:
            repo.add_batch(
                conn,
                source_id=self.source_id,
                run_id=run_id,
                import_run_id=import_run_id,
                kind=chunk.kind.value,
                cursor=chunk.cursor,
            )

        common: dict[str, Any] = {
            "kind": chunk.kind,
            "settings": self.settings,
            "options": choices,
            "clock": self.clock,
            "on_start": note,
        }
        if chunk.path is not None:
            return import_file(
                self.engine, chunk.path, source=f"source:{self.name}/{chunk.path.name}", **common
            )
        return import_records(
            self.engine, chunk.records, source=f"source:{self.name}/{chunk.kind.value}", **common
        )

    def _count(self, result: KindResult, chunk: Chunk, imported: FileSummary) -> None:
        first_row = result.rows  # rows of this kind before the chunk, for row numbers across chunks
        result.rows += imported.rows
        result.rejected += imported.rejected
        if imported.status != ImportStatus.SUCCEEDED:
            result.error_count += imported.error_count
            result.errors += [self._located(e, chunk, first_row) for e in imported.errors]
            raise _RejectedError
        result.batches += 1
        result.inserted += imported.inserted
        result.updated += imported.updated
        result.unchanged += imported.unchanged
        if chunk.cursor is not None and chunk.path is None:
            result.cursor = cursors.shown(chunk.cursor)

    def _located(self, error: RowError, chunk: Chunk, first_row: int) -> RowError:
        """An import error named by source, kind and where it came from: the page, the row, or the file."""
        where = f"source {self.name}, {chunk.kind.value}"
        row = error.row
        if chunk.path is not None:
            where += f" file {Path(chunk.path).name}"
        elif (page := chunk.place(row)) is not None and row is not None:
            first = max(f for f, label in chunk.where if label == page)
            where += f" {page}"
            row = row - first + 1
        elif row is not None:
            row += first_row
        return RowError(file=where, row=row, column=error.column, message=error.message)
