"""A SQL database (any SQLAlchemy URL an installed driver serves): one query per record kind.

The query is the admin's, run as written inside `SELECT * FROM (query) AS src`; the cursor column's last
value is a bound parameter (`WHERE src.col > :cursor ORDER BY src.col`), never text spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from churnradar.i18n import N_
from churnradar.ingest.readers import cell_text
from churnradar.ingest.schemas import IMPORT_ORDER, RecordKind
from churnradar.ingest.validate import bounded
from churnradar.source import cursor as cursors
from churnradar.source.connectors import pg_arrow
from churnradar.source.connectors.base import Chunk, ConnectorKind, Pull
from churnradar.source.exceptions import ConnectorError
from churnradar.source.form import FormField

# The driver argument that bounds a connection attempt, per backend (psycopg, PyMySQL, pymssql).
_TIMEOUT_ARGS = {"postgresql": "connect_timeout", "mysql": "connect_timeout", "mssql": "login_timeout"}


class SqlOptions(BaseModel):
    """`queries`: a SELECT per record kind; `cursor`: per kind, the column that grows (updated_at, id)."""

    model_config = ConfigDict(extra="forbid")

    queries: dict[RecordKind, str]
    cursor: dict[RecordKind, str] = {}
    connect_timeout_seconds: int = 10
    # Rows per chunk, the unit imported and committed with its cursor. None: a million from PostgreSQL
    # (Arrow columns; each chunk's import checks it against the stored rows, so fewer is slower), the
    # import batch size (CHURNRADAR_IMPORTS__BATCH_ROWS) from the others (their rows are Python objects).
    chunk_rows: int | None = Field(default=None, ge=1_000)


def _problem(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return bounded(text[0] if text else type(exc).__name__, 300)


class SqlConnector:
    """An open SQLAlchemy engine on the source database."""

    def __init__(self, name: str, options: SqlOptions, secrets: dict[str, str]) -> None:
        self.name, self.options = name, options
        try:
            url = sa.make_url(secrets["url"])
            args: dict[str, Any] = {}
            timeout = _TIMEOUT_ARGS.get(url.get_backend_name())
            if timeout is not None:
                args[timeout] = options.connect_timeout_seconds
            self.engine: Engine = sa.create_engine(url, connect_args=args, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            # The URL holds a password: say what is wrong with it, never the URL itself.
            raise ConnectorError(
                f"source {name}: the database URL is not usable: {type(exc).__name__}"
            ) from None

    def kinds(self) -> list[RecordKind]:
        return [k for k in IMPORT_ORDER if k in self.options.queries]

    def _select(self, kind: RecordKind, after: Any) -> sa.Select[Any]:
        source = sa.text(self.options.queries[kind]).columns().subquery("src")
        query: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(source)
        column = self.options.cursor.get(kind)
        if column is not None:
            col: sa.ColumnClause[Any] = sa.literal_column(
                self.engine.dialect.identifier_preparer.quote(column)
            )
            if after is not None:
                query = query.where(col > sa.bindparam("cursor", after, type_=sa.types.NullType()))
            query = query.order_by(col)
        return query

    def test(self) -> str:
        counts = []
        try:
            with self.engine.connect() as conn:
                for kind in self.kinds():
                    conn.execute(self._select(kind, None).limit(1)).all()
                    counts.append(kind.value)
        except SQLAlchemyError as exc:
            raise ConnectorError(f"source {self.name}: {_problem(exc)}") from None
        return f"connected; queries for {', '.join(counts)} run"

    def chunks(self, pull: Pull) -> Iterator[Chunk]:
        column = self.options.cursor.get(pull.kind)
        after = cursors.decode(pull.cursor) if column else None
        arrow = pg_arrow.applies(self.engine)
        pull = replace(
            pull, batch_rows=self.options.chunk_rows or (pg_arrow.CHUNK_ROWS if arrow else pull.batch_rows)
        )
        try:
            if arrow:
                where = f"source {self.name}, {pull.kind.value}"
                query = self.options.queries[pull.kind]
                timeout = self.options.connect_timeout_seconds
                yield from pg_arrow.arrow_chunks(self.engine, query, column, pull, where, timeout=timeout)
                return
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=pull.batch_rows).execute(
                    self._select(pull.kind, after)
                )
                names = list(result.keys())
                if column is not None and column not in names:
                    raise ConnectorError(
                        f"source {self.name}, {pull.kind.value}: the query has no cursor column {column!r}"
                    )
                at = names.index(column) if column is not None else None
                yield from _chunked(pull, names, at, result.partitions(pull.batch_rows))
        except DBAPIError as exc:
            raise ConnectorError(f"source {self.name}, {pull.kind.value}: {_problem(exc)}") from None
        except SQLAlchemyError as exc:
            raise ConnectorError(f"source {self.name}, {pull.kind.value}: {_problem(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()


def _chunked(
    pull: Pull, names: list[str], at: int | None, parts: Iterator[Sequence[Sequence[Any]]]
) -> Iterator[Chunk]:
    """Rows in chunks of about `batch_rows`, never parting rows of one cursor value (the next sync starts
    after the last value stored, so a value split over two chunks would lose its second half)."""
    buffer: list[Sequence[Any]] = []
    for part in parts:
        buffer.extend(part)
        while len(buffer) >= pull.batch_rows:
            cut = pull.batch_rows
            if at is not None:
                while cut < len(buffer) and buffer[cut][at] == buffer[cut - 1][at]:
                    cut += 1
                if cut == len(buffer):
                    break  # the last value may go on in the next part
            yield _chunk(pull, names, at, buffer[:cut])
            buffer = buffer[cut:]
    if buffer:
        yield _chunk(pull, names, at, buffer)


def _chunk(pull: Pull, names: list[str], at: int | None, rows: list[Sequence[Any]]) -> Chunk:
    columns = [_column(values) for values in zip(*rows, strict=True)]
    table = pa.Table.from_arrays(columns, names=names)
    return Chunk(pull.kind, cursors.encode(rows[-1][at]) if at is not None else None, table)


def _column(values: tuple[Any, ...]) -> pa.Array:
    """A result column as Arrow, typed as the database gave it (decimals as floats; mixed values as text)."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return pa.array([cell_text(v) for v in values], pa.string())
    if pa.types.is_decimal(array.type):
        return array.cast(pa.float64())
    return array


_QUERIES = N_("Queries per record kind")
FORM = (
    FormField("secrets.url", N_("Database URL (SQLAlchemy)"), "secret"),
    FormField("options.connect_timeout_seconds", N_("Connect timeout (seconds)"), "number"),
    FormField("options.chunk_rows", N_("Rows per chunk (each committed with its cursor)"), "number"),
    FormField("options.queries.{kind}", N_("Query (SELECT)"), "textarea", group=_QUERIES, per_kind=True),
    FormField("options.cursor.{kind}", N_("Cursor column"), group=_QUERIES, per_kind=True),
)

SQL = ConnectorKind(
    options=SqlOptions,
    secrets=frozenset({"url"}),
    required_secrets=frozenset({"url"}),
    open=SqlConnector,
    describe="a SQL database: a query per record kind, an incremental cursor column",
    form=FORM,
)
