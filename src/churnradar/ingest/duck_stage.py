"""Stage a clean UTF-8 events CSV through DuckDB into a scratch SQLite file, with no Python object per value.

pyarrow parses the file (the same parser and trimming as the staged path's bulk reader), DuckDB checks and
converts the cells column by column and writes the rows into a new SQLite file of its own, and the import then
attaches that file to its transaction and inserts from it. DuckDB's extension carries its own SQLite library:
it writes only the scratch file, which the store's library opens after DuckDB has closed it, and it never
opens the store (two SQLite copies must not share a file; see `analytics.source.duckdb_over_store`).

Only a strict subset of the canonical format is accepted: values the validator would accept and convert to
exactly the same stored values (plain decimals, ISO 8601 times with seconds and an offset or in UTC, ASCII
kinds and channels, an event_id on every row, extra columns without characters JSON escapes). A row outside
it is marked, and the caller sends the file down the staged path, which reports every problem as before.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, Table, Text

from churnradar.analytics.extensions import load_extension
from churnradar.ingest.mapping import ColumnMapping
from churnradar.ingest.schemas import SPECS, RecordKind
from churnradar.ingest.validate import ColumnPlan

SCRATCH_TABLE = "stage"
OK = "ok"
_TEXT = ("customer_id", "ts", "kind", "event_key", "channel", "direction", "text", "attributes")
_NUMBERS = ("amount", "value", "quantity")
_DECIMAL = r"^\d{1,15}(\.\d{1,15})?$"
_SIGNED = r"^-?\d{1,15}(\.\d{1,15})?$"
# Date, then optional hours:minutes, seconds with up to 6 decimals, and offset: what the validator's ISO 8601
# parser reads the same way (it reads more; anything else goes to it).
_TIME = (
    r"^(\d{4}-\d{2}-\d{2})(?:[T ]((?:[01]\d|2[0-3]):[0-5]\d)(:[0-5]\d(?:\.\d{1,6})?)?)?"
    r"(Z|[+-](?:0\d|1[0-4]):[0-5]\d)?$"
)
_JSON_ESCAPED = r'["\\\x00-\x1f]'


def fits(plan: ColumnPlan, mapping: ColumnMapping) -> bool:
    """Whether a file with this header and mapping can take this path at all (its rows are checked later)."""
    return (
        "event_id" in plan.known
        and not plan.defaults
        and not mapping.values
        and not mapping.formats
        and len(set(plan.canonical)) == len(plan.canonical)
    )


def scratch_table(schema: str, name: str) -> Table:
    """The staged rows in the attached scratch file, with the columns the staging table has for the merge."""
    columns: list[Column[Any]] = [Column(name, Text) for name in _TEXT]
    columns += [Column(name, Float) for name in _NUMBERS]
    # customer_ref is not in the file: the merge's column map names it, and the insert replaces it by a join.
    columns += [Column("customer_ref", Integer), Column(OK, Boolean)]
    return Table(name, MetaData(), *columns, schema=schema)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _length_ok(cell: str, limit: int) -> str:
    return f"length({cell}) <= {limit}"


def _ascii(cell: str) -> str:
    return f"strlen({cell}) = length({cell})"


def _select(plan: ColumnPlan, *, utc_zone: bool, max_text: int) -> tuple[str, dict[str, str]]:
    """The SELECT over the registered Arrow stream `src` that yields the scratch rows and their `ok` flag,
    with its parameters (the extra columns' attribute keys, from the file's header)."""
    spec = SPECS[RecordKind.EVENTS]
    cell = {name: f"c{i}" for i, name in enumerate(plan.canonical)}

    def get(name: str) -> str:
        return cell.get(name, "NULL::VARCHAR")

    def limit(name: str) -> int:
        return spec.by_name[name].max_length or max_text

    customer, kind, event_id, channel = get("customer_id"), get("kind"), get("event_id"), get("channel")
    checks = [
        f"{customer} IS NOT NULL AND {_length_ok(customer, limit('customer_id'))}",
        f"{kind} IS NOT NULL AND {_ascii(kind)} AND {_length_ok(kind, limit('kind'))}",
        f"{event_id} IS NOT NULL AND {_length_ok(event_id, limit('event_id'))}",
        "local IS NOT NULL AND year(local) BETWEEN 1900 AND 2200",
        f"({channel} IS NULL OR ({_ascii(channel)} AND {_length_ok(channel, limit('channel'))}))",
        f"({get('direction')} IS NULL OR lower({get('direction')}) IN ('in', 'out'))",
        f"({get('text')} IS NULL OR {_length_ok(get('text'), limit('text'))})",
        f"({get('amount')} IS NULL OR regexp_full_match({get('amount')}, {_literal(_DECIMAL)}))",
    ]
    checks += [
        f"({get(n)} IS NULL OR regexp_full_match({get(n)}, {_literal(_SIGNED)}))" for n in _NUMBERS[1:]
    ]
    if not utc_zone:  # a time without offset is in the configured zone: the validator converts it
        checks.append("parts.z <> ''")
    pieces: list[str] = []
    keys: dict[str, str] = {}
    for name in plan.extra:
        value = cell[name]
        checks.append(f"({value} IS NULL OR NOT regexp_matches({value}, {_literal(_JSON_ESCAPED)}))")
        # The header is the user's text: it reaches DuckDB as a parameter, never inside the SQL.
        key = f"key{len(keys)}"
        keys[key] = json.dumps(name, ensure_ascii=False) + ': "'
        pieces.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE ${key} || {value} || '\"' END")
    if pieces:
        joined = f"concat_ws(', ', {', '.join(pieces)})"
        attributes = f"CASE WHEN {joined} = '' THEN NULL ELSE '{{' || {joined} || '}}' END"
    else:
        attributes = "NULL::VARCHAR"
    offset = (
        "CASE WHEN parts.z IN ('', 'Z') THEN 0 ELSE (CASE WHEN parts.z[1] = '-' THEN -1 ELSE 1 END) * "
        "(CAST(parts.z[2:3] AS INTEGER) * 60 + CAST(parts.z[5:6] AS INTEGER)) END"
    )
    local = (
        "try_cast(parts.d || ' ' || coalesce(nullif(parts.hm, ''), '00:00') || "
        "coalesce(nullif(parts.s, ''), ':00') AS TIMESTAMP)"
    )
    time = _literal(_TIME)
    numbers = ", ".join(f"CAST({get(n)} AS DOUBLE) AS {n}" for n in _NUMBERS)
    sql = f"""
        SELECT
            {customer} AS customer_id,
            strftime(local - to_minutes({offset}), '%Y-%m-%d %H:%M:%S.%f') AS ts,
            lower({kind}) AS kind,
            'id:' || {event_id} AS event_key,
            lower({get("channel")}) AS channel,
            lower({get("direction")}) AS direction,
            {get("text")} AS text,
            {attributes} AS attributes,
            {numbers},
            coalesce({" AND ".join(checks)}, false) AS {OK}
        FROM (
            SELECT *, {local} AS local
            FROM (SELECT *, regexp_extract({get("ts")}, {time}, ['d', 'hm', 's', 'z']) AS parts FROM src)
        )
    """  # noqa: S608 - cells are our own c0, c1, ...; the only user text (header names) are parameters
    return sql, keys


@dataclass(frozen=True)
class Chunk:
    """One scratch file written: how many rows, whether all are in the accepted form, and rows and latest
    time per event kind."""

    path: Path
    tables: list[str]
    rows: int
    ok: bool
    kinds: list[tuple[str, int, str]]


class ScratchWriter:
    """Writes a file's rows into a few scratch SQLite files in turn (SQLite attaches at most ten files).

    `write_next` converts the next part of the file; it runs in a worker thread while the caller inserts the
    previous part, and returns None when the file is done. The Arrow batches are only ever advanced there.
    """

    def __init__(
        self,
        batches: Iterator[pa.RecordBatch],
        width: int,
        plan: ColumnPlan,
        folder: Path,
        *,
        zone: ZoneInfo,
        max_text: int,
        blocks: int,
        chunks: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._batches = batches
        self._schema = pa.schema([pa.field(f"c{i}", pa.string()) for i in range(width)])
        self._select, self._parameters = _select(plan, utc_zone=zone.key == "UTC", max_text=max_text)
        self._folder = folder
        self._per_chunk = math.ceil(blocks / chunks)
        self._chunks = chunks
        # How many parts the file should make: `blocks` is an estimate (pyarrow's blocks vary in size).
        self.parts = math.ceil(blocks / self._per_chunk)
        self._written = 0
        self._rows = 0
        self._done = False
        self._progress = progress
        self._con: duckdb.DuckDBPyConnection | None = None
        self.stopped = threading.Event()

    def _part(self, blocks: int | None) -> Iterator[pa.RecordBatch]:
        taken = 0
        while blocks is None or taken < blocks:
            if self.stopped.is_set():
                raise RuntimeError("the import stopped")
            batch = next(self._batches, None)
            if batch is None:
                self._done = True
                return
            taken += 1
            self._rows += batch.num_rows
            if self._progress:
                self._progress(self._rows)
            yield batch

    def close(self) -> None:
        """Close the file and DuckDB (call it when no `write_next` is running)."""
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
        if self._con is not None:
            self._con.close()
            self._con = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:  # one connection for all parts: loading the extension costs a tenth of a second
            self._con = duckdb.connect(config={"threads": 2, "memory_limit": "512MB"})
            load_extension(self._con, "sqlite")
        return self._con

    def write_next(self) -> Chunk | None:
        """Convert the next part of the file into a new scratch file (None when nothing is left).

        Each parsed block becomes a table of its own, so that DuckDB holds one block at a time. Raises
        `duckdb.Error` for anything DuckDB cannot do (the caller takes the staged path then).
        """
        if self._done:
            return None
        last = self._written == self._chunks - 1
        path = self._folder / f"stage{self._written}.sqlite"
        self._written += 1
        con = self._connection()
        con.execute(f"ATTACH {_literal(str(path))} AS scratch (TYPE sqlite)")
        tables: list[str] = []
        kinds: dict[str, tuple[int, str, bool]] = {}
        try:
            for block in self._part(None if last else self._per_chunk):
                table = f"{SCRATCH_TABLE}{len(tables)}"
                con.register("src", pa.Table.from_batches([block], schema=self._schema))
                try:
                    con.execute(f"CREATE TABLE scratch.{table} AS {self._select}", self._parameters)
                finally:
                    con.unregister("src")
                tables.append(table)
                query = f"SELECT kind, count(*), max(ts), min(CAST(ok AS INTEGER)) FROM scratch.{table}"  # noqa: S608
                for kind, count, latest, ok in con.execute(query + " GROUP BY kind").fetchall():
                    before = kinds.get(kind, (0, "", True))
                    kinds[kind] = (
                        before[0] + int(count),
                        max(before[1], str(latest)),
                        before[2] and bool(ok),
                    )
        finally:
            con.execute("DETACH scratch")
        rows = sum(k[0] for k in kinds.values())
        if not tables:
            return None
        ok = all(k[2] for k in kinds.values())
        return Chunk(path, tables, rows, ok, [(k, n, latest) for k, (n, latest, _) in kinds.items()])
