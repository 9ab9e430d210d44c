"""A store from before the lake: events and indicator values in the database's own tables (migration 0009)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from alembic import command
from sqlalchemy import MetaData, Table, insert, select
from sqlalchemy.engine import Engine

from churnradar.lake.events import events_relation
from churnradar.lake.repository import Lake
from churnradar.lake.snapshots import snapshot_relation
from churnradar.models import Customer
from churnradar.store import alembic_config

KINDS = ("order", "login", "ticket")
INDICATORS = ("orders_30d", "logins_30d", "tickets_90d", "spend_90d")
START = datetime(2024, 1, 1, 8)
FIRST_DAY = date(2024, 3, 4)

LAKE_COLUMNS = (
    *("customer_id", "kind", "event_key", "ts", "amount", "quantity", "channel", "direction", "text"),
    *("user", "attributes"),
)
EventRow = tuple[Any, ...]
ValueRow = tuple[int, date, str, float | None]


def to_pre_lake(engine: Engine) -> Engine:
    """Take a migrated store back to revision 0009, the last with events and indicator values of its own."""
    return alembic_downgrade(engine, "0009")


def alembic_downgrade(engine: Engine, revision: str) -> Engine:
    """Take a migrated store back to `revision`."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    return engine


def seed_store(
    engine: Engine, *, customers: int, events_each: int, days: int, indicators: tuple[str, ...] = INDICATORS
) -> tuple[list[EventRow], list[ValueRow]]:
    """Fill the store's events and indicator_values tables; the rows as the lake should hold them."""
    with engine.begin() as conn:
        conn.execute(
            insert(Customer), [{"external_id": f"C{n:05d}", "name": f"C {n}"} for n in range(customers)]
        )
        ids = list(conn.execute(select(Customer.id).order_by(Customer.id)).scalars())
    meta = MetaData()
    events, values = (
        Table("events", meta, autoload_with=engine),
        Table("indicator_values", meta, autoload_with=engine),
    )
    event_rows = [_event(c, n) for c in ids for n in range(events_each)]
    value_rows: list[dict[str, Any]] = [
        {
            "customer_id": c,
            "as_of": FIRST_DAY + timedelta(days=7 * d),
            "indicator": name,
            "value": _value(c, d, i),
        }
        for d in range(days)
        for c in ids
        for i, name in enumerate(indicators)
    ]
    with engine.begin() as conn:
        for start in range(0, len(event_rows), 20_000):
            conn.execute(insert(events), event_rows[start : start + 20_000])
        for start in range(0, len(value_rows), 20_000):
            conn.execute(insert(values), value_rows[start : start + 20_000])
    expected_events = sorted(_as_lake(r) for r in event_rows)
    expected_values = sorted((r["customer_id"], r["as_of"], r["indicator"], r["value"]) for r in value_rows)
    return expected_events, expected_values


def _event(customer: int, n: int) -> dict[str, Any]:
    kind = KINDS[n % 3]
    attributes: dict[str, Any] | None = None
    if kind == "login":
        attributes = {"user": f"u{n % 4}", "device": "手机" if n % 2 else "desk"}
    elif n % 5 == 0:
        attributes = {"source": "crm"}
    return {
        "customer_id": customer,
        "ts": START + timedelta(hours=7 * n + customer % 5),
        "kind": kind,
        "event_key": f"{customer}-{n}",
        "amount": 10.0 + n if kind == "order" else None,
        "value": None,
        "quantity": float(n % 4) if kind == "order" else None,
        "channel": "email" if kind == "ticket" else None,
        "direction": "in" if kind == "ticket" else None,
        "text": "慢 delivery" if kind == "ticket" else None,
        "attributes": attributes,
        "import_id": None,
    }


def _value(customer: int, day: int, indicator: int) -> float | None:
    return None if (customer + day + indicator) % 7 == 0 else float(customer * 10 + day) + indicator / 4


def _as_lake(row: dict[str, Any]) -> EventRow:
    attributes = dict(row["attributes"] or {})
    return (
        row["customer_id"],
        row["kind"],
        row["event_key"],
        row["ts"],
        row["amount"],
        row["quantity"],
        row["channel"],
        row["direction"],
        row["text"],
        attributes.pop("user", None),
        json.dumps(attributes, sort_keys=True) if attributes else None,
    )


def lake_events(lake: Lake) -> list[EventRow]:
    """Every event the lake holds, in the shape of `seed_store`'s expectation (duplicates kept)."""
    con = duckdb.connect()
    try:
        rows = events_relation(lake, con).select(*LAKE_COLUMNS).fetchall()
    finally:
        con.close()
    out = []
    for row in rows:
        attributes = json.loads(row[-1]) if row[-1] else None
        out.append((*row[:-1], json.dumps(attributes, sort_keys=True) if attributes else None))
    return sorted(out)


def lake_values(lake: Lake) -> list[ValueRow]:
    """Every indicator value of the lake's snapshots, long again (a wide row per customer and date)."""
    con = duckdb.connect()
    try:
        frame = snapshot_relation(lake, con).df()
    finally:
        con.close()
    names = [c for c in frame.columns if c not in ("customer_id", "as_of")]
    out: list[ValueRow] = []
    for record in frame.to_dict("records"):
        day = record["as_of"]
        day = day.date() if hasattr(day, "date") else date.fromisoformat(str(day))
        for name in names:
            value = record[name]
            out.append((int(record["customer_id"]), day, name, None if value != value else float(value)))
    return sorted(out, key=lambda r: r[:3])
