"""Queries on indicator snapshots, which live in the store's lake (lake.snapshots): wide, one row per
customer and as-of date, partitioned by the date; and on the custom definitions users store (the database's
`custom_indicators`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from churnradar.db import table_of
from churnradar.indicator import keywords
from churnradar.lake import snapshots as lake_snapshots
from churnradar.lake import timeline as lake_timeline
from churnradar.lake.service import lake_for
from churnradar.models import Customer, CustomIndicator, SettingsDocument

KEY_COLUMNS = ("customer_id", "as_of")


def store_wide(engine: Engine, wide: pd.DataFrame) -> int:
    """Store a wide frame, each of its dates replacing what was stored for it; values written."""
    return lake_snapshots.write_snapshot(lake_for(engine), wide)


def read_wide(engine: Engine, as_of: date, *, customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The wide rows stored for `as_of`: `customer_id` and one float column per indicator (no `as_of`)."""
    frame = lake_snapshots.read_snapshot(lake_for(engine), as_of, customer_ids=customer_ids)
    return frame.drop(columns=["as_of"], errors="ignore")


def read_values(
    conn: Connection, as_of: date, *, customer_ids: Sequence[int] | None = None
) -> list[tuple[int, str, str, float | None]]:
    """(customer id, external id, indicator, value) stored for `as_of`, ordered by customer and indicator."""
    wide = read_wide(conn.engine, as_of, customer_ids=customer_ids)
    if wide.empty:
        return []
    ids = wide["customer_id"].astype("int64").tolist()
    external = dict(conn.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(ids))).all())
    names = sorted(c for c in wide.columns if c != "customer_id")
    out: list[tuple[int, str, str, float | None]] = []
    for record in wide.to_dict("records"):
        customer = int(record["customer_id"])
        if customer in external:
            out += [(customer, external[customer], n, _value(record[n])) for n in names]
    return out


def snapshot_dates(engine: Engine, *, limit: int) -> list[date]:
    """The latest `limit` as-of dates with stored values, newest first."""
    return lake_snapshots.snapshot_dates(lake_for(engine))[:limit]


def previous_values(engine: Engine, indicator: str, as_of: date) -> pd.Series:
    """`indicator` by customer id on the latest stored date before `as_of` (empty when there is none)."""
    earlier = [d for d in lake_snapshots.snapshot_dates(lake_for(engine)) if d < as_of]
    if not earlier:
        return pd.Series(dtype="float64")
    wide = read_wide(engine, earlier[0])
    if indicator not in wide.columns:
        return pd.Series(dtype="float64")
    series: pd.Series = wide.set_index("customer_id")[indicator].astype("float64")
    return series


def customer_history(
    conn: Connection, customer_id: int, *, snapshots: int
) -> list[tuple[str, date, float | None]]:
    """(indicator, as-of date, value) of one customer over the latest `snapshots` snapshot dates."""
    lake = lake_for(conn.engine)
    dates = lake_snapshots.snapshot_dates(lake)[:snapshots]
    wide = lake_snapshots.customer_history(lake, customer_id, dates)
    if wide.empty:
        return []
    days = pd.to_datetime(wide["as_of"]).dt.date.tolist()
    names = sorted(c for c in wide.columns if c not in KEY_COLUMNS)
    return [
        (name, day, _value(value))
        for name in names
        for day, value in zip(days, wide[name].tolist(), strict=True)
    ]


def delete_dates(engine: Engine, dates: Sequence[date]) -> int:
    """Remove every value stored for `dates` (whole partitions); rows removed."""
    return lake_snapshots.delete_dates(lake_for(engine), dates)


def customer_id_for(conn: Connection, external_id: str) -> int | None:
    """The internal id of the customer with source id `external_id`."""
    return conn.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one_or_none()


def customer_labels(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """(source id, name) of the customers `ids`."""
    query = select(Customer.id, Customer.external_id, Customer.name).where(Customer.id.in_(list(ids)))
    return {row.id: (row.external_id, row.name) for row in conn.execute(query)}


def event_kind_counts(engine: Engine) -> dict[str, int]:
    """Stored events per kind (the store's lake)."""
    return lake_timeline.kind_counts(lake_for(engine))


def _value(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


CUSTOM = table_of(CustomIndicator)


def custom_definitions(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every stored custom definition (as written) by its slug, in slug order."""
    rows = conn.execute(select(CUSTOM.c.slug, CUSTOM.c.definition).order_by(CUSTOM.c.slug))
    return {str(slug): dict(definition) for slug, definition in rows}


def custom_definition(conn: Connection, slug: str) -> dict[str, Any] | None:
    """One stored custom definition, or None."""
    found = conn.execute(select(CUSTOM.c.definition).where(CUSTOM.c.slug == slug)).scalar_one_or_none()
    return None if found is None else dict(found)


def save_custom(
    conn: Connection, slug: str, definition: dict[str, Any], *, at: datetime, by: str | None
) -> bool:
    """Insert or replace the definition `slug`; True when it was new."""
    changed = conn.execute(
        update(CUSTOM)
        .where(CUSTOM.c.slug == slug)
        .values(definition=definition, updated_at=at, updated_by=by)
    ).rowcount
    if changed:
        return False
    conn.execute(
        insert(CUSTOM).values(slug=slug, definition=definition, created_at=at, updated_at=at, updated_by=by)
    )
    return True


def delete_custom(conn: Connection, slug: str) -> bool:
    """Remove the definition `slug`; True when there was one."""
    return bool(conn.execute(delete(CUSTOM).where(CUSTOM.c.slug == slug)).rowcount)


def keyword_settings(conn: Connection) -> dict[str, Any] | None:
    """The keyword lists admins stored (a settings document), or None."""
    table = table_of(SettingsDocument)
    row = conn.execute(select(table.c.body).where(table.c.name == keywords.DOCUMENT)).first()
    return dict(row.body) if row is not None else None


def save_keyword_settings(conn: Connection, body: dict[str, Any], *, at: datetime, by: str | None) -> None:
    """Replace the stored keyword lists."""
    table = table_of(SettingsDocument)
    conn.execute(delete(table).where(table.c.name == keywords.DOCUMENT))
    conn.execute(insert(table).values(name=keywords.DOCUMENT, body=body, updated_at=at, updated_by=by))
