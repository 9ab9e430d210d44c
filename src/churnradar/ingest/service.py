"""Import files (or a folder of them): stream, validate, stage, check, merge, log.

Customers, contracts and users go to the store in one transaction per file. Events and invoices go to the
lake in one Delta commit per file, between a pending import-log row and its success (see event_commit);
clean batches of events take the vectorised path (fast_events), any other batch the text validator.
A file with any invalid row stores nothing, and its rejection is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from churnradar.config import Settings
from churnradar.ingest import events, fast_events
from churnradar.ingest import repository as repo
from churnradar.ingest.event_commit import commit_events, settle_interrupted_imports
from churnradar.ingest.exceptions import FileFormatError
from churnradar.ingest.extras import typed_extras
from churnradar.ingest.fast_csv import ArrowCsvReader, FastPathAbandonedError
from churnradar.ingest.files import files_to_import, kind_of
from churnradar.ingest.mapping import ColumnMapping, MappingFile
from churnradar.ingest.readers import (
    Batch,
    CsvReader,
    RecordsReader,
    TableReader,
    TableRecordsReader,
    cell_text,
    open_table,
)
from churnradar.ingest.schemas import (
    SPECS,
    FileSummary,
    ImportSummary,
    RecordKind,
)
from churnradar.ingest.validate import ColumnPlan, ErrorLog, bounded, plan_columns, validate_batch
from churnradar.kit.clock import Clock, SystemClock
from churnradar.lake.schemas import LakeTable, MergeCounts
from churnradar.models import ImportRun, ImportStatus

Progress = Callable[[str, int], None]
# Called with the import's run id inside the transaction that writes its run row: for customers, contracts
# and users the one transaction that stores the rows; for events and invoices the pending row, which settles
# as succeeded exactly when the lake commit is there (event_commit). A source notes its batch and cursor here.
OnStart = Callable[[Connection, int], None]
__all__ = [
    "ImportOptions",
    "import_file",
    "import_path",
    "import_records",
    "kind_of",
    "recent_imports",
    "settle_interrupted_imports",
]


def canonical_records(records: Sequence[Any], kind: RecordKind) -> list[dict[str, Any]]:
    """Records with their keys as the importer reads them (case, surrounding spaces): what scope checks see.

    Two keys of one record that name the same column are refused, so that a check and the import cannot
    read different values.
    """
    rename = MappingFile().for_kind(kind).rename
    result: list[dict[str, Any]] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            raise FileFormatError(f"record {number} is not an object", row=number)
        keys = [str(k) for k in record]
        names = rename(keys)
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise FileFormatError(
                f"record {number} names column {bounded(twice, 100)!r} more than once", row=number
            )
        result.append(dict(zip(names, record.values(), strict=True)))
    return result


def customer_key(value: Any) -> str | None:
    """A record's customer_id as the importer reads it."""
    return cell_text(value)


@dataclass(frozen=True)
class ImportOptions:
    """Choices a user makes for one import."""

    mapping: MappingFile = field(default_factory=MappingFile)
    encoding: str | None = None
    create_missing_customers: bool = False


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


class _Import:
    """The import of one file or one batch of records; `run` returns its summary."""

    def __init__(
        self,
        engine: Engine,
        source: str,
        open_reader: Callable[[], TableReader],
        kind: RecordKind,
        options: ImportOptions,
        settings: Settings,
        clock: Clock,
        progress: Progress | None,
        on_start: OnStart | None = None,
    ) -> None:
        self.engine, self.source, self.open_reader, self.kind = engine, source, open_reader, kind
        self.options, self.settings, self.clock, self.progress = options, settings, clock, progress
        self.on_start = on_start
        self.name = Path(source).name
        self.spec = SPECS[kind]
        self.mapping: ColumnMapping = options.mapping.for_kind(kind)
        self.log = ErrorLog(file=self.name, limit=settings.imports.max_errors_listed)
        self.summary = FileSummary(file=source, kind=kind, status=ImportStatus.REJECTED.value)
        self._kinds: list[pd.DataFrame] = []  # rows and latest ts per event kind, batch by batch
        self.typed_extras = typed_extras(engine, kind)

    def run(self) -> FileSummary:
        started = self.clock.now()
        try:
            if self.kind in events.LAKE_KINDS:
                self._load_lake()
            else:
                with _transaction(self.engine) as conn:
                    self._load(conn)
                    if self.log.count:
                        conn.rollback()
        except FileFormatError as exc:
            self.log.add(str(exc), row=exc.row)
        if self.log.count:
            self._finish_rejected(started)
        return self.summary

    def _read(self, keep: Callable[[Any], None], clear: Callable[[], None]) -> ColumnPlan:
        """Read, validate and hand every clean batch to `keep`; returns the file's column plan."""
        reader = self.open_reader()
        plan = plan_columns(reader.header, self.spec, self.mapping, self.name)
        try:
            self._stage_batches(keep, reader, plan)
        except FastPathAbandonedError:
            # The bulk parser met a line it cannot number exactly: start over with the exact reader.
            clear()
            self.log = ErrorLog(file=self.name, limit=self.settings.imports.max_errors_listed)
            self.summary.rows = 0
            self._kinds = []
            assert isinstance(reader, ArrowCsvReader)
            self._stage_batches(keep, CsvReader(reader.path, encoding=reader.encoding), plan)
        return plan

    def _load(self, conn: Connection) -> None:
        stage = repo.create_stage(conn, self.spec)
        plan = self._read(
            lambda clean: repo.stage_frame(conn, stage, clean), lambda: repo.clear_stage(conn, stage)
        )
        self._check_and_merge(conn, stage, plan.stored)
        repo.drop_stage(conn, stage)

    def _stage_batches(self, keep: Callable[[Any], None], reader: TableReader, plan: ColumnPlan) -> None:
        rows = self.settings.imports.batch_rows
        fast = self.kind is RecordKind.EVENTS and fast_events.applies(self.mapping)
        fast = fast and not set(plan.extra) & set(self.typed_extras)  # typed attributes: checked one by one
        arrow = reader.arrow_batches(rows) if fast else None
        if arrow is None:
            for batch in reader.batches(rows):
                self._stage_text(keep, batch, reader.header, plan)
            return
        for record_batch, first_row in arrow:
            staged = fast_events.stage_batch(
                record_batch,
                first_row,
                plan,
                self.spec,
                schema=events.STAGE_SCHEMA,
                zone=self.settings.zone,
                max_text=self.settings.imports.max_text_chars,
                trimmed=reader.trimmed,
            )
            if staged is None:  # a problem somewhere in the batch: the text validator names it
                self._stage_text(keep, reader.text_batch(record_batch, first_row), reader.header, plan)
                continue
            self.summary.rows += staged.num_rows
            keep(staged)
            if staged.num_rows:
                self._kinds.append(fast_events.kinds_of(staged))
            if self.progress:
                self.progress(self.name, self.summary.rows)

    def _stage_text(
        self, keep: Callable[[Any], None], batch: Batch, header: list[str], plan: ColumnPlan
    ) -> None:
        for row, message in batch.problems:
            self.log.add(message, row=row)
        for row, column, message in batch.located:
            self.log.add(message, row=row, column=column)
        refused = len(batch.problems) + len({row for row, _, _ in batch.located})
        self.log.rejected_rows += refused
        self.summary.rows += batch.size + refused
        if batch.size:
            clean = validate_batch(
                batch.frame(header),
                batch.row_numbers,
                plan,
                self.spec,
                self.mapping,
                zone=self.settings.zone,
                max_text=self.settings.imports.max_text_chars,
                log=self.log,
                typed_extras=self.typed_extras,
            )
            # Rows that passed are staged even in a doomed file: duplicate and unknown-customer checks
            # run on the stage, so every bad row is reported; nothing is stored anyway.
            keep(clean)
            if self.kind is RecordKind.EVENTS and not clean.empty:
                self._kinds.append(clean.groupby("kind")["ts"].agg(["size", "max"]))
        if self.progress:
            self.progress(self.name, self.summary.rows)

    def _load_lake(self) -> None:
        schema, key = events.LAKE_KINDS[self.kind]
        stage = events.ArrowStage(schema)
        plan = self._read(stage.add, stage.clear)
        batch = events.StagedBatch(stage.table(), key)
        del stage
        try:
            with self.engine.connect() as conn:
                checked = batch.check(conn, self.settings.imports.max_errors_listed)
            for row, value, first in checked.duplicate_rows:
                self.log.add(f"duplicate {key} {value!r} (first at row {first})", row=row, column=key)
            self.log.count += checked.duplicates - len(checked.duplicate_rows)
            self.log.rejected_rows += checked.duplicates
            self.summary.merged_duplicates = checked.merged
            if not self.options.create_missing_customers:
                for row, customer in checked.unknown_rows:
                    self.log.add(
                        f"unknown customer_id {customer!r} (import it in customers first, "
                        "or pass --create-missing-customers)",
                        row=row,
                        column="customer_id",
                    )
                self.log.count += checked.unknown - len(checked.unknown_rows)
                self.log.rejected_rows += checked.unknown
            if self.log.count:
                return
            self.summary.created_customers = commit_events(
                self.engine,
                batch,
                table=LakeTable.EVENTS if self.kind is RecordKind.EVENTS else LakeTable.INVOICES,
                values=tuple(plan.stored),
                create_missing=self.options.create_missing_customers,
                start_run=lambda conn: self._start_run(conn, pending=True),
                succeed=self._succeed,
                fail=self._fail,
            )
        finally:
            batch.close()

    def _fail(self, run_id: int, message: str) -> None:
        with _transaction(self.engine) as conn:
            repo.finish_run(
                conn,
                run_id,
                status=ImportStatus.FAILED.value,
                finished_at=self.clock.now(),
                errors={"count": 1, "first": [message]},
            )

    def _check_and_merge(self, conn: Connection, stage: Table, present: set[str]) -> None:
        limit = self.settings.imports.max_errors_listed
        if self.spec.key in present:
            count, dups = repo.duplicate_rows(conn, stage, self.spec, limit)
            for row, key, first in dups:
                self.log.add(
                    f"duplicate {self.spec.key} {key!r} (first at row {first})", row=row, column=self.spec.key
                )
            self.log.count += count - len(dups)
            self.log.rejected_rows += count
        if self.spec.refers_to_customer:
            repo.resolve_customers(conn, stage)
            if self.options.create_missing_customers:
                self.summary.created_customers = repo.create_missing_customers(conn, stage)
            else:
                count, unknown = repo.unknown_customers(conn, stage, limit)
                for row, customer in unknown:
                    self.log.add(
                        f"unknown customer_id {customer!r} (import it in customers first, "
                        "or pass --create-missing-customers)",
                        row=row,
                        column="customer_id",
                    )
                self.log.count += count - len(unknown)
                self.log.rejected_rows += count
        if self.log.count:
            return
        self.summary.created_users = repo.ensure_people(conn, stage, self.kind, present)
        if self.kind is RecordKind.CUSTOMERS and "owner" in present:
            self.summary.owner_changes = repo.record_owner_changes(
                conn, stage, at=self.clock.now(), source=self.source
            )
        run_id = self._start_run(conn)
        target = repo.TARGETS[self.kind]
        values = repo.value_columns(self.spec, present, stage, target, conn.dialect.name)
        counts = repo.merge(
            conn,
            stage,
            target,
            repo.match_condition(self.spec, stage, target),
            values,
            also_changed=repo.manager_changed(stage)
            if self.kind is RecordKind.USERS and "manager" in present
            else None,
        )
        if self.kind is RecordKind.USERS and "manager" in present:
            repo.assign_managers(conn, stage)
        self._succeed(conn, run_id, counts)

    def _succeed(self, conn: Connection, run_id: int, counts: MergeCounts) -> None:
        self.summary.inserted, self.summary.updated, self.summary.unchanged = (
            counts.inserted,
            counts.updated,
            counts.unchanged,
        )
        self.summary.status = ImportStatus.SUCCEEDED.value
        kinds = self._kinds_summary() if self.kind is RecordKind.EVENTS else None
        latest = max((k["latest"] for k in (kinds or {}).values() if k["latest"]), default=None)
        repo.finish_run(
            conn,
            run_id,
            status=ImportStatus.SUCCEEDED.value,
            finished_at=self.clock.now(),
            rows_read=self.summary.rows,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
            kinds=kinds,
            latest_event_at=datetime.fromisoformat(latest) if latest else None,
            errors=None,
        )

    def _kinds_summary(self) -> dict[str, dict[str, Any]]:
        # Per event kind: rows and latest time, for the import log that data-health checks learn from.
        # Counted before identical id-less rows are merged, like the file's own row count.
        if not self._kinds:
            return {}
        merged = pd.concat(self._kinds).groupby(level=0).agg({"size": "sum", "max": "max"})
        return {
            str(k): {"rows": int(r["size"]), "latest": pd.Timestamp(r["max"]).isoformat()}
            for k, r in merged.iterrows()
        }

    def _start_run(self, conn: Connection, *, pending: bool = False) -> int:
        run_id = repo.start_run(conn, source=self.source, kind=self.kind.value, started_at=self.clock.now())
        if self.on_start is not None:
            self.on_start(conn, run_id)
        if pending and self.kind is RecordKind.EVENTS:  # known before the lake commit: a settled run keeps it
            kinds = self._kinds_summary()
            latest = max((k["latest"] for k in kinds.values() if k["latest"]), default=None)
            repo.finish_run(
                conn,
                run_id,
                rows_read=self.summary.rows,
                kinds=kinds,
                latest_event_at=datetime.fromisoformat(latest) if latest else None,
            )
        return run_id

    def _finish_rejected(self, started: datetime) -> None:
        self.summary.status = ImportStatus.REJECTED.value
        self.summary.rejected = max(self.log.rejected_rows, 1 if self.log.count else 0)
        self.summary.error_count = self.log.count
        self.summary.errors = sorted(self.log.listed, key=lambda e: (e.row or 0, e.column or ""))
        self.summary.inserted = self.summary.updated = self.summary.unchanged = 0
        with _transaction(self.engine) as conn:
            repo.log_rejected_run(
                conn,
                source=self.source,
                kind=self.kind.value,
                status=ImportStatus.REJECTED.value,
                started_at=started,
                finished_at=self.clock.now(),
                rows_read=self.summary.rows,
                inserted=0,
                updated=0,
                unchanged=0,
                rejected=self.summary.rejected,
                errors={"count": self.log.count, "first": [str(e) for e in self.log.listed[:100]]},
            )


def import_path(
    engine: Engine,
    path: Path,
    *,
    settings: Settings,
    options: ImportOptions | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    kind: RecordKind | None = None,
) -> ImportSummary:
    """Import a canonical file, or every canonical file in a folder (people and customers first).

    `kind` overrides what the file name says, for files with names like `Telco-Customer-Churn.csv`.
    """
    options = options or ImportOptions()
    files = files_to_import(path, kind)
    settle_interrupted_imports(engine, clock=clock)
    summaries = [_file(engine, f, k, str(f), options, settings, clock, progress, None) for f, k in files]
    return ImportSummary(files=summaries)


def _file(
    engine: Engine,
    path: Path,
    kind: RecordKind,
    source: str,
    options: ImportOptions,
    settings: Settings,
    clock: Clock | None,
    progress: Progress | None,
    on_start: OnStart | None,
) -> FileSummary:
    encoding = options.encoding or options.mapping.for_kind(kind).encoding
    opener = lambda: open_table(path, encoding=encoding)  # noqa: E731 - a reader opened (again) on demand
    return _Import(
        engine, source, opener, kind, options, settings, clock or SystemClock(), progress, on_start
    ).run()


def import_file(
    engine: Engine,
    path: Path,
    *,
    kind: RecordKind,
    settings: Settings,
    source: str,
    options: ImportOptions | None = None,
    clock: Clock | None = None,
    on_start: OnStart | None = None,
) -> FileSummary:
    """Import one file of `kind` logged under `source` (a connected folder's `source:NAME/FILE`)."""
    settle_interrupted_imports(engine, clock=clock)
    return _file(engine, path, kind, source, options or ImportOptions(), settings, clock, None, on_start)


def import_records(
    engine: Engine,
    records: Sequence[Mapping[str, Any]] | pa.Table,
    *,
    kind: RecordKind,
    settings: Settings,
    source: str = "api",
    options: ImportOptions | None = None,
    clock: Clock | None = None,
    on_start: OnStart | None = None,
) -> FileSummary:
    """Import records given as mappings (a REST batch) with the same checks, errors and idempotency as a file.

    Errors name the record by its position: record 1 is the first (reported as row 1). An Arrow table (a
    connector's chunk) keeps its typed columns, so clean events take the vectorised path.
    """
    options = options or ImportOptions()
    settle_interrupted_imports(engine, clock=clock)
    return _Import(
        engine,
        source,
        lambda: TableRecordsReader(records) if isinstance(records, pa.Table) else RecordsReader(records),
        kind,
        options,
        settings,
        clock or SystemClock(),
        None,
        on_start,
    ).run()


def recent_imports(session: Session, limit: int = 8) -> Sequence[ImportRun]:
    """The latest imports, files and API batches alike, newest first."""
    return repo.recent_runs(session, limit)
