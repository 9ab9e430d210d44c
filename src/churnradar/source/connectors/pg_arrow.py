"""PostgreSQL sources read as Arrow by ADBC's libpq driver: binary COPY parsed in C++, no Python per value.

The result's schema is asked for first (`ExecuteSchema`, nothing runs): columns Arrow holds natively (text,
integers, floats, booleans, dates, times with or without zone) come as they are; every other type (numeric,
json, uuid, arrays, intervals ...) is cast to text by the server, the text a CSV export would give. The
cursor's last value is bound as a parameter cast to the cursor column's own type, never spliced into SQL.
Batches are cut into chunks at a change of the cursor column, like the generic path. Nothing is spooled to
disk: a kill -9 leaves no file behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_pg
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import URL, Engine

from churnradar.ingest.validate import bounded
from churnradar.source import cursor as cursors
from churnradar.source.connectors.base import Chunk, Pull
from churnradar.source.exceptions import ConnectorError

BATCH_BYTES = 16 * 1024 * 1024  # the driver's Arrow batch size hint
CHUNK_ROWS = 1_000_000  # rows per chunk unless the source says (SqlOptions.chunk_rows)
_PG_TYPE = b"POSTGRESQL:type"
_STATUS = re.compile(r"^[A-Z_]+: (?:\[libpq\] )?")


def applies(engine: Engine) -> bool:
    """Whether the source is PostgreSQL (read through ADBC; other databases take the generic path)."""
    return engine.dialect.name == "postgresql"


def _native(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_date(kind)
        or pa.types.is_timestamp(kind)
    )


def _libpq_uri(url: URL, timeout: int) -> str:
    """The SQLAlchemy URL as libpq takes it (its own query parameters kept, a connect timeout added)."""
    query = dict(url.query) | {"connect_timeout": str(timeout)}
    return url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


def problem(exc: BaseException) -> str:
    """The server's or libpq's own words, first line, bounded (never the connection URL)."""
    text = str(exc)
    if "ERROR:" in text:
        text = text.split("ERROR:", 1)[1]
    lines = text.strip().splitlines()
    return bounded(_STATUS.sub("", lines[0]).strip() if lines else type(exc).__name__, 300)


def arrow_chunks(
    engine: Engine, query: str, column: str | None, pull: Pull, where: str, *, timeout: int
) -> Iterator[Chunk]:
    """The rows of `query` (the admin's SELECT) after the pull's cursor, as typed chunks; `where` starts
    error messages."""
    try:
        with adbc_pg.connect(_libpq_uri(engine.url, timeout)) as conn, conn.cursor() as cur:
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
            source = f"({query}) AS src"  # the admin's own SELECT, run as written (see the module)
            schema = cur.adbc_execute_schema(f"SELECT * FROM {source}")  # noqa: S608
            names = list(schema.names)
            if column is not None and column not in names:
                raise ConnectorError(f"{where}: the query has no cursor column {column!r}")
            statement, parameters = _statement(engine, source, schema, column, pull.cursor)
            cur.execute(statement, parameters)
            yield from _chunks(_streamed(cur.fetch_record_batch(), where), column, pull)
    except adbc_driver_manager.Error as exc:
        raise ConnectorError(f"{where}: {problem(exc)}") from None


def _statement(
    engine: Engine, source: str, schema: pa.Schema, column: str | None, cursor: str | None
) -> tuple[str, tuple[str, ...] | None]:
    quote = engine.dialect.identifier_preparer.quote
    if all(_native(f.type) for f in schema):
        select = "*"
    else:
        select = ", ".join(
            f"src.{quote(f.name)}" if _native(f.type) else f"src.{quote(f.name)}::text AS {quote(f.name)}"
            for f in schema
        )
    statement = f"SELECT {select} FROM {source}"  # noqa: S608 (names quoted; the query is the admin's)
    if column is None:
        return statement, None
    parameters = None
    if cursor is not None:
        pg_type = (schema.field(column).metadata or {}).get(_PG_TYPE, b"text").decode()
        statement += f" WHERE src.{quote(column)} > CAST($1 AS {quote(pg_type)})"
        parameters = (str(cursors.shown(cursor)),)
    return statement + f" ORDER BY src.{quote(column)}", parameters


def _streamed(reader: pa.RecordBatchReader, where: str) -> Iterator[pa.RecordBatch]:
    """The reader's batches; an error the server sends mid-stream (a division by zero at row 500,000)
    comes out of the reader as an OSError: a ConnectorError like any other."""
    try:
        yield from reader
    except (OSError, pa.ArrowException) as exc:
        raise ConnectorError(f"{where}: {problem(exc)}") from None


def _chunks(batches: Iterator[pa.RecordBatch], column: str | None, pull: Pull) -> Iterator[Chunk]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        while rows >= pull.batch_rows:
            table = pa.Table.from_batches(pending)
            cut = _cut(table, column, pull.batch_rows)
            if cut is None:
                break  # the last cursor value may go on in the next batch
            yield _chunk(pull, table.slice(0, cut), column)
            rest = table.slice(cut)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield _chunk(pull, pa.Table.from_batches(pending), column)


def _cut(table: pa.Table, column: str | None, size: int) -> int | None:
    """Where to end a chunk of at least `size` rows without parting one cursor value; None: not yet."""
    if column is None:
        return size
    values = table.column(column)
    changed = pc.not_equal(values.slice(size), values.slice(size - 1, len(values) - size))
    found = pc.index(pc.fill_null(changed, True), True).as_py()
    return None if found < 0 else size + found


def _chunk(pull: Pull, table: pa.Table, column: str | None) -> Chunk:
    table = table.replace_schema_metadata(None).combine_chunks()
    last = table.column(column)[-1].as_py() if column is not None else None
    return Chunk(pull.kind, cursors.encode(last) if column is not None else None, table)
