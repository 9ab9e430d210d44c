"""Import throughput and peak memory for demo-data files of given sizes.

    .venv/bin/python benchmarks/import_throughput.py --customers 10000 50000 [--format csv] [--db URL]

For each size: write demo files, then import them into a fresh database in a child process, timing each
file (wall and CPU seconds, with the 1-minute load average after it: the machine may be shared) and reading
the child's peak RSS. Peak memory should not grow with the file size (streaming batches).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def child(folder: Path, url: str) -> None:
    """Import every file of `folder` into `url`; print per-file seconds and this process's peak RSS."""
    from churnradar.config import Settings
    from churnradar.db import create_engine
    from churnradar.ingest.service import files_to_import, import_path
    from churnradar.store import migrate

    engine = create_engine(url)
    migrate(engine)
    settings = Settings()
    results = []
    for path, _kind in files_to_import(folder):
        started, cpu = time.perf_counter(), time.process_time()
        summary = import_path(engine, path, settings=settings).files[0]
        seconds = time.perf_counter() - started
        if summary.status != "succeeded":
            raise SystemExit(f"{path.name} was rejected: {summary.errors[:3]}")
        results.append(
            {
                "file": path.name,
                "rows": summary.rows,
                "seconds": seconds,
                "cpu": time.process_time() - cpu,
                "load": os.getloadavg()[0],
            }
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"files": results, "peak_mib": peak_mib}))


def main() -> None:
    """Parse arguments, run one child per size, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000])
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file per size)")
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    from churnradar.demo.write import generate_demo

    print(
        f"{'customers':>10} {'file':<16} {'rows':>12} {'seconds':>8} {'cpu s':>7} {'rows/s':>10} "
        f"{'peak MiB':>9} {'load 1m':>8}"
    )
    for customers in args.customers:
        with tempfile.TemporaryDirectory(prefix="churnradar-bench-") as tmp:
            folder = Path(tmp) / "data"
            generate_demo(folder, customers=customers, seed=7, end=date(2026, 6, 30), fmt=args.format)
            (folder / f"truth.{args.format}").unlink(missing_ok=True)
            url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), url],
                capture_output=True,
                text=True,
                check=True,
            )
            report = json.loads(done.stdout)
            for item in report["files"]:
                rate = item["rows"] / item["seconds"] if item["seconds"] else 0.0
                print(
                    f"{customers:>10,} {item['file']:<16} {item['rows']:>12,} {item['seconds']:>8.2f} "
                    f"{item['cpu']:>7.2f} {rate:>10,.0f} {report['peak_mib']:>9,.0f} {item['load']:>8.2f}"
                )


if __name__ == "__main__":
    main()
