"""Evaluate and backtest timings on simulated customers in the embedded default store (SQLite + DuckDB).

    .venv/bin/python benchmarks/evaluate_backtest.py --customers 20000 [--weeks 52] [--keep DIR] [--only RUN]

Writes demo files, imports them into a fresh SQLite file, then times one `evaluate` and a weekly backtest
over `--weeks` as-of dates (horizon 90 days), printing wall and CPU seconds, the load average (the machine
is shared) and the backtest's headline figures. `--only evaluate|backtest` runs one of the two.
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--only", choices=("evaluate", "backtest"), help="run only this one")
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
                    "task_events",
                    "intervention_tasks",
                    "notification_outbox",
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

        if args.only != "backtest":
            started, cpu = time.perf_counter(), time.process_time()
            result = evaluate(engine, as_of=END, settings=settings)
            print(
                f"evaluate (one as-of date): {_timing(started, cpu)}, "
                f"{result.customers:,} customers, {result.counts['opened']:,} alerts opened"
            )
        if args.only != "evaluate":
            last = END - timedelta(days=90)
            window = BacktestWindow(last - timedelta(weeks=args.weeks - 1), last, 7, 90, 90)
            started, cpu = time.perf_counter(), time.process_time()
            report = run_backtest(engine, window, active_rulebook(engine))
            overall = report["overall"]
            print(
                f"backtest ({len(window.dates)} weekly dates): {_timing(started, cpu)}; "
                f"precision {overall['precision']}, recall {overall['recall']}, "
                f"median lead {overall['median_lead_days']} days, AUC {overall['auc']}, "
                f"base rate {overall['base_rate']}, alerts/week {overall['alerts_per_week']}"
            )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


def _timing(started: float, cpu: float) -> str:
    """Wall and CPU seconds since `started` / `cpu`, with the 1-minute load average now."""
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return f"{wall:.1f} s wall, {used:.1f} s CPU, load average {os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    main()
