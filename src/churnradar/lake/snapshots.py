"""Indicator snapshots in the lake: one wide row per customer and as-of date, partitioned by the date.

A date is written whole in one commit that replaces what was stored for it, so rerunning a date leaves one
copy; retention drops whole partitions. Rows are sorted by customer within a date, so one customer's
history reads a few row groups per date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa

from churnradar.lake.repository import Lake
from churnradar.lake.schemas import LakeTable

_TABLE = LakeTable.SNAPSHOTS
_EMPTY = pa.schema([pa.field("customer_id", pa.int64()), pa.field("as_of", pa.date32())])


def write_snapshot(lake: Lake, wide: pd.DataFrame) -> int:
    """Store a wide frame (`customer_id`, `as_of`, a float column per indicator), replacing its dates.

    Returns the values written (rows x indicators), as the long store counted them.
    """
    if wide.empty:
        return 0
    names = sorted(str(c) for c in wide.columns if c not in ("customer_id", "as_of"))
    frame = wide.assign(
        customer_id=wide["customer_id"].astype("int64"), as_of=pd.to_datetime(wide["as_of"]).dt.date
    )[["customer_id", "as_of", *names]].sort_values(["as_of", "customer_id"], ignore_index=True)
    fields = [pa.field("customer_id", pa.int64()), pa.field("as_of", pa.date32())]
    fields += [pa.field(n, pa.float64()) for n in names]
    table = pa.Table.from_pandas(frame, schema=pa.schema(fields), preserve_index=False)
    days = sorted(set(frame["as_of"]))
    with lake.writing(_TABLE):
        lake.replace_partitions(
            _TABLE, table, column="as_of", values=days, operation=f"snapshot:{days[0]}..{days[-1]}"
        )
    return len(frame) * len(names)


def snapshot_dates(lake: Lake) -> list[date]:
    """Every stored as-of date, newest first."""
    return sorted((date.fromisoformat(v) for v in lake.partition_values(_TABLE, "as_of")), reverse=True)


def snapshot_relation(
    lake: Lake, con: duckdb.DuckDBPyConnection, dates: Sequence[date] | None = None
) -> duckdb.DuckDBPyRelation:
    """The snapshot rows of `dates` (all when None) as a DuckDB relation: customer_id, as_of, indicators."""
    partitions = None if dates is None else {"as_of": [d.isoformat() for d in dates]}
    return lake.relation(con, _TABLE, _EMPTY, partitions=partitions)


def read_snapshot(lake: Lake, as_of: date, *, customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The wide rows stored for `as_of` (of `customer_ids` when given), ordered by customer."""
    con = duckdb.connect()
    try:
        rel = snapshot_relation(lake, con, [as_of])
        if customer_ids is not None:
            con.register("wanted", pd.DataFrame({"customer_id": list(customer_ids)}, dtype="int64"))
            rel = rel.join(con.table("wanted"), "customer_id", how="semi")
        frame: pd.DataFrame = rel.order("customer_id").df()
        return frame
    finally:
        con.close()


def customer_history(lake: Lake, customer_id: int, dates: Sequence[date]) -> pd.DataFrame:
    """One customer's wide rows over `dates`, oldest first."""
    if not dates:
        return pd.DataFrame(columns=["customer_id", "as_of"])
    con = duckdb.connect()
    try:
        rel = snapshot_relation(lake, con, dates).filter(f"customer_id = {int(customer_id)}")
        frame: pd.DataFrame = rel.order("as_of").df()
        return frame
    finally:
        con.close()


def delete_dates(lake: Lake, dates: Sequence[date]) -> int:
    """Drop the partitions of `dates`; rows (customers x dates) removed."""
    if not dates:
        return 0
    with lake.writing(_TABLE):
        removed = lake.delete_partitions(_TABLE, column="as_of", values=dates)
        lake.vacuum(_TABLE)
    return removed
