"""Demo-data generation speed and peak memory.

    .venv/bin/python benchmarks/demo_generation.py [--customers 100000 ...] [--format parquet csv]

Each (size, format) runs `generate_demo` in a child process, so that the peak RSS reported is that run's
alone; files go to a temporary folder that is removed afterwards.
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

END = date(2026, 6, 30)


def child(customers: int, fmt: str, folder: Path) -> None:
    """Generate one demo base and print its figures as JSON."""
    from churnradar.demo.write import generate_demo

    started = time.perf_counter()
    summary = generate_demo(folder, customers=customers, seed=7, end=END, fmt=fmt)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in summary.paths.values())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"events": summary.rows["events"], "seconds": seconds, "mib": size / 2**20, "peak": peak_mib}
        )
    )


def main() -> None:
    """Parse arguments, run one child per size and format, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--format", nargs="+", choices=["parquet", "csv"], default=["parquet", "csv"])
    parser.add_argument("--child", nargs=3, metavar=("CUSTOMERS", "FORMAT", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], Path(args.child[2]))
        return
    print(
        f"{'customers':>10} {'format':<8} {'events':>12} {'seconds':>8} {'events/s':>10} "
        f"{'files MiB':>9} {'peak MiB':>9}"
    )
    for customers in args.customers:
        for fmt in args.format:
            with tempfile.TemporaryDirectory(prefix="churnradar-demo-bench-") as tmp:
                command = [sys.executable, __file__, "--child", str(customers), fmt, tmp]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
            r = json.loads(done.stdout)
            print(
                f"{customers:>10,} {fmt:<8} {r['events']:>12,} {r['seconds']:>8.1f} "
                f"{r['events'] / r['seconds']:>10,.0f} {r['mib']:>9,.0f} {r['peak']:>9,.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
