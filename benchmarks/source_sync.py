"""Sync throughput of a SQL source: a PostgreSQL "CRM" of N events into a fresh SQLite store and its lake.

    PYTHONPATH=src .venv/bin/python benchmarks/source_sync.py \
        --crm-url postgresql+psycopg://postgres@host/postgres [--events 1000000] [--customers 10000]

Creates a throwaway database on the CRM server, fills it in SQL (generate_series), syncs customers then
events (timed: rows/s, CPU seconds, the 1-minute load average after it: the machine may be shared), then
syncs again with nothing new (timed: the incremental no-change cost). As a reference it then reads the
events query alone (the connector's Arrow read, no import): the floor the source itself sets. Drops the
database at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from churnradar.config import Settings
from churnradar.db import create_engine as store_engine
from churnradar.ingest.schemas import RecordKind
from churnradar.source import service
from churnradar.source.connectors import pg_arrow
from churnradar.source.connectors.base import Pull
from churnradar.source.schemas import SourceDefinition
from churnradar.store import migrate

FILL = """
CREATE TABLE accounts AS
    SELECT 'C' || i AS customer_id, 'Customer ' || i AS name, now() AS updated_at
    FROM generate_series(1, :customers) AS i;
CREATE TABLE activity AS
    SELECT i AS event_id, 'C' || (1 + i % :customers) AS customer_id,
           timestamptz '2026-01-01' + make_interval(secs => i * 7) AS ts,
           (ARRAY['login', 'order', 'ticket'])[1 + i % 3] AS kind,
           CASE WHEN i % 3 = 1 THEN (i % 500)::float8 END AS amount
    FROM generate_series(1, :events) AS i;
ALTER TABLE activity ADD PRIMARY KEY (event_id);
"""
EVENTS_QUERY = "SELECT event_id, customer_id, ts, kind, amount FROM activity"


def main() -> None:
    """Parse arguments, build the CRM, sync twice, print the figures as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crm-url", default=os.environ.get("CHURNRADAR_TEST_POSTGRES_URL"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    if not args.crm_url:
        raise SystemExit(
            "--crm-url (a PostgreSQL server where a throwaway database may be created) is needed"
        )
    admin = create_engine(args.crm_url, isolation_level="AUTOCOMMIT")
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    crm_url = make_url(args.crm_url).set(database=name).render_as_string(hide_password=False)
    try:
        crm = create_engine(crm_url)
        with crm.begin() as conn:
            for statement in FILL.split(";"):
                if statement.strip():
                    conn.execute(text(statement), {"customers": args.customers, "events": args.events})
        crm.dispose()
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(run(crm_url, Path(folder), args.events), indent=2))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(crm_url: str, folder: Path, events: int) -> dict[str, object]:
    """Sync the CRM into a store in `folder`: the figures."""
    engine = store_engine(f"sqlite:///{folder / 'churnradar.db'}")
    migrate(engine)
    settings = Settings()
    definition = SourceDefinition(
        name="crm",
        kind="sql",
        options={
            "queries": {
                "customers": "SELECT customer_id, name, updated_at FROM accounts",
                "events": EVENTS_QUERY,
            },
            "cursor": {"customers": "updated_at", "events": "event_id"},
        },
        secrets={"url": crm_url},  # type: ignore[dict-item]
    )
    service.save_source(engine, definition, settings=settings)
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    first = service.sync_source(engine, "crm", settings=settings)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    load_after = os.getloadavg()[0]
    if not first.ok:
        raise SystemExit(f"the sync failed: {first.error or first.kinds}")
    by_kind = {k.kind.value: k for k in first.kinds}
    started = time.perf_counter()
    again = service.sync_source(engine, "crm", settings=settings)
    nothing = time.perf_counter() - started
    rows = by_kind["events"].rows + by_kind["customers"].rows
    read_seconds, read_cpu = read_only(crm_url, EVENTS_QUERY)
    return {
        "events": events,
        "first_sync_seconds": round(seconds, 2),
        "first_sync_cpu_seconds": round(cpu, 2),
        "rows_per_second": round(rows / seconds),
        "rows_per_cpu_second": round(rows / cpu),
        "event_batches": by_kind["events"].batches,
        "no_change_sync_seconds": round(nothing, 3),
        "no_change_rows": again.totals()["rows"],
        "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "reference_read_only_seconds": round(read_seconds, 2),
        "reference_read_only_cpu_seconds": round(read_cpu, 2),
    }


def read_only(crm_url: str, query: str) -> tuple[float, float]:
    """The reference: the events query read as the connector reads it, imported nowhere (wall, CPU s)."""
    engine = create_engine(crm_url)
    pull = Pull(RecordKind.EVENTS, None, batch_rows=pg_arrow.CHUNK_ROWS)
    started, cpu = time.perf_counter(), time.process_time()
    for _chunk in pg_arrow.arrow_chunks(engine, query, "event_id", pull, "reference", timeout=10):
        pass
    figures = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return figures


if __name__ == "__main__":
    main()
