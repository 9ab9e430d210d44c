"""Invoices in the lake: an idempotent write keyed by the invoice's source id, a DuckDB view, and the reads
people need (one customer's latest invoices, counts in a scope)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pyarrow as pa

from churnradar.lake.keyed import write_keyed
from churnradar.lake.repository import Lake
from churnradar.lake.schemas import INVOICE_KEY, INVOICE_VALUES, INVOICES_SCHEMA, LakeTable, MergeCounts
from churnradar.lake.timeline import customer_files


def invoices_relation(lake: Lake, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The stored invoices as a DuckDB relation (INVOICES_SCHEMA's columns)."""
    return lake.relation(con, LakeTable.INVOICES, INVOICES_SCHEMA)


def write_invoices(
    lake: Lake, data: pa.Table, *, operation: str, values: Sequence[str] | None = None
) -> MergeCounts:
    """Insert new invoices and update changed ones (a payment, another customer) in one commit.

    `values` are the columns an update may change (a file without `paid_amount` leaves the stored one as it
    is); every value column by default.
    """
    return write_keyed(
        lake,
        LakeTable.INVOICES,
        data,
        schema=INVOICES_SCHEMA,
        key=INVOICE_KEY,
        values=INVOICE_VALUES if values is None else tuple(v for v in INVOICE_VALUES if v in values),
        operation=operation,
    )


@dataclass(frozen=True)
class StoredInvoice:
    """One invoice as the lake holds it."""

    invoice_id: str
    due_date: date
    amount: float
    issued_at: datetime | None
    paid_at: datetime | None
    paid_amount: float | None


_FIELDS = tuple(StoredInvoice.__dataclass_fields__)


def customer_invoices(lake: Lake, customer_id: int, *, limit: int = 50) -> list[StoredInvoice]:
    """A customer's latest invoices (latest due date first), read from the files that may hold them."""
    files = customer_files(lake, [customer_id], LakeTable.INVOICES)
    if not files:
        return []
    con = duckdb.connect()
    try:
        columns = ", ".join(f'"{c}"' for c in _FIELDS)
        rows = con.execute(
            f"SELECT {columns} FROM read_parquet($files) WHERE customer_id = $customer "  # noqa: S608
            "ORDER BY due_date DESC, invoice_id DESC LIMIT $limit",
            {"files": files, "customer": int(customer_id), "limit": int(limit)},
        ).fetchall()
    finally:
        con.close()
    return [StoredInvoice(*row) for row in rows]


def count_invoices(lake: Lake, customer_ids: Sequence[int] | None = None) -> int:
    """Stored invoices, all of them or those of `customer_ids`."""
    con = duckdb.connect()
    try:
        rel = invoices_relation(lake, con)
        if customer_ids is not None:
            con.register("scope", pa.table({"customer_id": pa.array(customer_ids, pa.int64())}))
            rel = rel.join(con.table("scope"), "customer_id", how="semi")
        counted = rel.aggregate("count(*)").fetchone()
        return int(counted[0]) if counted else 0
    finally:
        con.close()


def customers_with_invoices(lake: Lake, customer_ids: Sequence[int]) -> set[int]:
    """Those of `customer_ids` that have an invoice in the lake."""
    if not customer_ids or lake.open(LakeTable.INVOICES) is None:
        return set()
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"customer_id": pa.array(customer_ids, pa.int64())}))
        rel = invoices_relation(lake, con).join(con.table("wanted"), "customer_id", how="semi")
        return {int(r[0]) for r in rel.aggregate("customer_id").fetchall()}
    finally:
        con.close()
