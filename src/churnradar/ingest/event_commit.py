"""An events or invoices file's commit: a pending run row, its customers, one Delta commit, the run's success.

Order, each step committed before the next:
1. the run row, status running (under the imports lock, held to the end);
2. with --create-missing-customers, the customers the file names and the store lacks, and their ids noted
   on the run row, in one store transaction;
3. the rows, one Delta commit marked `import:<run id>` (to the events or the invoices table);
4. the run row, succeeded.
A failure before 3 completes takes back what 2 created (compensation); a process that dies there leaves a
running row, and `settle_interrupted_imports` does the same from the ids noted on it. Customers are removed
only while still bare: no events or invoices in the lake, no details or contracts (another import may have
used them meanwhile). Lake rows never point at a customer that was not committed first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from churnradar.ingest import repository as repo
from churnradar.ingest.events import StagedBatch
from churnradar.ingest.exceptions import IngestError
from churnradar.ingest.validate import bounded
from churnradar.kit.clock import Clock, SystemClock
from churnradar.lake.events import events_relation, write_events
from churnradar.lake.invoices import customers_with_invoices, write_invoices
from churnradar.lake.locking import writer_lock
from churnradar.lake.repository import Lake
from churnradar.lake.schemas import EVENTS_SCHEMA, INVOICES_SCHEMA, LakeTable, MergeCounts
from churnradar.lake.service import lake_for
from churnradar.models import ImportStatus

# A lake import's run row is RUNNING between its start and the lake commit; a run a crash left there is
# settled by `settle_interrupted_imports` as SUCCEEDED (its commit is in the lake) or FAILED (it is not).
COMPACT_ABOVE_FILES = 64  # a table is compacted after an import once it has more files
IMPORTED_TABLES = (LakeTable.EVENTS, LakeTable.INVOICES)


def imports_lock(lake: Lake) -> AbstractContextManager[None]:
    """Held by a lake import from its pending run row to its success, and by the settling of crashed ones.

    A flock: a killed importer releases it, so a run still pending while the lock is free was interrupted.
    """
    return writer_lock(lake.root / "_locks" / "imports.lock", timeout=lake.lock_timeout)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def settle_interrupted_imports(engine: Engine, *, clock: Clock | None = None) -> int:
    """Close the import runs a crash left pending; returns how many.

    A run whose commit (`import:<id>`, events or invoices) is in the lake's history succeeded (with the counts
    known before the commit: rows read, per-kind summary); any other failed: the customers it created are
    removed again (those still bare), and the lake's stray files go.
    """
    runs = repo.IMPORT_RUNS
    running = runs.c.status == ImportStatus.RUNNING.value
    query = select(runs.c.id, runs.c.kind).where(running).order_by(runs.c.id)
    with engine.connect() as conn:
        if conn.execute(query.limit(1)).first() is None:
            return 0
    now = (clock or SystemClock()).now()
    lake = lake_for(engine)
    failed = 0
    with imports_lock(lake):
        with engine.connect() as conn:
            pending = [(int(r[0]), str(r[1])) for r in conn.execute(query)]
        for run_id, kind in pending:
            if any(_has_log(lake, t) and lake.committed(t, f"import:{run_id}") for t in IMPORTED_TABLES):
                with _transaction(engine) as conn:
                    status = ImportStatus.SUCCEEDED.value
                    repo.finish_run(conn, run_id, status=status, finished_at=now, errors=None)
                continue
            failed += 1
            with engine.connect() as conn:
                created = repo.created_customers(conn, run_id)
            removed = remove_created_customers(engine, lake, created)
            note = f"interrupted before its {kind} were committed; nothing from it was stored"
            if created:
                note += f" ({removed:,} of the {len(created):,} customers it created were removed)"
            with _transaction(engine) as conn:
                errors = {"count": 1, "first": [note]}
                repo.finish_run(
                    conn, run_id, status=ImportStatus.FAILED.value, finished_at=now, errors=errors
                )
    if failed:
        for table in IMPORTED_TABLES:
            if _has_log(lake, table):
                lake.vacuum(table)
    return len(pending)


def remove_created_customers(engine: Engine, lake: Lake, ids: list[int]) -> int:
    """Delete the customers of `ids` that are still bare, with no events or invoices in the lake; how many."""
    if not ids:
        return 0
    used: set[int] = customers_with_invoices(lake, ids) if _has_log(lake, LakeTable.INVOICES) else set()
    if _has_log(lake, LakeTable.EVENTS):
        con = duckdb.connect()
        try:
            con.register("created", pa.table({"id": pa.array(ids, pa.int64())}))
            stored = events_relation(lake, con)
            with_events = stored.filter("customer_id IN (SELECT id FROM created)").aggregate("customer_id")
            used |= {int(r[0]) for r in with_events.fetchall()}
        finally:
            con.close()
    with _transaction(engine) as conn:
        return repo.remove_bare_customers(conn, [i for i in ids if i not in used])


def commit_events(
    engine: Engine,
    batch: StagedBatch,
    *,
    table: LakeTable = LakeTable.EVENTS,
    values: tuple[str, ...] | None = None,
    create_missing: bool,
    start_run: Callable[[Connection], int],
    succeed: Callable[[Connection, int, MergeCounts], None],
    fail: Callable[[int, str], None],
) -> int:
    """Steps 1 to 4 above for a checked batch; returns how many customers it created.

    `start_run` opens the pending run row, `succeed` closes it, `fail(run, message)` marks it failed.
    `table` is the lake table the rows go to; for invoices, `values` are the columns the file brought (an
    update changes those only).
    """
    lake = lake_for(engine)
    created: list[int] = []
    with imports_lock(lake):
        with _transaction(engine) as conn:
            run_id = start_run(conn)
        operation = f"import:{run_id}"
        try:
            with _transaction(engine) as conn:
                missing = batch.resolve(conn)
                if missing and not create_missing:
                    raise IngestError(
                        f"{len(missing):,} customer(s) of the file were removed during the import "
                        f"(e.g. {bounded(missing[0], 100)!r}); import it again"
                    )
                if missing:
                    created = batch.create_customers(conn, missing)
                    repo.note_created_customers(conn, run_id, created)
            if table is LakeTable.EVENTS:
                counts = write_events(lake, batch.lake_rows(run_id, EVENTS_SCHEMA), operation=operation)
            else:
                rows = batch.lake_rows(run_id, INVOICES_SCHEMA)
                counts = write_invoices(lake, rows, operation=operation, values=values)
            with _transaction(engine) as conn:
                succeed(conn, run_id, counts)
        except BaseException as exc:
            _failed(engine, lake, table, run_id, operation, created, exc, fail)
            raise
    if len(lake.files(table)) > COMPACT_ABOVE_FILES:
        with lake.writing(table):
            lake.compact(table, order_by=None)
    return len(created)


def _failed(
    engine: Engine,
    lake: Lake,
    table: LakeTable,
    run_id: int,
    operation: str,
    created: list[int],
    exc: BaseException,
    fail: Callable[[int, str], None],
) -> None:
    """Compensate a run whose lake commit did not happen; a run whose state is unknown is left pending."""
    try:
        if _has_log(lake, table) and lake.committed(table, operation):
            return  # the rows are stored: the run is settled as succeeded later
        removed = remove_created_customers(engine, lake, created)
    except Exception:  # the lake cannot be read: settle_interrupted_imports decides later
        return
    message = f"the import failed: {type(exc).__name__}: {exc}"
    if created:
        message += f" ({removed:,} of the {len(created):,} customers it created were removed)"
    fail(run_id, bounded(message))
    if _has_log(lake, table):
        lake.vacuum(table)


def _has_log(lake: Lake, table: LakeTable = LakeTable.EVENTS) -> bool:
    """Whether `table` has a commit log: without one nothing was ever committed to it."""
    return (lake.path(table) / "_delta_log").is_dir()
