"""Reading stored events for people: one customer's timeline, counts in a scope, events per kind and day.

A customer's events are read from the files whose customer_id range (the Delta log's per-file statistics)
includes that customer, and DuckDB skips the row groups of those files that do not: a 360 page opens a few
files, not the whole table. User text (an event kind from a filter) only ever reaches DuckDB as a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from churnradar.lake.events import events_relation
from churnradar.lake.repository import Lake
from churnradar.lake.schemas import EVENTS_SCHEMA, LakeTable

_MIN, _MAX = "min.customer_id", "max.customer_id"


@dataclass(frozen=True)
class StoredEvent:
    """One event as the lake holds it (attributes as the JSON text stored)."""

    ts: datetime
    kind: str
    event_key: str
    amount: float | None
    value: float | None
    quantity: float | None
    channel: str | None
    direction: str | None
    text: str | None
    user: str | None
    attributes: str | None


_FIELDS = tuple(StoredEvent.__dataclass_fields__)


def customer_files(
    lake: Lake, customer_ids: Sequence[int], table_name: LakeTable = LakeTable.EVENTS
) -> list[str]:
    """The files of a table (events by default) that may hold rows of `customer_ids` (by the log's min/max
    statistics)."""
    table = lake.open(table_name)
    if table is None or not customer_ids:
        return []
    low, high = min(customer_ids), max(customer_ids)
    actions = pa.table(table.get_add_actions(flatten=True))
    columns = set(actions.column_names)
    wanted: set[str] = set()
    for row in actions.to_pylist():
        first, last = (row.get(_MIN), row.get(_MAX)) if {_MIN, _MAX} <= columns else (None, None)
        if first is None or last is None or (first <= high and last >= low):
            wanted.add(str(row["path"]))
    return [uri for uri in table.file_uris() if any(uri.endswith(path) for path in wanted)]


def _customer_relation(
    lake: Lake, con: duckdb.DuckDBPyConnection, customer_id: int
) -> duckdb.DuckDBPyRelation:
    files = customer_files(lake, [customer_id])
    rel = con.read_parquet(files) if files else con.from_arrow(EVENTS_SCHEMA.empty_table())
    return rel.filter(duckdb.ColumnExpression("customer_id") == duckdb.ConstantExpression(int(customer_id)))


@dataclass(frozen=True)
class Timeline:
    """One page of a customer's events, how many match, and every kind the customer has."""

    events: list[StoredEvent]
    total: int
    kinds: list[str]


def customer_timeline(
    lake: Lake, customer_id: int, *, offset: int, limit: int, kind: str | None = None
) -> Timeline:
    """`limit` of a customer's events from `offset`, newest first (of one kind when given), the total, and the
    customer's kinds: one listing of the files, one DuckDB connection."""
    con = duckdb.connect()
    try:
        _customer_relation(lake, con, customer_id).create_view("customer_events")
        kinds = [
            str(k) for (k,) in con.execute("SELECT DISTINCT kind FROM customer_events ORDER BY 1").fetchall()
        ]
        where, params = ("WHERE kind = $kind", {"kind": kind}) if kind else ("", {})
        counted = con.execute(f"SELECT count(*) FROM customer_events {where}", params).fetchone()  # noqa: S608
        columns = ", ".join(f'"{c}"' for c in _FIELDS)
        rows = con.execute(
            f"SELECT {columns} FROM customer_events {where} "  # noqa: S608 - fixed column names only
            "ORDER BY ts DESC, event_key DESC LIMIT $limit OFFSET $offset",
            {**params, "limit": int(limit), "offset": int(offset)},
        ).fetchall()
    finally:
        con.close()
    return Timeline([StoredEvent(*row) for row in rows], int(counted[0]) if counted else 0, kinds)


def count_events(lake: Lake, customer_ids: Sequence[int] | None = None) -> int:
    """Stored events, all of them or those of `customer_ids`."""
    con = duckdb.connect()
    try:
        rel = events_relation(lake, con)
        if customer_ids is None:
            counted = rel.aggregate("count(*)").fetchone()
        else:
            con.register("scope", pa.table({"customer_id": pa.array(customer_ids, pa.int64())}))
            counted = rel.join(con.table("scope"), "customer_id", how="semi").aggregate("count(*)").fetchone()
        return int(counted[0]) if counted else 0
    finally:
        con.close()


def daily_kind_counts(lake: Lake, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """Events per kind and day with `start` <= ts < `end`: (kind, day, events) rows."""
    con = duckdb.connect()
    try:
        events_relation(lake, con).create_view("stored_events")
        return con.execute(
            "SELECT kind, CAST(ts AS DATE) AS day, count(*) AS events FROM stored_events "
            "WHERE ts >= $start AND ts < $end GROUP BY ALL ORDER BY ALL",
            {"start": start, "end": end},
        ).fetchall()
    finally:
        con.close()


def kind_counts(lake: Lake) -> dict[str, int]:
    """Stored events per kind, all dates."""
    con = duckdb.connect()
    try:
        rows = events_relation(lake, con).aggregate("kind, count(*)").fetchall()
        return {str(kind): int(n) for kind, n in rows}
    finally:
        con.close()
