"""Events in the lake: an idempotent write keyed by (customer, kind, event key), and a DuckDB view to read.

A write classifies the incoming rows against the stored ones in DuckDB first: new events only (every first
load, every daily file of new orders) become one append; a batch that changes stored events becomes one
merge. Both are one Delta commit, under the table's writer lock.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from churnradar.lake.repository import Lake, MergeCounts
from churnradar.lake.schemas import EVENT_KEY, EVENT_VALUES, EVENTS_SCHEMA, LakeTable


def events_relation(lake: Lake, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The stored events as a DuckDB relation (EVENTS_SCHEMA's columns)."""
    return lake.relation(con, LakeTable.EVENTS, EVENTS_SCHEMA)


def write_events(lake: Lake, data: pa.Table, *, operation: str) -> MergeCounts:
    """Insert new events and update changed ones from `data` (EVENTS_SCHEMA, distinct keys) in one commit.

    `operation` marks the commit (e.g. `import:42`) so that a crash between the commit and the import log
    can be settled from the table's history.
    """
    data = data.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA)
    if data.num_rows == 0:
        return MergeCounts(inserted=0, updated=0, unchanged=0)
    with lake.writing(LakeTable.EVENTS):
        if lake.open(LakeTable.EVENTS) is None:
            lake.append(LakeTable.EVENTS, data, operation=operation)
            return MergeCounts(inserted=data.num_rows, updated=0, unchanged=0)
        con = duckdb.connect()
        try:
            con.register("incoming", data)
            events_relation(lake, con).create_view("stored")
            on = " AND ".join(f's."{c}" = i."{c}"' for c in EVENT_KEY)
            differs = " OR ".join(f's."{c}" IS DISTINCT FROM i."{c}"' for c in EVENT_VALUES)
            matched = con.sql(
                f"SELECT count(*) AS n, count(*) FILTER (WHERE {differs}) AS changed "  # noqa: S608
                f"FROM incoming i JOIN stored s ON {on}"
            ).fetchone()
            assert matched is not None
            found, changed = int(matched[0]), int(matched[1])
            if found == 0:
                lake.append(LakeTable.EVENTS, data, operation=operation)
                return MergeCounts(inserted=data.num_rows, updated=0, unchanged=0)
            if changed == 0:
                fresh = con.sql(
                    f"SELECT i.* FROM incoming i ANTI JOIN stored s ON {on}"  # noqa: S608
                ).to_arrow_table()
                if fresh.num_rows:
                    lake.append(LakeTable.EVENTS, fresh.cast(EVENTS_SCHEMA), operation=operation)
                return MergeCounts(inserted=fresh.num_rows, updated=0, unchanged=found)
        finally:
            con.close()
        return lake.merge(LakeTable.EVENTS, data, key=EVENT_KEY, values=EVENT_VALUES, operation=operation)
