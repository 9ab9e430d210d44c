"""An idempotent write to a keyed lake table (events, invoices): new rows appended, changed rows merged.

A write classifies the incoming rows against the stored ones in DuckDB first: new rows only (every first
load, every daily file of new orders) become one append; a batch that changes stored rows becomes one
merge. Both are one Delta commit, under the table's writer lock.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from churnradar.lake.repository import Lake
from churnradar.lake.schemas import LakeTable, MergeCounts


def write_keyed(
    lake: Lake,
    table: LakeTable,
    data: pa.Table,
    *,
    schema: pa.Schema,
    key: Sequence[str],
    values: Sequence[str],
    operation: str,
) -> MergeCounts:
    """Insert new rows and update changed ones from `data` (`schema`, distinct keys) in one commit.

    `operation` marks the commit (e.g. `import:42`) so that a crash between the commit and the import log
    can be settled from the table's history.
    """
    data = data.select(schema.names).cast(schema)
    if data.num_rows == 0:
        return MergeCounts(inserted=0, updated=0, unchanged=0)
    with lake.writing(table):
        if lake.open(table) is None:
            lake.append(table, data, operation=operation)
            return MergeCounts(inserted=data.num_rows, updated=0, unchanged=0)
        con = duckdb.connect()
        try:
            con.register("incoming", data)
            lake.relation(con, table, schema).create_view("stored")
            on = " AND ".join(f's."{c}" = i."{c}"' for c in key)
            differs = " OR ".join(f's."{c}" IS DISTINCT FROM i."{c}"' for c in values)
            matched = con.sql(
                f"SELECT count(*) AS n, count(*) FILTER (WHERE {differs}) AS changed "  # noqa: S608
                f"FROM incoming i JOIN stored s ON {on}"
            ).fetchone()
            assert matched is not None
            found, changed = int(matched[0]), int(matched[1])
            if found == 0:
                lake.append(table, data, operation=operation)
                return MergeCounts(inserted=data.num_rows, updated=0, unchanged=0)
            if changed == 0:
                fresh = con.sql(
                    f"SELECT i.* FROM incoming i ANTI JOIN stored s ON {on}"  # noqa: S608
                ).to_arrow_table()
                if fresh.num_rows:
                    lake.append(table, fresh.cast(schema), operation=operation)
                return MergeCounts(inserted=fresh.num_rows, updated=0, unchanged=found)
        finally:
            con.close()
        return lake.merge(table, data, key=key, values=values, operation=operation)
