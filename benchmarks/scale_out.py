"""Scale-out: one as-of date, every built-in indicator and rule, DuckDB over Parquet against Spark local[2].

    .venv/bin/python benchmarks/scale_out.py --customers 100000 [--keep DIR] [--engines duckdb spark]
        [--spark-memory 4g] [--shuffle-partitions 8]

Writes demo data as Parquet (the lake; cached in --keep DIR when given) and a SQLite store holding only the
people and customers (what evaluation reads besides the events). Then, each engine in a child process of its
own so that peak memory is that run's alone, through the same code `churnradar evaluate` runs with
CHURNRADAR_ANALYTICS__BACKEND set:
- open: connect (for Spark: start the JVM and session) and read the store's customer ids;
- indicators: all built-ins for one as-of date, results keyed back to the store's customers;
- rules: the customer table, health scores and every template's rules on those values (pandas, the same
  for both engines; shown so that the whole evaluation is accounted for).
Python's peak RSS and, for Spark, the JVM's (VmHWM) are reported; CPU seconds include the JVM's.
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
from typing import Any

from demo_store import demo_parquet, sqlite_store

AS_OF = date(2026, 6, 1)
LAKE = ("customers", "events", "contracts", "invoices")


def _jvm_peak_mb(source: Any) -> float | None:
    """The Spark driver JVM's peak resident memory, from /proc (None for DuckDB)."""
    if source.engine_name != "pyspark":
        return None
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None) if gateway is not None else None
    if process is None:
        return None
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return None


def _jvm_cpu_s(source: Any) -> float:
    if source.engine_name != "pyspark":
        return 0.0
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    if process is None:
        return 0.0
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def child(engine_name: str, lake: str, store: str, memory: str, partitions: int) -> dict[str, Any]:
    """One engine's run: open, indicators, rules; seconds of each and peak memory."""
    from churnradar.analytics.backends import open_analytics
    from churnradar.config import AnalyticsSettings
    from churnradar.db import create_engine
    from churnradar.evaluation.assess import assess
    from churnradar.evaluation.frames import all_customers, customers_at
    from churnradar.evaluation.service import active_rulebook
    from churnradar.indicator.service import compute_indicators

    settings = AnalyticsSettings(
        backend="spark" if engine_name == "spark" else "duckdb",
        parquet_dir=Path(lake),
        spark_driver_memory=memory,
        spark_shuffle_partitions=partitions,
    )
    engine = create_engine(f"sqlite:///{store}")
    started = time.perf_counter()
    source = open_analytics(engine, settings)
    opened = time.perf_counter()
    wide = source.for_store(compute_indicators(source, [AS_OF]))
    computed = time.perf_counter()
    jvm_mb, jvm_cpu = _jvm_peak_mb(source), _jvm_cpu_s(source)
    source.close()
    book = active_rulebook(engine)
    with engine.connect() as conn:
        customers = customers_at(all_customers(conn), AS_OF, book.templates)
    assessment = assess(wide, customers, book)
    judged = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "engine": engine_name,
        "open_s": round(opened - started, 1),
        "indicators_s": round(computed - opened, 1),
        "rules_s": round(judged - computed, 1),
        "total_s": round(judged - started, 1),
        "customers_judged": len(customers),
        "rule_hits": len(assessment.fired),
        "cpu_s": round(usage.ru_utime + usage.ru_stime + jvm_cpu, 1),
        "python_peak_mb": round(usage.ru_maxrss / 1024),
        "jvm_peak_mb": jvm_mb,
    }


def _prepare(folder: Path, customers: int) -> tuple[Path, Path, dict[str, int]]:
    """The lake (cached) and a SQLite store with the people and customers only."""
    data, rows = demo_parquet(folder, customers)
    lake = folder / f"lake-{customers}"
    lake.mkdir(exist_ok=True)
    people = folder / f"people-{customers}"
    people.mkdir(exist_ok=True)
    for name in LAKE:
        (lake / f"{name}.parquet").unlink(missing_ok=True)
        (lake / f"{name}.parquet").symlink_to(data / f"{name}.parquet")
    for name in ("users", "customers"):
        (people / f"{name}.parquet").unlink(missing_ok=True)
        (people / f"{name}.parquet").symlink_to(data / f"{name}.parquet")
    store = folder / f"people-{customers}.db"
    sqlite_store(store, people)
    return lake, store, rows


def _run(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    """Parse arguments, prepare data, run each engine in a child process and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    parser.add_argument("--spark-memory", default="4g", help="spark.driver.memory (local mode: all of it)")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="cache folder for generated data and the store")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine_name, lake, store, memory, partitions = args.child
        print(json.dumps(child(engine_name, lake, store, memory, int(partitions))))
        return
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="churnradar-scale-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        lake, store, rows = _prepare(folder, args.customers)
        report: dict[str, Any] = {
            "customers": args.customers,
            "events": rows.get("events"),
            "as_of": str(AS_OF),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
        for name in args.engines:
            report[name] = _run(name, str(lake), str(store), args.spark_memory, str(args.shuffle_partitions))
        report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
