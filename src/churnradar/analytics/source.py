"""Sources of behaviour data as Ibis tables with one canonical shape, whatever engine reads them.

Ways in: DuckDB over the store's lake, with the store's own small tables brought in through SQLAlchemy
(the default; no second SQLite library ever opens the store, see ARCHITECTURE "Known traps"), DuckDB over
canonical Parquet files, PostgreSQL computing itself over a warehouse's canonical tables, and Spark
(analytics/spark.py) over Parquet or its own tables. Each yields the same four
tables, keyed by `customer_id`: the store's ids when read from the store, the customers' own ids otherwise
(`Source.for_store` maps those back).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from ibis.backends import BaseBackend
from sqlalchemy import ColumnElement, Select, Text, cast, func, select
from sqlalchemy.engine import Connection, Engine, make_url

from churnradar.lake.schemas import EVENTS_SCHEMA, INVOICES_SCHEMA, LakeTable
from churnradar.lake.service import lake_for
from churnradar.models import Contract, Customer

EVENT_COLUMNS = (
    "customer_id",
    "ts",
    "kind",
    "amount",
    "value",
    "quantity",
    "channel",
    "direction",
    "text",
    "user",
)


@dataclass
class Source:
    """The canonical tables of one data source and the Ibis backend that computes over them."""

    con: BaseBackend
    customers: ir.Table  # customer_id
    events: ir.Table  # EVENT_COLUMNS
    contracts: ir.Table  # customer_id, start_date, end_date
    invoices: ir.Table  # customer_id, due_date, amount, issued_at, paid_at
    engine_name: str  # "duckdb", "postgres" or "pyspark": what computes
    # Whose ids `customer_id` holds: the store's (read from the store) or the customers' own (a lake).
    keyed_by: Literal["store_id", "external_id"] = "store_id"
    # external_id -> the store's id, set when a lake source is opened for the store (analytics.backends).
    store_ids: pd.Series | None = None
    owns_connection: bool = True  # False for a Spark session shared with others (tests, notebooks)

    def close(self) -> None:
        """Release the connection (a shared one stays open)."""
        if self.owns_connection:
            self.con.disconnect()

    def for_store(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` keyed by the store's customer ids; rows of customers unknown to the store are dropped."""
        if self.keyed_by == "store_id":
            return frame
        if self.store_ids is None:
            raise ValueError("this source reads customers' own ids; open it with analytics.backends")
        ids = frame["customer_id"].map(self.store_ids)
        known = ids.notna()
        return frame[known].assign(customer_id=ids[known].astype("int64")).reset_index(drop=True)


def duckdb_over_store(engine: Engine) -> Source:
    """DuckDB over the store's lake (events, invoices) and its customers and contracts, keyed by store ids.

    The store's rows reach DuckDB through SQLAlchemy as Arrow tables: no second SQLite library ever opens
    the store file (ARCHITECTURE "Known traps"). The lake's tables are their current Parquet files, read in
    place.
    """
    con = ibis.duckdb.connect()
    try:
        return over_store(con, engine, lambda files, name: con.read_parquet(files, table_name=name), "duckdb")
    except Exception:
        con.disconnect()
        raise


def over_store(
    con: BaseBackend, engine: Engine, read_files: Callable[[list[str], str], ir.Table], engine_name: str
) -> Source:
    """The store's source on `con`: the lake's current files through `read_files(files, table name)`, the
    store's customers and contracts through SQLAlchemy as in-memory tables; keyed by the store's ids."""
    lake = lake_for(engine)

    def lake_table(table: LakeTable, schema: pa.Schema) -> ir.Table:
        files = lake.files(table)
        return read_files(files, f"cr_{table.value}") if files else ibis.memtable(schema.empty_table())

    events = lake_table(LakeTable.EVENTS, EVENTS_SCHEMA)
    invoices = lake_table(LakeTable.INVOICES, INVOICES_SCHEMA)
    with engine.connect() as conn:
        customers = _arrow(conn, select(Customer.id), _CUSTOMERS)
        contracts = _arrow(
            conn, select(Contract.customer_id, Contract.start_date, Contract.end_date), _CONTRACTS
        )
    return Source(
        con=con,
        customers=ibis.memtable(customers),
        events=events.select(*EVENT_COLUMNS),
        contracts=ibis.memtable(contracts),
        invoices=invoices.select(*INVOICE_COLUMNS),
        engine_name=engine_name,
    )


_CUSTOMERS = pa.schema([pa.field("customer_id", pa.int64())])
_CONTRACTS = pa.schema(
    [
        pa.field("customer_id", pa.int64()),
        pa.field("start_date", pa.date32()),
        pa.field("end_date", pa.date32()),
    ]
)
INVOICE_COLUMNS = ("customer_id", "due_date", "amount", "issued_at", "paid_at")


def _arrow(conn: Connection, query: Select[*tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """The rows of `query` (columns in `schema`'s order) as Arrow, parsed by Arrow's CSV reader.

    The database writes the rows as text (PostgreSQL: COPY; SQLite: one group_concat of the selected
    columns): no Python object per value, which made this the slowest part of opening a source at 100k
    customers. Only our own queries over numbers and dates come here (no separator can occur in them).
    """
    text = _copy_postgres(conn, query) if conn.dialect.name == "postgresql" else _concat_sqlite(conn, query)
    if not text:
        return schema.empty_table()
    options = pa_csv.ConvertOptions(column_types=schema, null_values=[""], strings_can_be_null=True)
    read = pa_csv.ReadOptions(column_names=schema.names)
    return pa_csv.read_csv(io.BytesIO(text), read_options=read, convert_options=options)


def _concat_sqlite(conn: Connection, query: Select[*tuple[Any, ...]]) -> bytes:
    rows = query.subquery()
    fields = [func.coalesce(cast(c, Text), "") for c in rows.c]
    line: ColumnElement[str] = fields[0]
    for field in fields[1:]:
        line = line.concat(",").concat(field)
    found = conn.execute(select(func.group_concat(line, "\n"))).scalar_one()
    return str(found).encode() if found else b""


def _copy_postgres(conn: Connection, query: Select[*tuple[Any, ...]]) -> bytes:
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw = conn.connection.driver_connection
    assert raw is not None
    out = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for block in copy:
            out.write(block)
    return out.getvalue()


def postgres_native(url: str) -> Source:
    """PostgreSQL computing the indicators itself over the canonical tables of the database at `url`.

    A warehouse holding `customers`, `events` (and optionally `contracts`, `invoices`) in the canonical
    import format, keyed by the customers' own ids; the store's own events live in the lake instead.
    """
    parsed = make_url(url)
    con = ibis.postgres.connect(
        host=parsed.host or "localhost",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    present = set(con.list_tables()) & {"customers", "events", "contracts", "invoices"}
    try:
        return over_tables(con, None, present, "postgres")
    except Exception:
        con.disconnect()
        raise


def duckdb_over_parquet(folder: Path) -> Source:
    """DuckDB over canonical Parquet files: customers, events, contracts, invoices (a file or folder each)."""
    return over_parquet(ibis.duckdb.connect(), folder, "duckdb")


def over_parquet(con: BaseBackend, folder: Path, engine_name: str) -> Source:
    """Canonical Parquet files read by `con` (DuckDB or Spark); contracts and invoices may be absent."""

    def found(name: str) -> Path | None:
        single, parts = folder / f"{name}.parquet", folder / name
        if single.exists():
            return single
        return parts / "*.parquet" if parts.is_dir() else None

    def read(name: str) -> ir.Table | None:
        path = found(name)
        return None if path is None else con.read_parquet(str(path), table_name=name)

    events, customers = read("events"), read("customers")
    if events is None or customers is None:
        raise FileNotFoundError(f"{folder} needs customers and events (name.parquet or a folder name/)")
    return canonical_source(con, customers, events, read("contracts"), read("invoices"), engine_name)


def over_tables(con: BaseBackend, database: str | None, present: set[str], engine_name: str) -> Source:
    """Canonical tables customers, events, contracts, invoices of a database of `con` (a Spark catalog);
    `present` names those the database holds (contracts and invoices may be absent)."""
    missing = {"customers", "events"} - present
    if missing:
        raise LookupError(f"database {database!r} lacks the tables {', '.join(sorted(missing))}")

    def table(name: str) -> ir.Table | None:
        return con.table(name, database=database) if name in present else None

    customers, events = con.table("customers", database=database), con.table("events", database=database)
    return canonical_source(con, customers, events, table("contracts"), table("invoices"), engine_name)


def canonical_events(events: ir.Table) -> ir.Table:
    """Events in EVENT_COLUMNS order and types; optional columns a lake lacks become nulls."""
    missing = {c: ibis.null(t) for c, t in _EVENT_TYPES.items() if c not in events.columns}
    events = events.mutate(**missing) if missing else events
    return events.select(
        *[c for c in EVENT_COLUMNS if c not in ("ts", "user")],
        ts=events.ts.cast("timestamp"),
        user=events.user.cast("string"),
    )


def canonical_source(
    con: BaseBackend,
    customers: ir.Table,
    events: ir.Table,
    contracts: ir.Table | None,
    invoices: ir.Table | None,
    engine_name: str,
) -> Source:
    """A Source keyed by the customers' own ids from lake tables; absent contracts or invoices are empty."""
    return Source(
        con=con,
        customers=customers.select("customer_id"),
        events=canonical_events(events),
        contracts=(contracts if contracts is not None else _empty_contracts(con)).select(
            "customer_id", "start_date", "end_date"
        ),
        invoices=(invoices if invoices is not None else _empty_invoices(con)).select(
            "customer_id", "due_date", "amount", "issued_at", "paid_at"
        ),
        engine_name=engine_name,
        keyed_by="external_id",
    )


_EVENT_TYPES = {
    "amount": "float64", "value": "float64", "quantity": "float64", "channel": "string",
    "direction": "string", "text": "string", "user": "string",
}  # fmt: skip


def _empty_contracts(con: BaseBackend) -> ir.Table:
    schema = {"customer_id": "string", "start_date": "date", "end_date": "date"}
    return ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())


def _empty_invoices(con: BaseBackend) -> ir.Table:
    schema = {
        "customer_id": "string", "due_date": "date", "amount": "float64",
        "issued_at": "timestamp", "paid_at": "timestamp",
    }  # fmt: skip
    return ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())


def duckdb_over_frames(customers: Any, events: Any, contracts: Any = None, invoices: Any = None) -> Source:
    """In-memory DuckDB over pandas frames in the canonical shape (tests, notebooks, small imports)."""
    con = ibis.duckdb.connect()
    ev = con.create_table("events", events)
    missing = {c: ibis.null(t) for c, t in _EVENT_TYPES.items() if c not in ev.columns}
    ev = ev.mutate(**missing) if missing else ev
    id_type = ev.customer_id.type()
    contract_table = (
        con.create_table("contracts", contracts)
        if contracts is not None and len(contracts)
        else _empty_contracts(con).mutate(customer_id=ibis.null(id_type))
    )
    invoice_table = (
        con.create_table("invoices", invoices)
        if invoices is not None and len(invoices)
        else _empty_invoices(con).mutate(customer_id=ibis.null(id_type))
    )
    return Source(
        con=con,
        customers=con.create_table("customers", customers).select("customer_id"),
        events=ev.select(*EVENT_COLUMNS),
        contracts=contract_table.select("customer_id", "start_date", "end_date"),
        invoices=invoice_table.select("customer_id", "due_date", "amount", "issued_at", "paid_at"),
        engine_name="duckdb",
    )
