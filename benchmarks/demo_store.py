"""Shared by the indicator and scale-out benchmarks: demo data in Parquet and a SQLite store, both cached."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

END = date(2026, 6, 30)  # the demo's last day in every benchmark, so cached data stays comparable


def demo_parquet(folder: Path, customers: int, years: float = 1.0) -> tuple[Path, dict[str, int]]:
    """`churnradar demo-data` as Parquet in `folder/demo-N` (written once), and its rows per file.

    `years` of history (1 by default; `folder/demo-N-2y` for 2): the simulator writes about 47 events per
    customer and year, so 100k customers over two years give the ~10M events the indicator target names.
    """
    from churnradar.demo.write import generate_demo

    data = folder / (f"demo-{customers}" if years == 1.0 else f"demo-{customers}-{years:g}y")
    marker = data / "rows.json"
    if not marker.exists():
        summary = generate_demo(data, customers=customers, seed=7, end=END, years=years, fmt="parquet")
        marker.write_text(json.dumps(dict(summary.rows)))
    rows: dict[str, int] = json.loads(marker.read_text())
    return data, rows


def sqlite_store(store: Path, source: Path) -> float | None:
    """Import `source` (a folder) into a new SQLite file `store` unless it exists; the seconds it took.

    The import writes to `store.partial` and renames it at the end, so an interrupted run is not reused.
    """
    if store.exists():
        return None
    from churnradar.config import Settings
    from churnradar.db import create_engine
    from churnradar.ingest.service import import_path
    from churnradar.store import migrate

    partial = store.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{partial}")
    migrate(engine)
    started = time.perf_counter()
    summary = import_path(engine, source, settings=Settings(environment="development"))
    if not summary.ok:
        raise SystemExit(f"{source} did not import: {summary.files}")
    engine.dispose()
    partial.rename(store)
    return time.perf_counter() - started
