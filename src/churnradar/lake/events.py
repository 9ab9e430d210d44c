"""Events in the lake: an idempotent write keyed by (customer, kind, event key), and a DuckDB view to read."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from churnradar.lake.keyed import write_keyed
from churnradar.lake.repository import Lake
from churnradar.lake.schemas import EVENT_KEY, EVENT_VALUES, EVENTS_SCHEMA, LakeTable, MergeCounts


def events_relation(lake: Lake, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The stored events as a DuckDB relation (EVENTS_SCHEMA's columns)."""
    return lake.relation(con, LakeTable.EVENTS, EVENTS_SCHEMA)


def write_events(lake: Lake, data: pa.Table, *, operation: str) -> MergeCounts:
    """Insert new events and update changed ones from `data` (EVENTS_SCHEMA, distinct keys) in one commit."""
    return write_keyed(
        lake,
        LakeTable.EVENTS,
        data,
        schema=EVENTS_SCHEMA,
        key=EVENT_KEY,
        values=EVENT_VALUES,
        operation=operation,
    )
