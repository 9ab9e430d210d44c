"""Churn model training speed and peak memory on demo data: indicators at N weekly dates, labels, LightGBM.

    .venv/bin/python benchmarks/model_training.py --customers 100000 [--weeks 52] [--keep DIR]

Writes demo data as Parquet and imports it into a SQLite store (both cached in --keep DIR when given), then
runs `churnradar model train` the way the CLI does, in a child process so that peak RSS is the training's
alone, and prints the time of each stage, the held-out metrics and the baselines.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

END = date(2026, 6, 30)
# 52 weekly as-of dates need 90 days of history before the first and a 90-day label window after the last.
YEARS = 1.6


def child(db: str, weeks: int) -> dict[str, Any]:
    """Train on the store at `db`; stage times in seconds, peak RSS in MiB, the report's key figures."""
    from churnradar.db import create_engine
    from churnradar.evaluation.training import TrainOptions, train_from_store
    from churnradar.kit.clock import SystemClock

    stages: list[tuple[str, float]] = []
    start = time.perf_counter()
    report = train_from_store(
        create_engine(f"sqlite:///{db}"),
        TrainOptions(snapshots=weeks),
        at=SystemClock().now(),
        progress=lambda step: stages.append((step, round(time.perf_counter() - start, 1))),
    )
    total = round(time.perf_counter() - start, 1)
    return {
        "seconds": total,
        "stages": stages,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": report["rows"],
        "rounds": report["rounds"],
        "features": report["features"],
        "held_out": {
            k: report["model"][k] for k in ("auc", "pr_auc", "brier", "lift_top_decile", "base_rate")
        },
        "uncalibrated_brier": report["model_uncalibrated"]["brier"],
        "baselines_auc": {
            group: {name: m["auc"] for name, m in rankers.items()}
            for group, rankers in report["baselines"].items()
        },
    }


def prepare(folder: Path, customers: int) -> Path:
    """Demo files and an imported SQLite store for `customers`, reused when already there."""
    from churnradar.config import Settings
    from churnradar.db import create_engine
    from churnradar.demo.write import generate_demo
    from churnradar.ingest.service import import_path
    from churnradar.store import migrate

    data, db = folder / f"demo_{customers}", folder / f"demo_{customers}.db"
    if db.exists():
        return db
    started = time.perf_counter()
    generate_demo(data, customers=customers, seed=7, end=END, years=YEARS, fmt="parquet")
    engine = create_engine(f"sqlite:///{db}")
    migrate(engine)
    settings = Settings(environment="test", secret_key="x" * 32)  # type: ignore[arg-type]
    assert import_path(engine, data, settings=settings).ok
    engine.dispose()
    print(f"prepared {customers:,} customers in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return db


def main() -> None:
    """Prepare the store, then time training in a child process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--keep", type=Path, help="cache folder for generated data and the SQLite store")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    with tempfile.TemporaryDirectory() as scratch:
        db = prepare(args.keep or Path(scratch), args.customers)
        # A fresh copy each run: training stores a model, and the cached store should stay as generated.
        copy = Path(scratch) / "train.db"
        copy.write_bytes(db.read_bytes())
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(copy), str(args.weeks)],
            check=True,
            capture_output=True,
            text=True,
        )
        print(
            json.dumps({"customers": args.customers, "weeks": args.weeks, **json.loads(out.stdout)}, indent=2)
        )


if __name__ == "__main__":
    main()
