"""Write simulated demo data as canonical import files (CONTRACT §2), chunk by chunk, in flat memory.

`generate_demo` is what `churnradar demo` calls. It turns each block from `simulate.py` (codes, day and
second offsets) into Arrow tables with the canonical columns and appends them with pyarrow's CSV or
Parquet writers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from churnradar.demo import texts
from churnradar.demo.model import (
    CONTRACT_STATUSES,
    KINDS,
    MAX_MEMBERS,
    MAX_SEATS,
    NEVER,
    PATTERNS,
    Floats,
    Ints,
)
from churnradar.demo.simulate import (
    BLOCK,
    Block,
    World,
    build_world,
    simulate_block,
)

IMPORT_FILES = ("users", "customers", "events", "contracts", "invoices")
# Login and feature users are u1, u2, ... of the customer; retail orders name a member m1, m2, ...
_USERS = tuple(f"u{k}" for k in range(1, MAX_SEATS + 1)) + tuple(f"m{k}" for k in range(1, MAX_MEMBERS + 1))


@dataclass(frozen=True)
class DemoSummary:
    """What `generate_demo` wrote: paths and row counts by file (users, ..., invoices, truth)."""

    out_dir: Path
    paths: dict[str, Path]
    rows: dict[str, int]


class _Writer(Protocol):
    def write_table(self, table: pa.Table) -> None: ...


def generate_demo(
    out_dir: Path,
    *,
    customers: int,
    seed: int = 42,
    end: date,
    years: float = 1.0,
    fmt: Literal["csv", "parquet"] = "csv",
    chunk_customers: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Simulate `customers` customers over `years` before `end` and write the canonical files to out_dir.

    The data depends on (customers, seed, end, years) only: chunk_customers, rounded down to whole blocks of
    1,000, just bounds memory. truth.csv (pattern, decay start, churn date) is CSV in both formats.
    """
    if customers < 1 or years <= 0 or chunk_customers < 1:
        raise ValueError("customers, years and chunk_customers must be positive")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: use csv or parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(customers=customers, seed=seed, end=end, years=years)
    paths = {name: out_dir / f"{name}.{fmt}" for name in IMPORT_FILES} | {"truth": out_dir / "truth.csv"}
    rows = dict.fromkeys(paths, 0)
    per_chunk = max(1, chunk_customers // BLOCK)
    n_blocks = -(-customers // BLOCK)
    with ExitStack() as stack:
        writers: dict[str, _Writer] = {}

        def write(name: str, table: pa.Table) -> None:
            as_csv = paths[name].suffix == ".csv"
            if name not in writers:
                writers[name] = stack.enter_context(_open(paths[name], table.schema, as_csv))
            writers[name].write_table(_csv_ready(table) if as_csv else table)
            rows[name] += table.num_rows

        write("users", _users_table(world))
        for first in range(0, n_blocks, per_chunk):
            chunk = [
                _tables(world, simulate_block(world, b))
                for b in range(first, min(first + per_chunk, n_blocks))
            ]
            for name in chunk[0]:
                write(name, pa.concat_tables([tables[name] for tables in chunk]))
            if progress is not None:
                progress(min(customers, (first + per_chunk) * BLOCK))
    return DemoSummary(out_dir, paths, rows)


@contextmanager
def _open(path: Path, schema: pa.Schema, as_csv: bool) -> Iterator[_Writer]:
    """An appending writer for one file; CSV is written unquoted (no vocabulary entry needs quotes)."""
    with ExitStack() as stack:
        writer: pa_csv.CSVWriter | pq.ParquetWriter
        if as_csv:
            sink = stack.enter_context(path.open("wb"))
            # Arrow quotes header names even with quoting "none"; plain ones are friendlier.
            sink.write((",".join(schema.names) + "\n").encode())
            text_schema = pa.schema([pa.field(f.name, pa.string()) if _is_ts(f) else f for f in schema])
            options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
            writer = pa_csv.CSVWriter(sink, text_schema, write_options=options)
        else:
            writer = pq.ParquetWriter(str(path), schema, compression="zstd")
        stack.callback(writer.close)
        yield writer


def _is_ts(f: pa.Field) -> bool:
    return bool(pa.types.is_timestamp(f.type))


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as `2024-03-01T09:30:00`: Arrow's CSV writer would put a space for the T."""
    for i, f in enumerate(table.schema):
        if _is_ts(f):
            table = table.set_column(
                i, f.name, pc.replace_substring(pc.cast(table[i], pa.string()), " ", "T")
            )
    return table


@cache
def _strings(words: tuple[str, ...]) -> pa.Array:
    return pa.array(words, type=pa.string())


def _words(words: tuple[str, ...], codes: Ints | Floats) -> pa.Array:
    """Text for integer codes into `words`; negative codes are null."""
    return _strings(words).take(pa.array(codes.astype(np.int32), mask=codes < 0))


def _dates(world: World, days: Ints | Floats) -> pa.Array:
    """Days from the window start as dates; NEVER is null."""
    serial = days.astype(np.int64) + world.start.astype(np.int64)
    return pa.array(serial.astype(np.int32), type=pa.date32(), mask=days >= NEVER)


def _stamps(world: World, seconds: Ints | Floats) -> pa.Array:
    """Seconds from the window start as timestamps without zone (UTC); NaN is null."""
    missing = np.isnan(seconds.astype(np.float64))
    whole = np.where(missing, 0, seconds).astype(np.int64) + world.start.astype("M8[s]").astype(np.int64)
    return pa.array(whole, type=pa.timestamp("s"), mask=missing)


def _numbers(values: Ints | Floats, integer: bool = False) -> pa.Array:
    """Numbers with NaN as null, as int64 when `integer`."""
    missing = np.isnan(values.astype(np.float64))
    if integer:
        return pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)
    return pa.array(values.astype(np.float64), mask=missing)


def _ids(prefix: str, customer_ids: pa.Array, seq: Ints | Floats, width: int) -> pa.Array:
    """`{prefix}{customer_id}-{seq}`, seq zero-padded to `width`: unique, and stable for a customer."""
    number = pc.utf8_lpad(pc.cast(pa.array(seq.astype(np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, customer_ids, "-", number, "")


def _seq(cust: Ints | Floats) -> Ints:
    """1, 2, ... within each customer's rows (rows sorted by customer)."""
    return np.arange(1, cust.size + 1) - np.searchsorted(cust, cust, side="left")


def _users_table(world: World) -> pa.Table:
    """The sales organisation: a director, team managers, reps."""
    return pa.table({name: pa.array(values, type=pa.string()) for name, values in world.users.items()})


def _tables(world: World, block: Block) -> dict[str, pa.Table]:
    """customers, truth, events, contracts and invoices of one block, with canonical columns."""
    c, e, k, v = block.customers, block.events, block.contracts, block.invoices
    number = np.arange(block.first + 1, block.first + c["ind"].size + 1)
    width = max(6, len(str(world.customers)))
    cid = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(pa.array(number), pa.string()), width, "0"), ""
    )
    owner = pa.array(c["owner"].astype(np.int64))
    churned = c["churn"] < world.n_days

    def of(cust: Ints | Floats) -> pa.Array:
        return cid.take(pa.array(cust.astype(np.int64)))

    ecid, kcid, vcid = of(e["cust"]), of(k["cust"]), of(v["cust"])
    ind = c["ind"].astype(np.int64)
    return {
        "customers": pa.table({
            "customer_id": cid, "name": texts.company_names(c["names"].astype(np.int64), ind, c["lang"] == 1),
            "owner": pa.array(world.users["login"]).take(owner),
            "team": pa.array(world.users["team"]).take(owner),
            "segment": _words(texts.SEGMENTS, c["seg"]), "industry": _words(texts.INDUSTRIES, ind),
            "tier": _words(texts.TIERS, c["tier"]), "signup_date": _dates(world, c["signup"]),
            "status": _words(("active", "churned"), churned.astype(np.int64)),
            "churned_at": _dates(world, np.where(churned, c["churn"], NEVER)),
            "churn_reason": _words(texts.VOCAB, np.where(churned, c["reason"], -1)),
        }),
        "truth": pa.table({
            "customer_id": cid, "pattern": _words(PATTERNS, c["pattern"]),
            "decay_start": _dates(world, c["decay_start"]), "churn_date": _dates(world, c["churn"]),
        }),
        "events": pa.table({
            "customer_id": ecid, "ts": _stamps(world, e["ts"]), "kind": _words(KINDS, e["kind"]),
            "event_id": _ids("", ecid, _seq(e["cust"]), 5), "amount": _numbers(e["amount"]),
            "value": _numbers(e["value"]), "quantity": _numbers(e["quantity"], integer=True),
            "channel": _words(texts.CHANNELS, e["channel"]),
            "direction": _words(texts.DIRECTIONS, e["direction"]),
            "text": _words(texts.VOCAB, e["text"]), "user": _words(_USERS, e["user"]),
        }),
        "contracts": pa.table({
            "contract_id": _ids("CT-", kcid, k["term"], 2), "customer_id": kcid,
            "start_date": _dates(world, k["start"]), "end_date": _dates(world, k["end"]),
            "value": _numbers(k["value"]), "status": _words(CONTRACT_STATUSES, k["status"]),
            "auto_renew": pa.array(k["auto_renew"].astype(bool)),
        }),
        "invoices": pa.table({
            "invoice_id": _ids("INV-", vcid, _seq(v["cust"]), 3), "customer_id": vcid,
            "due_date": _dates(world, v["due"]), "amount": _numbers(v["amount"]),
            "issued_at": _stamps(world, v["issued_at"]), "paid_at": _stamps(world, v["paid_at"]),
            "paid_amount": _numbers(v["paid_amount"]),
        }),
    }  # fmt: skip
