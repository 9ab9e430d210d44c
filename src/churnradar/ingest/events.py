"""Events and invoices into the lake: validated batches gathered as Arrow, checked in DuckDB, written in one
Delta commit.

The store is only asked which customers exist (through SQLAlchemy, by external id) and, with
--create-missing-customers, to create the missing ones. DuckDB works on the Arrow data in memory: it never
opens the store's file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.validate import ATTRIBUTES, EVENT_KEY, ROW, USER
from churnradar.models import Customer

_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
_LOOKUP_CHUNK = 5_000  # external ids per IN (...) list: under every driver's parameter limit
_SCAN_ABOVE = _LOOKUP_CHUNK  # more ids than this are looked up in one scan of the customers table

STAGE_SCHEMA = pa.schema(
    [
        pa.field(ROW, pa.int64()),
        pa.field("customer_id", pa.string()),
        pa.field("ts", pa.timestamp("us")),
        pa.field("kind", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("value", pa.float64()),
        pa.field("quantity", pa.float64()),
        pa.field("channel", pa.string()),
        pa.field("direction", pa.string()),
        pa.field("text", pa.string()),
        pa.field(USER, pa.string()),
        pa.field(ATTRIBUTES, pa.string()),
        pa.field(EVENT_KEY, pa.string()),
    ]
)
INVOICE_STAGE_SCHEMA = pa.schema(
    [
        pa.field(ROW, pa.int64()),
        pa.field("invoice_id", pa.string()),
        pa.field("customer_id", pa.string()),
        pa.field("due_date", pa.date32()),
        pa.field("amount", pa.float64()),
        pa.field("issued_at", pa.timestamp("us")),
        pa.field("paid_at", pa.timestamp("us")),
        pa.field("paid_amount", pa.float64()),
        pa.field(ATTRIBUTES, pa.string()),
    ]
)
# The kinds whose rows go to the lake: the staging schema and the column that identifies a row in a file.
LAKE_KINDS: dict[RecordKind, tuple[pa.Schema, str]] = {
    RecordKind.EVENTS: (STAGE_SCHEMA, "event_id"),
    RecordKind.INVOICES: (INVOICE_STAGE_SCHEMA, "invoice_id"),
}


class ArrowStage:
    """A file's validated rows, batch by batch, as Arrow tables of a staging schema (events' by default)."""

    def __init__(self, schema: pa.Schema = STAGE_SCHEMA) -> None:
        self.schema = schema
        self._parts: list[pa.Table] = []

    def add(self, clean: pd.DataFrame | pa.Table) -> None:
        """Keep a batch of rows that passed validation (`validate_batch`'s output, or the fast path's)."""
        if isinstance(clean, pa.Table):
            if clean.num_rows:
                self._parts.append(clean)
            return
        if clean.empty:
            return
        columns = []
        for field in self.schema:
            if field.name in clean:
                values = clean[field.name]
                if pa.types.is_string(field.type):
                    values = values.astype(object).where(values.notna(), None)
                columns.append(pa.array(values.to_numpy(), type=field.type, from_pandas=True))
            else:
                columns.append(pa.nulls(len(clean), type=field.type))
        self._parts.append(pa.Table.from_arrays(columns, schema=self.schema))

    def clear(self) -> None:
        """Forget everything (the file is read again by another reader)."""
        self._parts = []

    def table(self) -> pa.Table:
        """Every kept row."""
        if not self._parts:
            return self.schema.empty_table()
        return pa.concat_tables(self._parts)


@dataclass
class Checked:
    """What the file-wide checks found: duplicate ids and unknown customers (counts and the first few)."""

    duplicates: int
    duplicate_rows: list[tuple[int, str, int]]
    merged: int
    unknown: int
    unknown_rows: list[tuple[int, str]]
    missing: list[str]  # the distinct unknown customer ids


class StagedBatch:
    """The staged rows of one file in a DuckDB connection of its own (closed by `close`); `key` is the
    column that identifies a row (event_id, which may be empty, or invoice_id)."""

    def __init__(self, stage: pa.Table, key: str = "event_id") -> None:
        self.con = duckdb.connect(config={"threads": 2})
        self.con.register("stage", stage)
        self.stage, self.key = stage, key
        self.ids: dict[str, int] = {}
        self.wanted: list[str] = []  # the distinct customer ids of the kept rows

    def close(self) -> None:
        """Release DuckDB."""
        self.con.close()

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def check(self, conn: Connection, limit: int) -> Checked:
        """Duplicate ids, identical id-less events folded into one, customers looked up in the store."""
        key = f'"{self.key}"'  # one of LAKE_KINDS' columns, never user text
        dup_sql = (
            f"WITH firsts AS (SELECT {key}, min(row_no) AS first_row FROM stage WHERE {key} IS NOT NULL "  # noqa: S608
            f"GROUP BY {key} HAVING count(*) > 1) "
            f"SELECT s.row_no, s.{key}, f.first_row FROM stage s JOIN firsts f USING ({key}) "
            "WHERE s.row_no <> f.first_row"
        )
        duplicates = int(self._rows(f"SELECT count(*) FROM ({dup_sql})")[0][0])  # noqa: S608
        listed = self._rows(f"{dup_sql} ORDER BY 1 LIMIT {int(limit)}") if duplicates else []
        if self.stage.column(self.key).null_count == 0:  # every row has an id: nothing to fold
            self.con.execute("CREATE TEMP VIEW kept AS SELECT * FROM stage")
        else:
            self.con.execute(
                "CREATE TEMP TABLE kept AS SELECT * FROM stage WHERE event_id IS NOT NULL OR row_no IN "
                "(SELECT min(row_no) FROM stage WHERE event_id IS NULL GROUP BY kind, event_key)"
            )
        total = int(self._rows("SELECT (SELECT count(*) FROM stage) - (SELECT count(*) FROM kept)")[0][0])
        wanted = self.wanted = [str(r[0]) for r in self._rows("SELECT DISTINCT customer_id FROM kept")]
        self.ids = stored_customer_ids(conn, wanted)
        missing = sorted(set(wanted) - set(self.ids))
        unknown, unknown_rows = 0, []
        if missing:
            self.con.register("missing", pa.table({"customer_id": pa.array(missing, pa.string())}))
            unknown_sql = "SELECT row_no, customer_id FROM kept SEMI JOIN missing USING (customer_id)"
            unknown = int(self._rows(f"SELECT count(*) FROM ({unknown_sql})")[0][0])  # noqa: S608
            unknown_rows = self._rows(f"{unknown_sql} ORDER BY 1 LIMIT {int(limit)}")
        return Checked(
            duplicates=duplicates,
            duplicate_rows=[(int(r[0]), str(r[1]), int(r[2])) for r in listed],
            merged=total,
            unknown=unknown,
            unknown_rows=[(int(r[0]), str(r[1])) for r in unknown_rows],
            missing=missing,
        )

    def resolve(self, conn: Connection) -> list[str]:
        """Look the customers up again (under the imports lock, right before the commit); the missing ones.

        A customer found by `check` may have been removed since: a failed run before this one took back the
        customers it had created.
        """
        self.ids = stored_customer_ids(conn, self.wanted)
        return sorted(set(self.wanted) - set(self.ids))

    def create_customers(self, conn: Connection, external_ids: list[str]) -> list[int]:
        """Create a bare customer per id (in `conn`'s transaction, which the caller commits); their ids."""
        for start in range(0, len(external_ids), _LOOKUP_CHUNK):
            chunk = external_ids[start : start + _LOOKUP_CHUNK]
            conn.execute(insert(_CUSTOMERS), [{"external_id": e} for e in chunk])
        created = stored_customer_ids(conn, external_ids)
        self.ids.update(created)
        return sorted(created.values())

    def lake_rows(self, run_id: int, schema: pa.Schema) -> pa.Table:
        """The kept rows as the lake table's `schema`, with the store's customer ids and the import run's id.

        Done in Arrow: a hash lookup of each row's customer among the resolved ids, the rest as it is.
        """
        if self.stage.column(self.key).null_count == 0:
            kept = self.stage
        else:
            kept = self.con.table("kept").fetch_arrow_table()
        external = pa.array(list(self.ids), pa.string())
        position = pc.index_in(kept.column("customer_id"), value_set=external)
        customer = pc.take(pa.array(list(self.ids.values()), pa.int64()), position)
        columns = {"customer_id": customer}
        columns.update({n: kept.column(n) for n in schema.names if n not in ("customer_id", "import_id")})
        columns["import_id"] = pa.array(np.full(kept.num_rows, run_id, dtype=np.int64))
        table = pa.table(columns)
        if customer.null_count:  # a customer that is not in the store: its rows are not written
            table = table.filter(pc.is_valid(customer))
        return table.cast(schema)


def stored_customer_ids(conn: Connection, external_ids: Iterable[str]) -> dict[str, int]:
    """The store's id of each given external customer id that exists."""
    wanted = list(external_ids)
    found: dict[str, int] = {}
    if len(wanted) > _SCAN_ABOVE:  # one scan of the table beats many long IN lists
        every = conn.execute(select(_CUSTOMERS.c.external_id, _CUSTOMERS.c.id)).all()
        known = {str(r[0]): int(r[1]) for r in every}
        return {e: known[e] for e in wanted if e in known}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        rows = conn.execute(
            select(_CUSTOMERS.c.external_id, _CUSTOMERS.c.id).where(_CUSTOMERS.c.external_id.in_(chunk))
        )
        found.update({str(r[0]): int(r[1]) for r in rows})
    return found
