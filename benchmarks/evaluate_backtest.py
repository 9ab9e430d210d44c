"""Evaluate and backtest timings on simulated customers in the embedded default store (SQLite + DuckDB).

    .venv/bin/python benchmarks/evaluate_backtest.py --customers 20000 [--weeks 52] [--keep DIR]

Writes demo files, imports them into a fresh SQLite file, then times one `evaluate` and a weekly backtest
over `--weeks` as-of dates (horizon 90 days), printing seconds and the backtest's headline figures.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

END = date(2026, 6, 30)


def main() -> None:
    """Parse arguments, build the store, time the runs."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--keep", type=Path, help="folder to keep the database in (default: a temporary one)")
    args = parser.parse_args()

    from churnradar.config import Settings
    from churnradar.db import create_engine
    from churnradar.demo.write import generate_demo
    from churnradar.evaluation.backtest import BacktestWindow, run_backtest
    from churnradar.evaluation.service import active_rulebook, evaluate
    from churnradar.ingest.service import import_path
    from churnradar.store import migrate

    with tempfile.TemporaryDirectory(prefix="churnradar-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        database = folder / "bench.db"
        engine = create_engine(f"sqlite:///{database}")
        settings = Settings()
        if args.keep and database.exists():
            # A kept store from an earlier run: measure evaluate and backtest again, on a fresh alert state.
            migrate(engine)
            with engine.begin() as conn:
                for table in (
                    "alert_events",
                    "alerts",
                    "customer_risk",
                    "evaluation_runs",
                    "indicator_values",
                ):
                    conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            print(f"reusing {database}")
        else:
            summary = generate_demo(
                folder / "files", customers=args.customers, seed=3, end=END, fmt="parquet"
            )
            (folder / "files" / "truth.csv").unlink(missing_ok=True)
            migrate(engine)
            assert import_path(engine, folder / "files", settings=settings).ok
            print(
                f"customers {args.customers:,}, events {summary.rows['events']:,}: "
                f"generated and imported in {time.perf_counter() - started:.1f} s"
            )

        started = time.perf_counter()
        result = evaluate(engine, as_of=END, settings=settings)
        print(
            f"evaluate (one as-of date): {time.perf_counter() - started:.1f} s, "
            f"{result.customers:,} customers, {result.counts['opened']:,} alerts opened"
        )

        last = END - timedelta(days=90)
        window = BacktestWindow(last - timedelta(weeks=args.weeks - 1), last, 7, 90, 90)
        started = time.perf_counter()
        report = run_backtest(engine, window, active_rulebook(engine))
        overall = report["overall"]
        print(
            f"backtest ({len(window.dates)} weekly dates): {time.perf_counter() - started:.1f} s; "
            f"precision {overall['precision']}, recall {overall['recall']}, "
            f"median lead {overall['median_lead_days']} days, AUC {overall['auc']}, "
            f"base rate {overall['base_rate']}, alerts/week {overall['alerts_per_week']}"
        )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
