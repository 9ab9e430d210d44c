"""PostgreSQL sources read by COPY: the server writes CSV, Arrow parses it, no Python object per value.

The query's result is streamed into a temporary CSV file (`COPY (query) TO STDOUT`), then read back in
Arrow batches of text and cut into chunks at a change of the cursor column, like the generic path. Times
come as `2026-11-01 08:00:00+00`: the offset is completed to `+00:00`, the ISO form the import reads fast.

The file has no name (`tempfile.TemporaryFile`: unlinked from the start, O_TMPFILE on Linux), so it goes
with the process: a kill -9 during a COPY leaves nothing behind in the temporary folder.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from churnradar.ingest.validate import bounded
from churnradar.source import cursor as cursors
from churnradar.source.connectors.base import Chunk, Pull
from churnradar.source.exceptions import ConnectorError

BLOCK_BYTES = 4 * 1024 * 1024
_PG_TIME = r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?[+-]\d{2})$"


def applies(engine: Engine) -> bool:
    """Whether the source is PostgreSQL through psycopg 3 (whose COPY this uses)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def copy_chunks(
    engine: Engine, query: sa.Select[Any], column: str | None, pull: Pull, where: str
) -> Iterator[Chunk]:
    """The query's rows as chunks of text columns (see the module); `where` starts error messages."""
    compiled = query.compile(dialect=engine.dialect)
    with tempfile.TemporaryFile(prefix="churnradar-copy-", suffix=".csv") as spool:
        try:
            raw = engine.raw_connection()
        except sa.exc.DBAPIError as exc:
            raise ConnectorError(f"{where}: {first_line(exc.orig or exc)}") from None
        except psycopg.Error as exc:
            raise ConnectorError(f"{where}: {first_line(exc)}") from None
        try:
            cursor = raw.cursor()
            statement = f"COPY ({compiled}) TO STDOUT (FORMAT csv, HEADER)"
            with cursor.copy(statement, compiled.params) as copy:
                for data in copy:
                    spool.write(data)
            raw.commit()
        except psycopg.Error as exc:
            raise ConnectorError(f"{where}: {first_line(exc)}") from None
        finally:
            raw.close()
        yield from _chunks(spool, column, pull)


def first_line(exc: BaseException) -> str:
    """An error's first line, bounded (a driver's message may go on with context lines)."""
    lines = str(exc).strip().splitlines()
    return bounded(lines[0] if lines else type(exc).__name__, 300)


def _batches(spool: BinaryIO) -> Iterator[pa.RecordBatch]:
    spool.seek(0)
    header = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    names = next(csv.reader(header), [])
    header.detach()  # the spool stays open for Arrow
    if not names:
        return
    spool.seek(0)
    read = pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=True,  # an unquoted empty field is SQL NULL; "" is an empty string
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=True)
    times: list[bool] | None = None  # per column: does it hold times (decided on the first batch)
    with pacsv.open_csv(spool, read_options=read, parse_options=parse, convert_options=convert) as reader:
        for batch in reader:
            if times is None:
                times = [pc.any(pc.match_substring_regex(c, _PG_TIME)).as_py() is True for c in batch.columns]
            columns = [
                pc.replace_substring_regex(c, pattern=_PG_TIME, replacement=r"\1:00") if time else c
                for c, time in zip(batch.columns, times, strict=True)
            ]
            yield pa.RecordBatch.from_arrays(columns, names=names)


def _chunks(spool: BinaryIO, column: str | None, pull: Pull) -> Iterator[Chunk]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in _batches(spool):
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
    last = table.column(column)[-1].as_py() if column is not None else None
    return Chunk(pull.kind, cursors.encode(last) if column is not None else None, table.combine_chunks())
