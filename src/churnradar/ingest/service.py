"""Import files (or a folder of them) into the store: stream, validate, stage, check, merge, log.

One file is one transaction: a file with any invalid row stores nothing, and its rejection is logged.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import Index, Table, literal
from sqlalchemy.engine import Connection, Engine

from churnradar.config import Settings
from churnradar.ingest import duck_stage
from churnradar.ingest import repository as repo
from churnradar.ingest.exceptions import FileFormatError, IngestError
from churnradar.ingest.fast_csv import BLOCK_BYTES, ArrowCsvReader, FastPathAbandonedError
from churnradar.ingest.mapping import ColumnMapping, MappingFile
from churnradar.ingest.readers import SUFFIXES, CsvReader, RecordsReader, TableReader, open_table
from churnradar.ingest.schemas import IMPORT_ORDER, SPECS, FileSummary, ImportSummary, RecordKind
from churnradar.ingest.validate import ColumnPlan, ErrorLog, plan_columns, validate_batch
from churnradar.kit.clock import Clock, SystemClock
from churnradar.models import ImportStatus

Progress = Callable[[str, int], None]
_SCRATCH = "import_scratch"  # the attached scratch files of an events import through DuckDB
_SCRATCH_FILES = 8  # SQLite attaches at most ten databases


@dataclass(frozen=True)
class ImportOptions:
    """Choices a user makes for one import."""

    mapping: MappingFile = field(default_factory=MappingFile)
    encoding: str | None = None
    create_missing_customers: bool = False


def kind_of(path: Path) -> RecordKind | None:
    """The record kind a file name announces: `customers.csv`, `events_2024-01.parquet`, ..."""
    stem = path.name[: -len(path.suffix)].lower() if path.suffix else path.name.lower()
    for kind in RecordKind:
        if stem == kind.value or (stem.startswith(kind.value) and stem[len(kind.value)] in "_-. "):
            return kind
    return None


def files_to_import(path: Path, kind: RecordKind | None = None) -> list[tuple[Path, RecordKind]]:
    """The importable files at `path` (a file, or a folder's files), people and customers first."""
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    if kind is not None:
        if path.is_dir():
            raise IngestError(f"{path}: a kind can be given for one file, not for a folder")
        if path.suffix.lower() not in SUFFIXES:
            raise IngestError(f"{path.name}: unsupported file type; use one of {', '.join(SUFFIXES)}")
        return [(path, kind)]
    candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    found: list[tuple[Path, RecordKind]] = []
    for candidate in candidates:
        kind = kind_of(candidate)
        if kind is None or candidate.suffix.lower() not in SUFFIXES:
            if not path.is_dir():
                raise IngestError(
                    f"{candidate.name}: cannot tell what it holds; name it customers.*, events.*, "
                    f"contracts.*, invoices.* or users.* with a suffix of {', '.join(SUFFIXES)}"
                )
            continue
        found.append((candidate, kind))
    if path.is_dir() and not found:
        raise IngestError(f"{path}: no customers.*, events.*, contracts.*, invoices.* or users.* files in it")
    return sorted(found, key=lambda item: (IMPORT_ORDER.index(item[1]), item[0].name))


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


class _NotInsertOnlyError(Exception):
    """The events file needs the staged checks or the merge: the insert-only attempt is rolled back."""


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
    ) -> None:
        self.engine, self.source, self.open_reader, self.kind = engine, source, open_reader, kind
        self.options, self.settings, self.clock, self.progress = options, settings, clock, progress
        self.name = Path(source).name
        self.spec = SPECS[kind]
        self.mapping: ColumnMapping = options.mapping.for_kind(kind)
        self.log = ErrorLog(file=self.name, limit=settings.imports.max_errors_listed)
        self.summary = FileSummary(file=source, kind=kind, status=ImportStatus.REJECTED.value)
        self._kinds: list[pd.DataFrame] = []  # rows and latest ts per event kind, batch by batch

    def run(self) -> FileSummary:
        started = self.clock.now()
        if self.kind is RecordKind.EVENTS and self.engine.dialect.name == "sqlite" and self._insert_only():
            return self.summary
        try:
            with _transaction(self.engine) as conn:
                self._load(conn)
                if self.log.count:
                    conn.rollback()
        except FileFormatError as exc:
            self.log.add(str(exc), row=exc.row)
        if self.log.count:
            self._finish_rejected(started)
        return self.summary

    def _insert_only(self) -> bool:
        """Import a clean events CSV that only adds new events through DuckDB; False if it does not.

        The common case (new, valid, distinct events of known customers, in plain canonical form) needs no
        Python object per value: DuckDB converts the file into a scratch SQLite file, and one statement
        inserts from it. Anything else (a value outside that form, an unknown customer, a key already stored
        or repeated) rolls this attempt back, and the file takes the staged path, whose checks report every
        problem exactly as before.
        """
        if Path(self.source).suffix.lower() != ".csv":
            return False
        try:
            reader = self.open_reader()
            if not isinstance(reader, ArrowCsvReader):
                reader.close()
                return False
            plan = plan_columns(reader.header, self.spec, self.mapping, self.name)
        except FileFormatError:
            return False
        if not duck_stage.fits(plan, self.mapping):
            return False
        with tempfile.TemporaryDirectory(prefix="churnradar-import-") as folder:
            blocks = max(1, math.ceil(reader.path.stat().st_size / BLOCK_BYTES))
            writer = duck_stage.ScratchWriter(
                reader.arrow_batches(),
                len(reader.header),
                plan,
                Path(folder),
                zone=self.settings.zone,
                max_text=self.settings.imports.max_text_chars,
                blocks=blocks,
                chunks=_SCRATCH_FILES,
                progress=self._progress_of_rows,
            )
            try:
                self._insert_chunks(writer, plan)
            except (_NotInsertOnlyError, duckdb.Error, FastPathAbandonedError):
                self.summary = FileSummary(
                    file=self.source, kind=self.kind, status=ImportStatus.REJECTED.value
                )
                self._kinds = []
                return False
        return True

    def _progress_of_rows(self, rows: int) -> None:
        if self.progress:
            self.progress(self.name, rows)

    def _insert_chunks(self, writer: duck_stage.ScratchWriter, plan: ColumnPlan) -> None:
        present = plan.stored
        events = repo.TARGETS[self.kind]
        attached: list[str] = []
        kinds: list[tuple[str, int, str]] = []
        with (
            ThreadPoolExecutor(1, thread_name_prefix="churnradar-import") as pool,
            self.engine.connect() as conn,
        ):
            raw = conn.connection.driver_connection
            assert raw is not None
            pending = pool.submit(writer.write_next)
            # Every event row names a customer found by a join and the import run opened in this transaction:
            # the foreign-key checks could not fail, and skipping them saves a lookup per row and key.
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    run_id = self._start_run(conn)
                    rebuild: list[Index] | None = None
                    while (chunk := pending.result()) is not None:
                        if not chunk.ok:
                            raise _NotInsertOnlyError  # a value the validator has to look at
                        if rebuild is None:  # a bulk load: more new rows expected than the store holds
                            bulk = repo.stored_events(conn) < chunk.rows * writer.parts
                            rebuild = repo.drop_time_indexes(conn) if bulk else []
                        pending = pool.submit(writer.write_next)  # DuckDB writes the next part meanwhile
                        alias = f"{_SCRATCH}{len(attached)}"
                        raw.execute(f"ATTACH DATABASE ? AS {alias}", (str(chunk.path),))
                        attached.append(alias)
                        inserted = 0
                        for table in chunk.tables:
                            stage = duck_stage.scratch_table(alias, table)
                            if self.options.create_missing_customers:
                                created = repo.create_missing_customers(conn, stage, resolve=False)
                                self.summary.created_customers += created
                            values = repo.value_columns(self.spec, present, stage, events, "sqlite")
                            inserted += repo.insert_new_events(conn, stage, values, run_id)
                        if inserted != chunk.rows:
                            raise _NotInsertOnlyError  # an unknown customer, or a key seen before
                        self.summary.rows += chunk.rows
                        kinds += chunk.kinds
                    repo.create_indexes(conn, rebuild or [])
                    if kinds:
                        latest = pd.to_datetime([k[2] for k in kinds])
                        sizes = [k[1] for k in kinds]
                        self._kinds = [
                            pd.DataFrame({"size": sizes, "max": latest}, index=[k[0] for k in kinds])
                        ]
                    rows = self.summary.rows
                    self._succeed(conn, run_id, repo.MergeCounts(inserted=rows, updated=0, unchanged=0))
            finally:
                try:
                    writer.stopped.set()
                    pending.exception()  # the worker is done with the file before it is removed
                    writer.close()
                    for alias in attached:
                        raw.execute(f"DETACH DATABASE {alias}")
                finally:
                    raw.execute("PRAGMA foreign_keys=ON")

    def _load(self, conn: Connection) -> None:
        reader = self.open_reader()
        plan = plan_columns(reader.header, self.spec, self.mapping, self.name)
        present = plan.stored
        stage = repo.create_stage(conn, self.spec)
        try:
            self._stage_batches(conn, stage, reader, plan)
        except FastPathAbandonedError:
            # The bulk parser met a line it cannot number exactly: start over with the exact reader.
            repo.clear_stage(conn, stage)
            self.log = ErrorLog(file=self.name, limit=self.settings.imports.max_errors_listed)
            self.summary.rows = 0
            self._kinds = []
            assert isinstance(reader, ArrowCsvReader)
            self._stage_batches(conn, stage, CsvReader(reader.path, encoding=reader.encoding), plan)
        self._check_and_merge(conn, stage, present)
        repo.drop_stage(conn, stage)

    def _stage_batches(self, conn: Connection, stage: Table, reader: TableReader, plan: ColumnPlan) -> None:
        for batch in reader.batches(self.settings.imports.batch_rows):
            for row, message in batch.problems:
                self.log.add(message, row=row)
            self.log.rejected_rows += len(batch.problems)
            self.summary.rows += batch.size + len(batch.problems)
            if batch.size:
                clean = validate_batch(
                    batch.frame(reader.header),
                    batch.row_numbers,
                    plan,
                    self.spec,
                    self.mapping,
                    zone=self.settings.zone,
                    max_text=self.settings.imports.max_text_chars,
                    log=self.log,
                )
                # Rows that passed are staged even in a doomed file: duplicate and unknown-customer checks
                # run on the stage, so every bad row is reported; the transaction is rolled back anyway.
                repo.stage_frame(conn, stage, clean)
                if self.kind is RecordKind.EVENTS and not clean.empty:
                    self._kinds.append(clean.groupby("kind")["ts"].agg(["size", "max"]))
            if self.progress:
                self.progress(self.name, self.summary.rows)

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
        if self.kind is RecordKind.EVENTS:
            self.summary.merged_duplicates = repo.collapse_identical_events(conn, stage)
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
            insert_only={"import_id": literal(run_id)} if self.kind is RecordKind.EVENTS else None,
            also_changed=repo.manager_changed(stage)
            if self.kind is RecordKind.USERS and "manager" in present
            else None,
        )
        if self.kind is RecordKind.USERS and "manager" in present:
            repo.assign_managers(conn, stage)
        self._succeed(conn, run_id, counts)

    def _succeed(self, conn: Connection, run_id: int, counts: repo.MergeCounts) -> None:
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

    def _start_run(self, conn: Connection) -> int:
        return repo.start_run(conn, source=self.source, kind=self.kind.value, started_at=self.clock.now())

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
    chosen = options

    def opener(file: Path, kind: RecordKind) -> Callable[[], TableReader]:
        encoding = chosen.encoding or chosen.mapping.for_kind(kind).encoding
        return lambda: open_table(file, encoding=encoding)

    summaries = [
        _Import(
            engine, str(file), opener(file, kind), kind, options, settings, clock or SystemClock(), progress
        ).run()
        for file, kind in files
    ]
    return ImportSummary(files=summaries)


def import_records(
    engine: Engine,
    records: Sequence[Mapping[str, Any]],
    *,
    kind: RecordKind,
    settings: Settings,
    source: str = "api",
    options: ImportOptions | None = None,
    clock: Clock | None = None,
) -> FileSummary:
    """Import records given as mappings (a REST batch) with the same checks, errors and idempotency as a file.

    Errors name the record by its position: record 1 is the first (reported as row 1).
    """
    options = options or ImportOptions()
    return _Import(
        engine,
        source,
        lambda: RecordsReader(records),
        kind,
        options,
        settings,
        clock or SystemClock(),
        None,
    ).run()
