"""The one-time moves of a store's history into the lake: events and indicator values (migration 0009 and
before), invoices (0011 and before).

`churnradar init` runs it after migrating. Safe to kill at any point and to run again:
- events go in id order, in chunks; each chunk is one Delta commit marked `upgrade:events:<last id>`, so a
  rerun resumes after the last committed chunk and never writes a row twice. When the lake also holds events
  that did not come from the upgrade (an import run before init), a chunk appends only the events the lake
  lacks: the lake's copy, written later, wins.
- indicator values go one as-of date at a time, pivoted to the lake's wide rows; a date is one commit, and
  dates the lake already has are left as they are there.
- only then are the store's rows deleted, each table in one transaction (the moved ids and dates only).
- invoices go in id order, in chunks: each chunk appends the invoices the lake lacks (an invoice imported
  into the lake since is newer, and wins), one commit, then the chunk's rows leave the store in one
  transaction; a kill in between moves nothing twice (the rerun finds them in the lake).

The store's tables are read only when they exist: migrations 0010 and 0012 drop them once they are empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    String,
    Text,
    cast,
    column,
    delete,
    func,
    inspect,
    literal,
    select,
    table,
)
from sqlalchemy.engine import Connection, Engine

from churnradar.lake.events import events_relation
from churnradar.lake.invoices import invoices_relation
from churnradar.lake.repository import OPERATION_KEY, Lake
from churnradar.lake.schemas import EVENT_KEY, EVENTS_SCHEMA, INVOICES_SCHEMA, LakeTable
from churnradar.lake.service import lake_for
from churnradar.lake.snapshots import snapshot_dates, write_snapshot

MARK = "upgrade:events:"
# Commits that change no rows: compaction and vacuum.
_HOUSEKEEPING = ("OPTIMIZE", "VACUUM START", "VACUUM END")
CHUNK_ROWS = 200_000

# The store's tables as migration 0009 left them (no models: 0010 drops them, the models go with it).
STORE_EVENTS = table(
    "events",
    column("id", BigInteger),
    column("customer_id", BigInteger),
    column("ts", DateTime),
    column("kind", String),
    column("event_key", String),
    column("amount", Float),
    column("value", Float),
    column("quantity", Float),
    column("channel", String),
    column("direction", String),
    column("text", Text),
    column("attributes", JSON),
    column("import_id", BigInteger),
)
STORE_VALUES = table(
    "indicator_values",
    column("customer_id", BigInteger),
    column("as_of", Date),
    column("indicator", String),
    column("value", Float),
)
STORE_INVOICES = table(  # as migration 0011 left it (0012 drops it)
    "invoices",
    column("id", BigInteger),
    column("external_id", String),
    column("customer_id", BigInteger),
    column("due_date", Date),
    column("amount", Float),
    column("issued_at", DateTime),
    column("paid_at", DateTime),
    column("paid_amount", Float),
    column("attributes", JSON),
)
_STORE_TABLES = {"events": STORE_EVENTS, "indicator_values": STORE_VALUES, "invoices": STORE_INVOICES}


@dataclass(frozen=True)
class UpgradeReport:
    """What one run moved: events and indicator values into the lake, rows then removed from the store."""

    lake: str
    events_moved: int
    events_kept_from_lake: int
    snapshot_dates: int
    indicator_values_moved: int
    store_events_removed: int
    store_values_removed: int
    invoices_moved: int = 0
    store_invoices_removed: int = 0

    @property
    def moved_anything(self) -> bool:
        return bool(self.events_moved or self.events_kept_from_lake or self.indicator_values_moved) or bool(
            self.store_events_removed or self.store_values_removed or self.store_invoices_removed
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for people: what moved, what the store no longer holds."""
        already = f" ({self.events_kept_from_lake:,} more were there already)" * bool(
            self.events_kept_from_lake
        )
        return (
            f"moved into the lake: {self.events_moved:,} events{already}, "
            f"{self.indicator_values_moved:,} indicator values of {self.snapshot_dates:,} dates, "
            f"{self.invoices_moved:,} invoices; "
            f"removed from the database: {self.store_events_removed:,} events, "
            f"{self.store_values_removed:,} indicator values, {self.store_invoices_removed:,} invoices"
        )


Progress = Callable[[str], None]


def move_store_history(
    engine: Engine, *, chunk_rows: int = CHUNK_ROWS, progress: Progress | None = None
) -> UpgradeReport:
    """Move the store's events, indicator values and invoices into the lake (once), then empty those store
    tables."""
    lake = lake_for(engine)
    lake.root.mkdir(parents=True, exist_ok=True)
    present = {name for name, rows in store_rows(engine, any_only=True).items() if rows}
    moved = kept = events_removed = 0
    if "events" in present:
        moved, kept, through = _move_events(engine, lake, chunk_rows, progress)
        if through is not None:
            with engine.begin() as conn:
                events_removed = conn.execute(
                    delete(STORE_EVENTS).where(STORE_EVENTS.c.id <= through)
                ).rowcount
    dates = values = values_removed = 0
    if "indicator_values" in present:
        dates, values = _move_snapshots(engine, lake, progress)
        in_lake = snapshot_dates(lake)
        if in_lake:
            with engine.begin() as conn:
                values_removed = conn.execute(
                    delete(STORE_VALUES).where(STORE_VALUES.c.as_of.in_(in_lake))
                ).rowcount
    invoices = invoices_removed = 0
    if "invoices" in present:
        invoices, invoices_removed = _move_invoices(engine, lake, chunk_rows, progress)
    return UpgradeReport(
        lake=str(lake.root),
        invoices_moved=invoices,
        store_invoices_removed=invoices_removed,
        events_moved=moved,
        events_kept_from_lake=kept,
        snapshot_dates=dates,
        indicator_values_moved=values,
        store_events_removed=max(events_removed, 0),
        store_values_removed=max(values_removed, 0),
    )


def _moved_through(lake: Lake) -> tuple[int | None, bool]:
    """The last store event id an upgrade commit holds, and whether other writers' commits exist."""
    found = lake.open(LakeTable.EVENTS)
    if found is None:
        return None, False
    through: int | None = None
    others = False
    for entry in found.history():
        mark = entry.get(OPERATION_KEY)
        if isinstance(mark, str) and mark.startswith(MARK):
            last = int(mark.removeprefix(MARK))
            through = last if through is None else max(through, last)
        elif entry.get("operation") not in _HOUSEKEEPING:
            others = True
    return through, others


def _move_events(
    engine: Engine, lake: Lake, chunk_rows: int, progress: Progress | None
) -> tuple[int, int, int | None]:
    """Copy the store's events not yet moved; (appended, already in the lake, last store id moved).

    Each chunk is read, checked and committed under the events table's writer lock, so an import running
    at the same time commits before or after a chunk, never in between.
    """
    moved = kept = 0
    while True:
        with lake.writing(LakeTable.EVENTS):
            through, others = _moved_through(lake)
            with engine.connect() as conn:
                chunk = _events_after(conn, through, chunk_rows)
            if not chunk:
                return moved, kept, through
            last = int(chunk[-1][0])
            data = _arrow_events(chunk)
            if others:
                data = _absent_from_lake(lake, data)
            # An empty append still commits the mark: every event of the chunk was in the lake already.
            lake.append(LakeTable.EVENTS, data, operation=f"{MARK}{last}")
        moved += data.num_rows
        kept += len(chunk) - data.num_rows
        if progress is not None:
            progress(f"events: {moved + kept:,} moved")


# A chunk as fetched: times and attributes as the database's text (no per-row parsing in Python); DuckDB
# reads the times, takes `user` out of the attributes into its column and keeps the rest as JSON text.
_TEXT = ("ts", "attributes")
_FETCHED = pa.schema(
    [pa.field("id", pa.int64())]
    + [
        pa.field(f.name, pa.string() if f.name in _TEXT else f.type)
        for f in EVENTS_SCHEMA
        if f.name != "user"
    ]
)
_TO_LAKE = """
SELECT customer_id, CAST(ts AS TIMESTAMP) AS ts, kind, event_key, amount, value, quantity, channel, direction,
       text, json_extract_string(attrs, '$.user') AS "user",
       CASE WHEN attrs IS NOT NULL THEN nullif(json_merge_patch(attrs, '{"user": null}')::VARCHAR, '{}') END
           AS attributes, import_id
FROM (SELECT *, nullif(attributes, 'null') AS attrs FROM fetched)
"""


def _events_after(conn: Connection, after: int | None, limit: int) -> list[tuple[Any, ...]]:
    c = STORE_EVENTS.c
    columns = [c.id, c.customer_id, cast(c.ts, Text), c.kind, c.event_key, c.amount, c.value, c.quantity]
    columns += [c.channel, c.direction, c.text, cast(c.attributes, Text), c.import_id]
    query = select(*columns).order_by(c.id).limit(limit)
    if after is not None:
        query = query.where(c.id > after)
    return [tuple(row) for row in conn.execute(query)]


def _arrow_events(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Store rows as EVENTS_SCHEMA: `user` out of the attributes into its column, the rest as JSON text."""
    columns = zip(*rows, strict=True)
    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, _FETCHED, strict=True)]
    fetched = pa.table(arrays, schema=_FETCHED)
    con = duckdb.connect()
    try:
        con.register("fetched", fetched)
        return con.sql(_TO_LAKE).to_arrow_table().cast(EVENTS_SCHEMA)
    finally:
        con.close()


def _absent_from_lake(lake: Lake, data: pa.Table) -> pa.Table:
    """The rows of `data` whose event key the lake does not hold yet."""
    con = duckdb.connect()
    try:
        con.register("incoming", data)
        events_relation(lake, con).create_view("stored")
        on = " AND ".join(f'i."{c}" = s."{c}"' for c in EVENT_KEY)
        fresh = con.sql(f"SELECT i.* FROM incoming i ANTI JOIN stored s ON {on}").to_arrow_table()  # noqa: S608
        return fresh.cast(EVENTS_SCHEMA)
    finally:
        con.close()


def _move_invoices(engine: Engine, lake: Lake, chunk_rows: int, progress: Progress | None) -> tuple[int, int]:
    """Move the store's invoices chunk by chunk (see the module's note); (appended, removed from store)."""
    c = STORE_INVOICES.c
    columns: list[Any] = [c.id, c.customer_id, c.external_id, c.due_date, c.amount, c.issued_at, c.paid_at]
    columns += [c.paid_amount, c.attributes]
    moved = removed = 0
    while True:
        with engine.connect() as conn:
            chunk = conn.execute(select(*columns).order_by(c.id).limit(chunk_rows)).all()
        if not chunk:
            return moved, removed
        ids = [int(row[0]) for row in chunk]
        names = ["customer_id", "invoice_id", "due_date", "amount", "issued_at", "paid_at", "paid_amount"]
        data = {n: [row[i + 1] for row in chunk] for i, n in enumerate(names)}
        # the same JSON text an import writes (the database's own text may escape non-ASCII)
        data["attributes"] = [None if not row[8] else json.dumps(row[8], ensure_ascii=False) for row in chunk]
        data["import_id"] = [None] * len(chunk)
        arrays = [pa.array(data[f.name], type=f.type) for f in INVOICES_SCHEMA]
        rows = pa.Table.from_arrays(arrays, schema=INVOICES_SCHEMA)
        with lake.writing(LakeTable.INVOICES):
            if lake.open(LakeTable.INVOICES) is not None:
                rows = _absent_invoices(lake, rows)
            if rows.num_rows:
                lake.append(LakeTable.INVOICES, rows, operation=f"upgrade:invoices:{ids[-1]}")
        with engine.begin() as conn:
            removed += conn.execute(delete(STORE_INVOICES).where(c.id.in_(ids))).rowcount
        moved += rows.num_rows
        if progress is not None:
            progress(f"invoices: {moved:,} moved")


def _absent_invoices(lake: Lake, data: pa.Table) -> pa.Table:
    """The rows of `data` whose invoice the lake does not hold yet."""
    con = duckdb.connect()
    try:
        con.register("incoming", data)
        invoices_relation(lake, con).create_view("stored")
        fresh = con.sql("SELECT i.* FROM incoming i ANTI JOIN stored s USING (invoice_id)").to_arrow_table()
        return fresh.cast(INVOICES_SCHEMA)
    finally:
        con.close()


def _move_snapshots(engine: Engine, lake: Lake, progress: Progress | None) -> tuple[int, int]:
    """Write every as-of date the lake lacks from the store's long values; (dates, values) moved."""
    with engine.connect() as conn:
        stored = [
            d for (d,) in conn.execute(select(STORE_VALUES.c.as_of).distinct().order_by(STORE_VALUES.c.as_of))
        ]
    done = set(snapshot_dates(lake))
    dates = values = 0
    for day in stored:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        if day in done:
            continue
        long = _values_of(engine, day)
        wide = long.pivot(index="customer_id", columns="indicator", values="value").reset_index()
        wide.columns.name = None
        write_snapshot(lake, wide.assign(as_of=day))
        dates += 1
        values += len(long)
        if progress is not None:
            progress(f"indicator snapshots: {day.isoformat()} moved")
    return dates, values


def _values_of(engine: Engine, day: date) -> pd.DataFrame:
    query = select(STORE_VALUES.c.customer_id, STORE_VALUES.c.indicator, STORE_VALUES.c.value).where(
        STORE_VALUES.c.as_of == day
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=["customer_id", "indicator", "value"])
    return frame.astype({"customer_id": "int64", "value": "float64"})


def store_rows(engine: Engine, *, any_only: bool = False) -> dict[str, int]:
    """Rows left in the store's events, indicator_values and invoices tables (absent tables count 0); with
    `any_only`, 1 for a table with rows (a cheap look, not a count)."""
    present = set(inspect(engine).get_table_names())
    counts = {}
    with engine.connect() as conn:
        for name, store_table in _STORE_TABLES.items():
            if name not in present:
                counts[name] = 0
            elif any_only:
                counts[name] = int(
                    conn.execute(select(literal(1)).select_from(store_table).limit(1)).first() is not None
                )
            else:
                counts[name] = int(conn.execute(select(func.count()).select_from(store_table)).scalar_one())
    return counts
