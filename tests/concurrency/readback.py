"""A fresh process reading a store and its lake: `python readback.py KEY_PREFIX` prints one JSON document.

Run by the concurrency tests as a reader that shares nothing with the processes that wrote: its own engine
(the store's URL from CHURNRADAR_DATABASE_URL), its own lake handle, its own DuckDB. It prints every
customer's owner, tags and notes, the lake's events whose key starts with the prefix, the counts the tests
compare, and on SQLite `PRAGMA integrity_check`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import duckdb
from sqlalchemy import text

from churnradar.config import get_settings
from churnradar.db import create_engine
from churnradar.lake.events import events_relation
from churnradar.lake.service import lake_for


def read(prefix: str) -> dict[str, Any]:
    """The document described above."""
    engine = create_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            ids: dict[int, str] = dict(
                conn.execute(text("SELECT id, external_id FROM customers")).tuples().all()
            )
            owned = "SELECT c.external_id, u.login FROM customers c LEFT JOIN users u ON u.id = c.owner_id"
            owners: dict[str, str | None] = dict(conn.execute(text(owned)).tuples().all())
            tags: dict[str, list[str]] = {}
            for customer_id, tag in conn.execute(text("SELECT customer_id, tag FROM customer_tags")).tuples():
                tags.setdefault(ids[customer_id], []).append(tag)
            notes = sorted(
                str((detail if isinstance(detail, dict) else json.loads(detail or "{}")).get("text", ""))
                for (detail,) in conn.execute(text("SELECT detail FROM task_events WHERE kind = 'note'"))
            )
            alerts = Counter(
                f"{level}/{status}"
                for level, status in conn.execute(text("SELECT level, status FROM alerts")).tuples()
            )
            runs = Counter(
                status for (status,) in conn.execute(text("SELECT status FROM evaluation_runs")).tuples()
            )
            integrity = (
                [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
                if engine.dialect.name == "sqlite"
                else ["ok"]
            )
        lake = lake_for(engine)
        con = duckdb.connect()
        try:
            events = events_relation(lake, con)
            total = events.aggregate("count(*)").fetchone()
            assert prefix.replace("-", "").replace(":", "").isalnum(), prefix  # ours, quoted below
            keyed = events.filter(f"starts_with(event_key, '{prefix}')").select("customer_id", "event_key")
            keyed_rows = keyed.fetchall()
        finally:
            con.close()
    finally:
        engine.dispose()
    return {
        "customers": len(ids),
        "owners": owners,
        "tags": {k: sorted(v) for k, v in tags.items()},
        "notes": notes,
        "events": int(total[0]) if total else 0,
        "keyed_events": sorted(f"{ids.get(c, c)}|{key}" for c, key in keyed_rows),
        "alerts": dict(sorted(alerts.items())),
        "alert_count": sum(alerts.values()),
        "runs": dict(runs),
        "integrity": integrity,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(read(sys.argv[1] if len(sys.argv) > 1 else "id:cc-"), sort_keys=True) + "\n")
