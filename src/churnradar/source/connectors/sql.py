"""A SQL database (any SQLAlchemy URL an installed driver serves): one query per record kind.

The query is the admin's, run as written inside `SELECT * FROM (query) AS src`; the cursor column's last
value is a bound parameter (`WHERE src.col > :cursor ORDER BY src.col`), never text spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from churnradar.ingest.schemas import IMPORT_ORDER, RecordKind
from churnradar.ingest.validate import bounded
from churnradar.source import cursor as cursors
from churnradar.source.connectors.base import Chunk, ConnectorKind, Pull
from churnradar.source.exceptions import ConnectorError


class SqlOptions(BaseModel):
    """`queries`: a SELECT per record kind; `cursor`: per kind, the column that grows (updated_at, id)."""

    model_config = ConfigDict(extra="forbid")

    queries: dict[RecordKind, str]
    cursor: dict[RecordKind, str] = {}
    connect_timeout_seconds: int = 10


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
            if url.get_backend_name() == "postgresql":
                args["connect_timeout"] = options.connect_timeout_seconds
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
                query = query.where(col > sa.bindparam("cursor", after))
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
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=pull.batch_rows).execute(
                    self._select(pull.kind, after)
                )
                if column is not None and column not in list(result.keys()):
                    raise ConnectorError(
                        f"source {self.name}, {pull.kind.value}: the query has no cursor column {column!r}"
                    )
                yield from _chunked(pull, column, (dict(r) for r in result.mappings()))
        except DBAPIError as exc:
            raise ConnectorError(f"source {self.name}, {pull.kind.value}: {_problem(exc)}") from None
        except SQLAlchemyError as exc:
            raise ConnectorError(f"source {self.name}, {pull.kind.value}: {_problem(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()


def _chunked(pull: Pull, column: str | None, rows: Iterator[Mapping[str, Any]]) -> Iterator[Chunk]:
    """Rows in chunks of about `batch_rows`, never parting rows of one cursor value (the next sync starts
    after the last value stored, so a value split over two chunks would lose its second half)."""
    buffer: list[Mapping[str, Any]] = []
    for row in rows:
        if column is not None and len(buffer) >= pull.batch_rows and row[column] != buffer[-1][column]:
            yield Chunk(pull.kind, cursors.encode(buffer[-1][column]), buffer)
            buffer = []
        elif column is None and len(buffer) >= pull.batch_rows:
            yield Chunk(pull.kind, None, buffer)
            buffer = []
        buffer.append(row)
    if buffer:
        yield Chunk(pull.kind, cursors.encode(buffer[-1][column]) if column else None, buffer)


SQL = ConnectorKind(
    options=SqlOptions,
    secrets=frozenset({"url"}),
    required_secrets=frozenset({"url"}),
    open=SqlConnector,
    describe="a SQL database: a query per record kind, an incremental cursor column",
)
