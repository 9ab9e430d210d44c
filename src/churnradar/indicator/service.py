"""What other domains call: compute indicators as of dates, snapshot them, read snapshots back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from churnradar.analytics.backends import open_analytics
from churnradar.analytics.source import Source, duckdb_over_parquet, duckdb_over_store, postgres_native
from churnradar.config import AnalyticsSettings, SnapshotSettings
from churnradar.indicator import repository, retention
from churnradar.indicator.compile import compile_indicators
from churnradar.indicator.registry import default_registry, dependency_order
from churnradar.indicator.schemas import Indicator
from churnradar.kit.registry import Registry

EngineChoice = Literal["duckdb", "postgres"]
# Many as-of dates cost the same per date in one pass or in batches; batches of 8 bound the engine's result
# and its pandas copy (52 dates x 100k customers in one pass peaked above 6 GB).
DATES_PER_BATCH = 8


@contextmanager
def open_source(
    where: Engine | Path, *, compute_on: EngineChoice = "duckdb", analytics: AnalyticsSettings | None = None
) -> Iterator[Source]:
    """The data to compute on: the store (read by DuckDB, or PostgreSQL itself) or a Parquet folder.

    With `analytics` settings, the store's engine is only where results go: the configured backend reads
    and computes, and `Source.for_store` keys its frames by the store's customer ids.
    """
    if isinstance(where, Path):
        source = duckdb_over_parquet(where)
    elif analytics is not None:
        source = open_analytics(where, analytics)
    elif compute_on == "postgres":
        if where.dialect.name != "postgresql":
            raise ValueError("compute_on='postgres' needs a PostgreSQL store")
        source = postgres_native(where)
    else:
        source = duckdb_over_store(where)
    try:
        yield source
    finally:
        source.close()


def selected_indicators(
    slugs: Sequence[str] | None = None, registry: Registry[Indicator] | None = None
) -> list[Indicator]:
    """`slugs` (default: all registered) with their dependencies, each after what it depends on."""
    registry = registry or default_registry()
    return [registry.get(s) for s in dependency_order(registry, list(slugs) if slugs else list(registry))]


def compute_indicators(
    source: Source,
    as_of_dates: Sequence[date],
    *,
    slugs: Sequence[str] | None = None,
    registry: Registry[Indicator] | None = None,
    zone: ZoneInfo | str = "UTC",
    dates_per_pass: int | None = None,
) -> pd.DataFrame:
    """Wide frame: `customer_id`, `as_of`, one float column per indicator; a row per customer and date.

    All dates share one query unless `dates_per_pass` splits them into batches, which bounds memory (a
    backtest over a million customers) at the price of one scan per batch.
    """
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    indicators = selected_indicators(slugs, registry)
    days = sorted(set(as_of_dates))
    step = dates_per_pass or len(days) or 1
    frames = [_run(source, indicators, days[k : k + step], zone) for k in range(0, len(days), step)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    ordered: pd.DataFrame = frame.sort_values(["as_of", "customer_id"], ignore_index=True)
    return ordered


def indicator_batches(
    source: Source,
    as_of_dates: Sequence[date],
    *,
    slugs: Sequence[str] | None = None,
    registry: Registry[Indicator] | None = None,
    zone: ZoneInfo | str = "UTC",
    dates_per_batch: int = DATES_PER_BATCH,
) -> Iterator[tuple[list[date], pd.DataFrame]]:
    """`compute_indicators` for `dates_per_batch` dates at a time, oldest first: (those dates, their frame).

    For backtests and training over many dates: only one batch's values are in memory at a time.
    """
    days = sorted(set(as_of_dates))
    for k in range(0, len(days), dates_per_batch):
        batch = days[k : k + dates_per_batch]
        yield batch, compute_indicators(source, batch, slugs=slugs, registry=registry, zone=zone)


def _run(source: Source, indicators: list[Indicator], days: Sequence[date], zone: ZoneInfo) -> pd.DataFrame:
    expr = compile_indicators(source, indicators, days, zone)
    if source.engine_name == "postgres":
        # PostgreSQL returns numeric (Decimal) where Ibis believes the cast to float is a no-op.
        frame: pd.DataFrame = expr.execute()
        return frame.astype({i.slug: "float64" for i in indicators})
    result: pd.DataFrame = expr.to_pyarrow().to_pandas()
    return result


def snapshot_rows(wide: pd.DataFrame, *, date_text: bool = False) -> Iterator[repository.Row]:
    """`(customer_id, as_of, indicator, value)` for every cell of a wide frame, in key order.

    The key is (as-of date, indicator, customer): a new date's rows arrive in the order SQLite's B-tree
    holds them, so storing them appends (see models.indicator). `date_text` gives the date as ISO text,
    as SQLite stores it, sparing the driver a conversion per row (millions per date).
    """
    names = sorted(str(c) for c in wide.columns if c not in ("customer_id", "as_of"))
    for key, block in wide.sort_values(["as_of", "customer_id"]).groupby("as_of", sort=True):
        day = cast(date, key)
        values = block[names].to_numpy(dtype="float64").T.ravel()  # indicator by indicator
        cleaned = values.astype(object)
        cleaned[np.isnan(values)] = None
        ids = np.tile(block["customer_id"].to_numpy(dtype="int64"), len(names)).tolist()
        slugs = np.repeat(np.array(names, dtype=object), len(block)).tolist()
        stamp = day.isoformat() if date_text else day
        yield from zip(ids, [stamp] * len(ids), slugs, cleaned.tolist(), strict=True)


def snapshot_indicators(
    engine: Engine,
    as_of_dates: Sequence[date],
    *,
    slugs: Sequence[str] | None = None,
    registry: Registry[Indicator] | None = None,
    zone: ZoneInfo | str = "UTC",
    compute_on: EngineChoice = "duckdb",
    analytics: AnalyticsSettings | None = None,
) -> int:
    """Compute indicators and upsert them into indicator_values; returns rows written.

    They are read from the store, or from the `analytics` backend when given."""
    with open_source(engine, compute_on=compute_on, analytics=analytics) as source:
        wide = source.for_store(
            compute_indicators(source, as_of_dates, slugs=slugs, registry=registry, zone=zone)
        )
    return store_snapshot(engine, wide)


def store_snapshot(engine: Engine, wide: pd.DataFrame) -> int:
    """Upsert an already computed wide frame into indicator_values in its own transaction; rows written."""
    with engine.begin() as conn:
        return write_snapshot(conn, wide)


def write_snapshot(conn: Connection, wide: pd.DataFrame) -> int:
    """Upsert a wide frame (`customer_id`, `as_of`, a column per indicator) in the caller's transaction."""
    return repository.upsert_tuples(conn, snapshot_rows(wide, date_text=conn.dialect.name == "sqlite"))


def read_snapshot(
    engine: Engine, as_of: date, *, customer: str | None = None
) -> dict[str, dict[str, float | None]]:
    """Stored values for `as_of` by customer source id, then indicator slug (one customer if given)."""
    with engine.connect() as conn:
        ids = None
        if customer is not None:
            found = repository.customer_id_for(conn, customer)
            if found is None:
                raise LookupError(f"no customer with id {customer!r}")
            ids = [found]
        out: dict[str, dict[str, float | None]] = {}
        for _, external_id, indicator, value in repository.read_values(conn, as_of, customer_ids=ids):
            out.setdefault(external_id, {})[indicator] = value
        return out


@dataclass(frozen=True)
class Pruned:
    """What a prune removed: the snapshot dates and their rows."""

    dates: list[date]
    rows: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"dates": [d.isoformat() for d in self.dates], "rows": self.rows}


def prune_snapshots(engine: Engine, *, today: date, policy: SnapshotSettings) -> Pruned:
    """Remove the snapshot dates `policy` lets go as of `today` (indicator.retention), in one transaction."""
    with engine.begin() as conn:
        stored = repository.snapshot_dates(conn, limit=100_000)
        doomed = retention.dates_to_prune(
            stored,
            today=today,
            keep_daily_days=policy.keep_daily_days,
            keep_weekly_days=policy.keep_weekly_days,
        )
        return Pruned(doomed, repository.delete_dates(conn, doomed))
