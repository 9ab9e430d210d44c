"""What is stored already under keys a batch names: for scope checks that must see what an update changes."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlalchemy.engine import Engine

from churnradar.ingest import repository as repo
from churnradar.ingest.schemas import RecordKind
from churnradar.lake.invoices import invoices_relation
from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for


def stored_customers(engine: Engine, kind: RecordKind, keys: set[str]) -> dict[str, str]:
    """For contracts or invoices: the customer (external id) each of these stored keys belongs to now, so a
    scope check sees what an update would change as well as what it writes."""
    wanted = sorted(keys)
    if not wanted:
        return {}
    if kind is RecordKind.CONTRACTS:
        with engine.connect() as conn:
            return repo.contract_customers(conn, wanted)
    if kind is not RecordKind.INVOICES:
        return {}
    lake = lake_for(engine)
    if not (lake.path(LakeTable.INVOICES) / "_delta_log").is_dir():
        return {}
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"invoice_id": pa.array(wanted, pa.string())}))
        rows = (
            invoices_relation(lake, con)
            .filter("invoice_id IN (SELECT invoice_id FROM wanted)")
            .select("invoice_id, customer_id")
            .fetchall()
        )
    finally:
        con.close()
    with engine.connect() as conn:
        external = repo.customer_external_ids(conn, sorted({int(r[1]) for r in rows}))
    return {str(r[0]): external[int(r[1])] for r in rows if int(r[1]) in external}
