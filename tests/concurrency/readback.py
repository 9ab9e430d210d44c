"""A fresh process reading a store and its lake; prints one JSON document.

    python readback.py KEY_PREFIX    # writes to look for, counts, integrity
    python readback.py --state       # digests of the stored data, to compare two states (or `state()`)

Run by the concurrency tests as a reader that shares nothing with the processes that wrote: its own engine
(the store's URL from CHURNRADAR_DATABASE_URL), its own lake handle, its own DuckDB. The first form prints
every customer's owner, tags and notes, the lake's events whose key starts with the prefix, the counts the
tests compare, and on SQLite `PRAGMA integrity_check`. The second prints, per part of the state (the lake's
events, its snapshots per date, customers, alerts, risk, tasks, finished evaluations), a row count and a
digest of the rows, sorted, without ids or clock times (two runs of the same work give the same digest).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import text

from churnradar.config import get_settings
from churnradar.db import create_engine
from churnradar.lake.events import events_relation
from churnradar.lake.repository import Lake
from churnradar.lake.service import lake_for
from churnradar.lake.snapshots import snapshot_relation


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


def _digest(rows: list[tuple[Any, ...]]) -> list[Any]:
    cells = sorted(
        json.dumps([round(c, 6) if isinstance(c, float) else c for c in row], default=str) for row in rows
    )
    return [len(cells), hashlib.sha256("\n".join(cells).encode()).hexdigest()[:16]]


STORE_PARTS = {
    "customers": "SELECT external_id, owner_id, team_id, status, churned_at FROM customers",
    "alerts": "SELECT c.external_id, a.rule, a.level, a.status, a.muted, a.opened_on, a.last_fired_on, "
    "a.last_evaluated_on, a.resolved_on FROM alerts a JOIN customers c ON c.id = a.customer_id",
    "risk": "SELECT c.external_id, r.as_of, r.level, r.health_score, r.health_level, r.open_alerts "
    "FROM customer_risk r JOIN customers c ON c.id = r.customer_id",
    "tasks": "SELECT c.external_id, t.rule, t.level, t.status FROM intervention_tasks t "
    "JOIN customers c ON c.id = t.customer_id",
    # Dates evaluated: a rerun of a date logs another run and changes nothing else.
    "evaluations": "SELECT DISTINCT as_of FROM evaluation_runs WHERE status = 'succeeded'",
}


def state(url: str | None = None, lake_root: Path | None = None) -> dict[str, Any]:
    """Digests of the store's and the lake's data (see the module's docstring).

    Of the store at `url` and the lake at `lake_root` (else the settings' store and its lake).
    """
    engine = create_engine(url or get_settings().database_url)
    try:
        with engine.connect() as conn:
            found: dict[str, Any] = {
                part: _digest([tuple(r) for r in conn.execute(text(sql))])
                for part, sql in STORE_PARTS.items()
            }
        lake = lake_for(engine) if lake_root is None else Lake(lake_root)
        con = duckdb.connect()
        try:
            events = events_relation(lake, con)
            columns = [c for c in events.columns if c != "import_id"]
            found["events"] = _digest(events.select(*columns).fetchall())
            snapshots = snapshot_relation(lake, con)
            by_date: dict[str, list[tuple[Any, ...]]] = {}
            names = sorted(snapshots.columns)
            for row in snapshots.select(*names).fetchall():
                by_date.setdefault(str(row[names.index("as_of")]), []).append(row)
            found["snapshots"] = {day: _digest(rows) for day, rows in sorted(by_date.items())}
        finally:
            con.close()
    finally:
        engine.dispose()
    return found


if __name__ == "__main__":
    argument = sys.argv[1] if len(sys.argv) > 1 else "id:cc-"
    document = state() if argument == "--state" else read(argument)
    sys.stdout.write(json.dumps(document, sort_keys=True, default=str) + "\n")
