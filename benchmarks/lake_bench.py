"""Issue #14's benchmark table: the embedded store and its lake, each step a process of its own.

    .venv/bin/python benchmarks/lake_bench.py [--customers 100000] [--years 2] [--weeks 52] [--keep DIR]
        [--skip csv,backtest,...]

Demo data (seed 7, ending 2026-06-30) is written as Parquet and as CSV (cached in --keep DIR when given);
then, in fresh SQLite stores (the lake beside each), every step below runs as its own process, timed by wall
clock and by its CPU seconds and peak RSS (from wait4, the child's own figures):

- `hand`: the hand-written DuckDB query (benchmarks/indicators.py's 8-indicator subset) over the Parquet
  files, as a whole process (interpreter start included), the yardstick of the table;
- `import-parquet`, `import-csv`: `churnradar import` of the Parquet and of the CSV folder (rows/s over the
  whole command, its start included);
- `indicators`: `churnradar indicators --as-of 2026-06-01`;
- `evaluate`: `churnradar evaluate --as-of 2026-06-01`;
- `engine-subset`, `engine-all`: churnradar's engine over the store's lake, the same 8 indicators as the
  hand-written query and all built-ins, one date, timed inside the process (computation only) and whole;
- `backtest`: `churnradar backtest` over `--weeks` weekly dates ending 90 days before the data's end;
- sizes: the input Parquet, the store file, the lake (all versions, and the tables' current files), and one
  snapshot date's current files.

Every command must exit 0 (134 is delta-rs aborting at exit; the script stops and says so). The figures go to
stdout as a Markdown table, then as one JSON document; progress goes to stderr. The machine may be shared:
the 1-minute load average is printed beside each step.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from demo_store import END, demo_parquet
from indicators import AS_OF, HAND_SQL, SUBSET

CANONICAL = ("users", "customers", "events", "contracts", "invoices")
STEPS = ("hand", "import-parquet", "import-csv", "indicators", "evaluate", "engine", "backtest")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    return env | {"CHURNRADAR_DATABASE_URL": url, "CHURNRADAR_TIMEZONE": "UTC"}


def measure(label: str, args: list[str], env: dict[str, str], folder: Path) -> dict[str, Any]:
    """Run `args` to its end; its wall and CPU seconds, peak RSS (MiB), stdout; exit 0 or the script stops."""
    out, err = folder / f"{label}.out", folder / f"{label}.err"
    _log(f"{label}: {' '.join(args[1:])}")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=stdout, stderr=stderr, cwd=folder)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code  # reaped here, through wait4, for the child's own rusage
    if code != 0:
        why = "aborted (SIGABRT: delta-rs at exit?)" if code in (134, -signal.SIGABRT) else f"exit {code}"
        raise SystemExit(f"{label}: {why}\n{err.read_text(errors='replace')[-4000:]}")
    return {
        "step": label,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "load_1m": round(os.getloadavg()[0], 2),
        "stdout": out.read_text(errors="replace"),
    }


def churnradar(label: str, url: str, folder: Path, *args: str) -> dict[str, Any]:
    """`churnradar ARGS --json` on `url`, measured; its JSON document under "result"."""
    step = measure(label, [sys.executable, "-m", "churnradar", *args, "--json"], _env(url), folder)
    step["result"] = json.loads(step.pop("stdout"))
    return step


def child(label: str, folder: Path, *args: str, url: str = "") -> dict[str, Any]:
    """This script's `--child ARGS` mode, measured; the JSON it prints under "result"."""
    step = measure(label, [sys.executable, __file__, "--child", *args], _env(url), folder)
    step["result"] = json.loads(step.pop("stdout").strip().splitlines()[-1])
    return step


def child_hand(data: Path) -> dict[str, Any]:
    """The hand-written query over the Parquet files (the whole process is measured by the caller)."""
    import duckdb

    events = f"read_parquet('{data / 'events.parquet'}')"
    customers = f"read_parquet('{data / 'customers.parquet'}')"
    sql = HAND_SQL.format(events=events, customers=customers).replace("$at", f"TIMESTAMP '{AS_OF}'")
    started = time.perf_counter()
    con = duckdb.connect()
    rows = len(con.execute(sql).fetchall())
    con.close()
    return {"rows": rows, "query_s": round(time.perf_counter() - started, 3)}


def child_engine(url: str, which: str) -> dict[str, Any]:
    """churnradar's indicator engine over the store's lake for AS_OF: the subset, or all built-ins."""
    from churnradar.db import create_engine
    from churnradar.indicator import service

    engine = create_engine(url)
    started = time.perf_counter()
    with service.open_source(engine) as source:
        opened = time.perf_counter()
        wide = service.compute_indicators(source, [AS_OF], slugs=list(SUBSET) if which == "subset" else None)
    done = time.perf_counter()
    engine.dispose()
    return {
        "rows": len(wide),
        "indicators": wide.shape[1] - 2,
        "open_s": round(opened - started, 3),
        "compute_s": round(done - opened, 3),
    }


def _first_customer(data: Path) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(data / "customers.parquet", columns=["customer_id"])
    return str(table.column("customer_id")[0].as_py())


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _current_bytes(lake_root: Path, table: str, partition: str | None = None) -> int:
    """Bytes of the files the table's latest version reads (of one as_of partition when given)."""
    from churnradar.lake.repository import Lake
    from churnradar.lake.schemas import LakeTable

    lake = Lake(lake_root)
    which = LakeTable(table)
    files = lake.files(which, partitions={"as_of": [partition]} if partition else None)
    return sum(Path(f.removeprefix("file://")).stat().st_size for f in files)


def _mib(n: int) -> float:
    return round(n / 2**20, 1)


def _data(folder: Path, customers: int, years: float, fmt: str) -> Path:
    """The demo files in `fmt` (Parquet through benchmarks/demo_store, the same call for CSV), cached."""
    if fmt == "parquet":
        return demo_parquet(folder, customers, years)[0]
    from churnradar.demo.write import generate_demo

    data = folder / f"demo-{customers}-{years:g}y-csv"
    if not (data / "done").exists():
        generate_demo(data, customers=customers, seed=7, end=END, years=years, fmt="csv")
        (data / "done").touch()
    return data


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Every step not skipped; the report."""
    skip = set(args.skip.split(",")) if args.skip else set()
    unknown = skip - set(STEPS)
    if unknown:
        raise SystemExit(f"--skip: unknown steps {sorted(unknown)}; steps are {', '.join(STEPS)}")
    _log(f"demo data: {args.customers:,} customers, {args.years:g} years, seed 7, ending {END}")
    parquet = _data(folder, args.customers, args.years, "parquet")
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=folder))
    store = run_dir / "bench.db"
    url = f"sqlite:///{store}"
    lake = run_dir / "bench-data"  # the default lake folder beside bench.db
    steps: list[dict[str, Any]] = []
    input_bytes = sum(_size(parquet / f"{name}.parquet") for name in CANONICAL)
    report: dict[str, Any] = {
        "customers": args.customers,
        "years": args.years,
        "as_of": AS_OF.isoformat(),
        "input_parquet_mib": _mib(input_bytes),
        "steps": steps,
    }

    if "hand" not in skip:
        steps.append(child("hand", run_dir, "hand", str(parquet)))
    step = churnradar("import-parquet", url, run_dir, "import", str(parquet))
    totals = step["result"]["totals"]
    rows = sum(f["rows"] for f in step["result"]["files"])
    step["rows"], step["rows_per_s"] = rows, round(rows / step["wall_s"])
    events = next((f["rows"] for f in step["result"]["files"] if f["kind"] == "events"), 0)
    report["events"] = events
    step["result"] = {"ok": step["result"]["ok"], "totals": totals}
    steps.append(step)
    report["after_import"] = {"store_mib": _mib(_size(store)), "lake_mib": _mib(_size(lake))}
    if "import-csv" not in skip:
        csv_data = _data(folder, args.customers, args.years, "csv")
        csv_dir = Path(tempfile.mkdtemp(prefix="csv-", dir=folder))
        step = churnradar("import-csv", f"sqlite:///{csv_dir / 'bench.db'}", csv_dir, "import", str(csv_data))
        rows = sum(f["rows"] for f in step["result"]["files"])
        step["rows"], step["rows_per_s"] = rows, round(rows / step["wall_s"])
        step["result"] = {"ok": step["result"]["ok"], "totals": step["result"]["totals"]}
        steps.append(step)
    if "indicators" not in skip:
        # One customer printed (all are computed and stored): printing 100k customers' values is not the work.
        first = _first_customer(parquet)
        step = churnradar(
            "indicators", url, run_dir, "indicators", "--as-of", AS_OF.isoformat(), "--customer", first
        )
        step["result"] = {k: v for k, v in step["result"].items() if not isinstance(v, list | dict)}
        steps.append(step)
    if "evaluate" not in skip:
        before = _size(store)
        step = churnradar("evaluate", url, run_dir, "evaluate", "--as-of", AS_OF.isoformat())
        step["result"] = {k: step["result"].get(k) for k in ("as_of", "customers", "rules_fired", "alerts")}
        step["store_growth_mib"] = _mib(_size(store) - before)
        steps.append(step)
    if "engine" not in skip:
        for which in ("subset", "all"):
            steps.append(child(f"engine-{which}", run_dir, "engine", url, which, url=url))
    if "backtest" not in skip:
        last = END - timedelta(days=90)
        first = last - timedelta(weeks=args.weeks - 1)
        step = churnradar(
            "backtest", url, run_dir, "backtest", "--from", first.isoformat(), "--to", last.isoformat()
        )
        overall = step["result"].get("overall", {})
        step["result"] = {"snapshots": step["result"].get("snapshots"), "auc": overall.get("auc")}
        steps.append(step)

    snapshot_dates = sorted(
        p.name.removeprefix("as_of=") for p in (lake / "indicator_snapshots").glob("as_of=*")
    )
    report["sizes"] = {
        "input_parquet_mib": _mib(input_bytes),
        "store_mib": _mib(_size(store) + _size(store.with_name("bench.db-wal"))),
        "lake_on_disk_mib": _mib(_size(lake)),
        "lake_events_current_mib": _mib(_current_bytes(lake, "events")),
        "snapshot_dates": snapshot_dates,
        "snapshot_date_current_mib": {
            day: _mib(_current_bytes(lake, "indicator_snapshots", day)) for day in snapshot_dates
        },
    }
    disk = _size(store) + _size(lake)
    report["sizes"]["store_plus_lake_over_input"] = round(disk / input_bytes, 2) if input_bytes else None
    return report


def print_table(report: dict[str, Any]) -> None:
    """The report as Markdown, with each step's ratio to the hand-written query where it means something."""
    print(
        f"\n{report['customers']:,} customers, {report.get('events', 0):,} events, "
        f"as of {report['as_of']}; input Parquet {report['input_parquet_mib']} MiB\n"
    )
    print("| step | wall s | CPU s | peak MiB | rows/s | load 1m | notes |")
    print("|---|---|---|---|---|---|---|")
    hand = next((s for s in report["steps"] if s["step"] == "hand"), None)
    for step in report["steps"]:
        notes = json.dumps(step.get("result", {}), ensure_ascii=False)
        if hand and step["step"].startswith("engine-") and hand["result"].get("query_s"):
            notes += f"; compute / hand query {step['result']['compute_s'] / hand['result']['query_s']:.2f}x"
        rate = f"{step['rows_per_s']:,}" if "rows_per_s" in step else ""
        print(
            f"| {step['step']} | {step['wall_s']} | {step['cpu_s']} | {step['peak_mib']} | {rate} | "
            f"{step['load_1m']} | {notes} |"
        )
    sizes = report["sizes"]
    print(
        f"\nstore {sizes['store_mib']} MiB + lake {sizes['lake_on_disk_mib']} MiB on disk "
        f"({sizes['store_plus_lake_over_input']}x the input Parquet); events' current files "
        f"{sizes['lake_events_current_mib']} MiB; per snapshot date: {sizes['snapshot_date_current_mib']} MiB"
    )


def main() -> None:
    """Parse arguments, run the steps (or one child), print the table and the JSON report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--weeks", type=int, default=52, help="as-of dates of the backtest")
    parser.add_argument("--keep", type=Path, help="folder for the generated data (reused) and the stores")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to leave out: {', '.join(STEPS)}")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_hand(Path(rest[0])) if kind == "hand" else child_engine(rest[0], rest[1])
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="churnradar-lake-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        report = run(args, folder)
    print_table(report)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
