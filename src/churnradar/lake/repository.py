"""Delta Lake I/O: append, merge, replace partitions, delete, compact, and the current files for readers.

Every write runs under the table's writer lock (lake.locking), so a read-classify-commit sequence sees no
other writer in between. Readers never lock: DuckDB reads the Parquet files of the version they looked up
(`files`); delta-rs writes no deletion vectors, so those files are exactly the table's rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError

from churnradar.lake.locking import writer_lock
from churnradar.lake.schemas import LakeTable, MergeCounts

# Files each commit's metadata carries: which churnradar operation wrote it (the upgrade and the import's
# recovery read them back from the table's history).
OPERATION_KEY = "churnradar.operation"
_WRITER = WriterProperties(compression="ZSTD", compression_level=3)
# Files replaced by a merge, a partition replacement or a compaction stay this long for readers that listed
# them just before, then vacuum removes them.
VACUUM_HOURS = 1


class Lake:
    """The lake at `root`: one folder per Delta table, plus `_locks/` for the writer locks."""

    def __init__(self, root: Path, *, lock_timeout: float = 600) -> None:
        self.root = root
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    def path(self, table: LakeTable) -> Path:
        """The folder of `table`."""
        return self.root / table.value

    def open(self, table: LakeTable) -> DeltaTable | None:
        """The table's latest version, or None before its first write."""
        try:
            return DeltaTable(str(self.path(table)))
        except TableNotFoundError:
            return None

    @contextmanager
    def writing(self, table: LakeTable) -> Iterator[None]:
        """Hold `table`'s writer lock for the block (waits for another writer, up to the lake's timeout)."""
        with writer_lock(self.root / "_locks" / f"{table.value}.lock", timeout=self.lock_timeout):
            yield

    def files(self, table: LakeTable, *, partitions: Mapping[str, Sequence[str]] | None = None) -> list[str]:
        """The Parquet files of `table`'s latest version (those of the given partition values only)."""
        found = self.open(table)
        if found is None:
            return []
        if not partitions:
            return list(found.file_uris())
        # Partition values are ours (ISO dates); the predicate prunes by the log's partition values.
        clauses = [
            f"{_ident(column)} IN ({', '.join(_literal(v) for v in values)})"
            for column, values in partitions.items()
            if values
        ]
        if len(clauses) < len(partitions):
            return []  # a column asked for no value: no file
        return list(found.file_uris(file_pruning_predicate=" AND ".join(clauses)))

    def partition_values(self, table: LakeTable, column: str) -> list[str]:
        """The distinct values of a partition column in the latest version."""
        found = self.open(table)
        if found is None:
            return []
        return sorted({p[column] for p in found.partitions()})

    def committed(self, table: LakeTable, operation: str) -> bool:
        """Whether a commit of `table` carries the operation mark `operation` (see OPERATION_KEY)."""
        found = self.open(table)
        return found is not None and any(h.get(OPERATION_KEY) == operation for h in found.history())

    def append(
        self,
        table: LakeTable,
        data: pa.Table,
        *,
        operation: str,
        partition_by: Sequence[str] | None = None,
    ) -> None:
        """Append `data` in one commit (the caller holds the writer lock)."""
        write_deltalake(
            str(self.path(table)),
            data,
            mode="append",
            partition_by=list(partition_by) if partition_by else None,
            schema_mode="merge",
            writer_properties=_WRITER,
            commit_properties=_marked(operation),
        )

    def merge(
        self,
        table: LakeTable,
        data: pa.Table,
        *,
        key: Sequence[str],
        values: Sequence[str],
        operation: str,
    ) -> MergeCounts:
        """Upsert `data` on `key` in one commit: new keys inserted, rows whose `values` differ updated
        (those columns only: the others, such as the import that first brought a row, stay).

        The caller holds the writer lock. Source keys must be distinct.
        """
        target = self.open(table)
        if target is None:
            self.append(table, data, operation=operation)
            return MergeCounts(inserted=data.num_rows, updated=0, unchanged=0)
        on = " AND ".join(f"t.{_ident(c)} = s.{_ident(c)}" for c in key)
        differs = " OR ".join(f"(t.{_ident(c)} IS DISTINCT FROM s.{_ident(c)})" for c in values)
        metrics = (
            target.merge(
                data,
                predicate=on,
                source_alias="s",
                target_alias="t",
                writer_properties=_WRITER,
                commit_properties=_marked(operation),
            )
            .when_matched_update(updates={_ident(c): f"s.{_ident(c)}" for c in values}, predicate=differs)
            .when_not_matched_insert_all()
            .execute()
        )
        inserted = int(metrics.get("num_target_rows_inserted", 0))
        updated = int(metrics.get("num_target_rows_updated", 0))
        return MergeCounts(inserted=inserted, updated=updated, unchanged=data.num_rows - inserted - updated)

    def replace_partitions(
        self, table: LakeTable, data: pa.Table, *, column: str, values: Sequence[date], operation: str
    ) -> None:
        """Replace the partitions `column` = each of `values` with `data`, one commit (caller holds lock)."""
        if self.open(table) is None:
            self.append(table, data, operation=operation, partition_by=[column])
            return
        listed = ", ".join(f"'{v.isoformat()}'" for v in values)
        write_deltalake(
            str(self.path(table)),
            data,
            mode="overwrite",
            partition_by=[column],
            predicate=f"{_ident(column)} IN ({listed})",
            schema_mode="merge",
            writer_properties=_WRITER,
            commit_properties=_marked(operation),
        )

    def delete_partitions(self, table: LakeTable, *, column: str, values: Sequence[date]) -> int:
        """Remove the rows of the partitions `column` = each of `values`; rows removed (caller holds lock)."""
        found = self.open(table)
        if found is None or not values:
            return 0
        listed = ", ".join(f"'{v.isoformat()}'" for v in values)
        metrics = found.delete(f"{_ident(column)} IN ({listed})", commit_properties=_marked("prune"))
        return int(metrics.get("num_deleted_rows", 0))

    def compact(self, table: LakeTable, *, order_by: Sequence[str] | None = None) -> dict[str, Any]:
        """Rewrite small files into large ones (sorted by `order_by` when given), then drop old files."""
        found = self.open(table)
        if found is None:
            return {}
        if order_by:
            metrics = found.optimize.z_order(list(order_by), writer_properties=_WRITER)
        else:
            metrics = found.optimize.compact(writer_properties=_WRITER)
        self.vacuum(table)
        return dict(metrics)

    def vacuum(self, table: LakeTable, *, hours: int = VACUUM_HOURS) -> list[str]:
        """Delete files no version younger than `hours` uses (and stray files of crashed writers)."""
        found = self.open(table)
        if found is None:
            return []
        return list(found.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False))

    def version(self, table: LakeTable) -> int | None:
        """The latest version number, or None before the first write."""
        found = self.open(table)
        return None if found is None else int(found.version())

    def relation(
        self,
        con: duckdb.DuckDBPyConnection,
        table: LakeTable,
        schema: pa.Schema,
        *,
        partitions: Mapping[str, Sequence[str]] | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over the table's current files (an empty one of `schema` before any write)."""
        files = self.files(table, partitions=partitions)
        if not files:
            return con.from_arrow(schema.empty_table())
        hive = table is LakeTable.SNAPSHOTS
        return con.read_parquet(files, hive_partitioning=hive, union_by_name=True)


def _marked(operation: str) -> CommitProperties:
    return CommitProperties(custom_metadata={OPERATION_KEY: operation})


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    # Column names are ours (schemas, indicator slugs checked by the registry), quoted all the same.
    return json.dumps(name)
