"""Sources of behaviour data as Ibis tables with one canonical shape, whatever engine reads them.

Ways in: DuckDB attached read-only to the operational database (the default; SQLite never computes, see
ARCHITECTURE "Known traps"), DuckDB over canonical Parquet files, PostgreSQL computing itself through Ibis'
postgres backend, and Spark (analytics/spark.py) over Parquet or its own tables. Each yields the same four
tables, keyed by `customer_id`: the store's ids when read from the store, the customers' own ids otherwise
(`Source.for_store` maps those back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy.engine import Engine, make_url

from churnradar.analytics.extensions import load_extension

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


def _duckdb_json_text(document: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's json_extract_string."""


def _postgres_json_text(document: dt.JSON, key: str) -> str:  # type: ignore[empty-body]
    """PostgreSQL's jsonb_extract_path_text."""


# Ibis maps these empty signatures onto the engines' own functions (a call form: Ibis ships no type hints).
_DUCKDB_JSON_TEXT: Any = ibis.udf.scalar.builtin(_duckdb_json_text, name="json_extract_string")
_POSTGRES_JSON_TEXT: Any = ibis.udf.scalar.builtin(_postgres_json_text, name="jsonb_extract_path_text")


def _json_user(attributes: ir.Value, engine_name: str) -> ir.Value:
    # Extra import columns such as `user` live in events.attributes (JSON text on SQLite, JSONB on
    # PostgreSQL); Ibis' portable JSON accessors emit SQL PostgreSQL rejects, so each engine gets a builtin.
    if engine_name == "postgres":
        return _POSTGRES_JSON_TEXT(attributes, "user")
    return _DUCKDB_JSON_TEXT(attributes.cast("string"), "$.user")


def _from_store(con: BaseBackend, database: Any, engine_name: str) -> Source:
    events = con.table("events", database=database)
    events = events.select(
        "customer_id", "ts", "kind", "amount", "value", "quantity", "channel", "direction", "text",
        user=_json_user(events.attributes, engine_name),
    )  # fmt: skip
    customers = con.table("customers", database=database)
    source = Source(
        con=con,
        customers=customers.select(customer_id=customers.id),
        events=events,
        contracts=con.table("contracts", database=database).select("customer_id", "start_date", "end_date"),
        invoices=con.table("invoices", database=database).select(
            "customer_id", "due_date", "amount", "issued_at", "paid_at"
        ),
        engine_name=engine_name,
    )
    if engine_name == "duckdb":
        # Row stores are slow to scan (SQLite: ~1.3 M rows/s per column set) and the indicators read
        # events several times: copy what they need once into DuckDB's columnar memory.
        source.events = con.create_table("cr_events", source.events, temp=True)
        source.customers = con.create_table("cr_customers", source.customers, temp=True)
        source.contracts = con.create_table("cr_contracts", source.contracts, temp=True)
        source.invoices = con.create_table("cr_invoices", source.invoices, temp=True)
    return source


def duckdb_over_store(engine: Engine) -> Source:
    """DuckDB reading the operational database (SQLite file or PostgreSQL) read-only, in place."""
    con = ibis.duckdb.connect()
    raw = con.con
    url = engine.url
    if url.get_backend_name() == "sqlite":
        # DuckDB's extension carries its own SQLite library. Two SQLite copies in one process cannot see
        # each other's POSIX locks: opening the file re-initialises the WAL index that a pooled connection
        # of ours still has mapped, and that connection then dies of SIGBUS at its next commit. So no
        # connection of ours may stay open across DuckDB's use of the file; the pool reopens afterwards.
        engine.dispose()
        load_extension(raw, "sqlite")
        path = url.database
        if not path or path == ":memory:":
            raise ValueError("DuckDB reads a SQLite file; an in-memory SQLite database cannot be shared")
        raw.execute(f"ATTACH '{_quote(str(Path(path).resolve()))}' AS store (TYPE sqlite, READ_ONLY)")
        return _from_store(con, ("store", "main"), "duckdb")
    if url.get_backend_name() == "postgresql":
        load_extension(raw, "postgres")
        raw.execute(f"ATTACH '{_quote(_libpq_dsn(engine))}' AS store (TYPE postgres, READ_ONLY)")
        return _from_store(con, ("store", "public"), "duckdb")
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL")


def postgres_native(engine: Engine) -> Source:
    """PostgreSQL computing the indicators itself, through Ibis' postgres backend."""
    url = engine.url
    con = ibis.postgres.connect(
        host=url.host or "localhost",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    return _from_store(con, None, "postgres")


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


def over_tables(con: BaseBackend, database: str, present: set[str], engine_name: str) -> Source:
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


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _libpq_dsn(engine: Engine) -> str:
    url = make_url(engine.url.render_as_string(hide_password=False))
    parts = {
        "host": url.host or "localhost",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


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
