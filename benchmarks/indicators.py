"""Indicator engine speed and peak memory on demo data, against a hand-written DuckDB query.

    .venv/bin/python benchmarks/indicators.py --customers 100000 [--years 2] [--parquet-only] [--weeks 52]
        [--keep DIR]

Writes demo data as Parquet (cached in --keep DIR when given), imports it into a SQLite store (the embedded
default), then times, each in a child process so that peak RSS is that run's alone:
- all built-in indicators for one as-of date, DuckDB over the SQLite file;
- the same for `--weeks` weekly as-of dates in one pass;
- all built-ins for one date from the Parquet files;
- a representative subset through churnradar and through one hand-written DuckDB SQL query, on both sources
  (on the store both read the columnar copy made when the source opens), checking that the values agree and
  printing the ratio churnradar / hand-written (the figure to drive to 1).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from demo_store import demo_parquet, sqlite_store

AS_OF = date(2026, 6, 1)
SUBSET = (
    "orders_30d", "order_amount_90d", "avg_order_value_90d", "login_days_30d", "days_since_last_login",
    "communications_30d", "features_used_30d", "complaints_90d",
)  # fmt: skip
# The subset written by hand, the way one would without churnradar (`$at`: the as-of instant, UTC).
HAND_SQL = """
WITH e AS (
    SELECT customer_id, ts, kind, amount, text FROM {events}
    WHERE ts < $at AND kind IN ('order', 'login', 'communication', 'feature_use', 'complaint')
), agg AS (
    SELECT customer_id,
        count(*) FILTER (WHERE kind = 'order' AND ts >= $at - INTERVAL 30 DAY) AS orders_30d,
        sum(amount) FILTER (WHERE kind = 'order' AND ts >= $at - INTERVAL 90 DAY) AS order_amount_90d,
        avg(amount) FILTER (WHERE kind = 'order' AND ts >= $at - INTERVAL 90 DAY) AS avg_order_value_90d,
        count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE kind = 'login' AND ts >= $at - INTERVAL 30 DAY)
            AS login_days_30d,
        floor((epoch($at) - epoch(max(ts) FILTER (WHERE kind = 'login'))) / 86400) AS days_since_last_login,
        count(*) FILTER (WHERE kind = 'communication' AND ts >= $at - INTERVAL 30 DAY) AS communications_30d,
        count(DISTINCT text) FILTER (WHERE kind = 'feature_use' AND ts >= $at - INTERVAL 30 DAY)
            AS features_used_30d,
        count(*) FILTER (WHERE kind = 'complaint' AND ts >= $at - INTERVAL 90 DAY) AS complaints_90d
    FROM e GROUP BY customer_id
)
SELECT c.customer_id,
    coalesce(orders_30d, 0)::DOUBLE AS orders_30d, coalesce(order_amount_90d, 0) AS order_amount_90d,
    avg_order_value_90d, coalesce(login_days_30d, 0)::DOUBLE AS login_days_30d,
    days_since_last_login::DOUBLE AS days_since_last_login,
    coalesce(communications_30d, 0)::DOUBLE AS communications_30d,
    coalesce(features_used_30d, 0)::DOUBLE AS features_used_30d,
    coalesce(complaints_90d, 0)::DOUBLE AS complaints_90d
FROM {customers} c LEFT JOIN agg USING (customer_id)
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _source(where: str) -> Any:
    from churnradar.db import create_engine
    from churnradar.indicator import service

    path = Path(where)
    return service.open_source(path if path.is_dir() else create_engine(f"sqlite:///{path}"))


def child_all(where: str, weeks: int) -> dict[str, Any]:
    """All built-in indicators for `weeks` weekly as-of dates ending at AS_OF, in one pass."""
    from churnradar.indicator import service

    dates = [AS_OF - timedelta(days=7 * k) for k in range(weeks)]
    started = time.perf_counter()
    with _source(where) as source:
        opened = time.perf_counter()
        wide = service.compute_indicators(source, dates)
    done = time.perf_counter()
    return {
        "seconds": done - started, "open_s": opened - started, "compute_s": done - opened,
        "rows": len(wide), "columns": wide.shape[1] - 2,
    }  # fmt: skip


def child_subset(where: str) -> dict[str, Any]:
    """The subset through churnradar and by hand; the values must agree."""
    import numpy as np

    from churnradar.indicator import service

    with _source(where) as source:
        started = time.perf_counter()
        ours = service.compute_indicators(source, [AS_OF], slugs=list(SUBSET))
        ours_s = time.perf_counter() - started
        raw = source.con.con  # the DuckDB connection churnradar itself opened (the store's lake or Parquet)
        # On the store both read the lake's files and the customers churnradar fetched on opening.
        raw.register("bench_customers", source.customers.to_pyarrow())
        events, customers = "temp.main.cr_events", "bench_customers"
        if Path(where).is_dir():
            events = f"read_parquet('{Path(where) / 'events.parquet'}')"
            customers = f"read_parquet('{Path(where) / 'customers.parquet'}')"
        sql = HAND_SQL.format(events=events, customers=customers).replace("$at", f"TIMESTAMP '{AS_OF}'")
        started = time.perf_counter()
        hand = raw.execute(sql).df()
        hand_s = time.perf_counter() - started
    ours = ours.set_index("customer_id").sort_index()
    hand = hand.set_index("customer_id").sort_index()
    for slug in SUBSET:
        a, b = ours[slug].to_numpy(dtype=float), hand[slug].to_numpy(dtype=float)
        if not np.allclose(a, b, rtol=1e-9, equal_nan=True):
            raise AssertionError(f"{slug}: churnradar and the hand-written query disagree")
    return {"churnradar_s": ours_s, "hand_s": hand_s, "ratio": ours_s / hand_s, "agree": True}


def _run(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _prepare(
    folder: Path, customers: int, years: float, with_sqlite: bool
) -> tuple[Path, Path | None, dict[str, int]]:
    data, rows = demo_parquet(folder, customers, years)
    if not with_sqlite:
        return data, None, rows
    db = folder / f"store-{data.name.removeprefix('demo-')}.db"
    seconds = sqlite_store(db, data)
    if seconds is not None:
        print(f"imported into SQLite in {seconds:.1f} s", file=sys.stderr)
    return data, db, rows


def main() -> None:
    """Parse arguments, prepare data, run each measurement in a child process and print a summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--years", type=float, default=1.0, help="years of history (2: ~94 events/customer)")
    parser.add_argument("--parquet-only", action="store_true", help="skip the SQLite store (1M customers)")
    parser.add_argument("--keep", type=Path, help="cache folder for generated data and the SQLite store")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, where, *rest = args.child
        result = child_all(where, int(rest[0])) if kind == "all" else child_subset(where)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        # CPU seconds too: on a shared machine wall-clock time says as much about the neighbours.
        cpu = round(usage.ru_utime + usage.ru_stime, 1)
        print(json.dumps({**result, "cpu_s": cpu, "peak_rss_mb": round(_peak_mb())}))
        return
    with tempfile.TemporaryDirectory(prefix="churnradar-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        data, db, rows = _prepare(folder, args.customers, args.years, not args.parquet_only)
        report: dict[str, Any] = {
            "customers": args.customers,
            "years": args.years,
            "events": rows.get("events"),
            "as_of": str(AS_OF),
        }
        if db is not None:
            report["sqlite_one_date"] = _run("all", str(db), "1")
            report[f"sqlite_{args.weeks}_weeks"] = _run("all", str(db), str(args.weeks))
            one, many = report["sqlite_one_date"]["seconds"], report[f"sqlite_{args.weeks}_weeks"]["seconds"]
            report["weeks_over_one_date"] = round(many / one, 2)
            report["sqlite_subset_vs_hand"] = _run("subset", str(db))
        report["parquet_one_date"] = _run("all", str(data), "1")
        report["parquet_subset_vs_hand"] = _run("subset", str(data))
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
