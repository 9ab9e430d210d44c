"""Queries on indicator snapshots: the upsert that makes a rerun a no-op, and reads for one date."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from churnradar.models import Customer, IndicatorValue

BATCH_ROWS = 20_000


def upsert_values(conn: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or update `(customer_id, as_of, indicator, value)` rows; returns how many were written."""
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, IndicatorValue.__table__)
    written = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal written
        if not batch:
            return
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["customer_id", "as_of", "indicator"],
            set_={"value": stmt.excluded.value},
            # Unchanged values are not rewritten: a rerun for the same date touches nothing.
            where=table.c.value.is_distinct_from(stmt.excluded.value),
        )
        conn.execute(stmt, batch)
        written += len(batch)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            flush()
    flush()
    return written


def read_values(
    conn: Connection, as_of: date, *, customer_ids: Sequence[int] | None = None
) -> list[tuple[int, str, str, float | None]]:
    """(customer id, external id, indicator, value) stored for `as_of`, ordered by customer and indicator."""
    stmt = (
        select(
            IndicatorValue.customer_id, Customer.external_id, IndicatorValue.indicator, IndicatorValue.value
        )
        .join(Customer, Customer.id == IndicatorValue.customer_id)
        .where(IndicatorValue.as_of == as_of)
        .order_by(IndicatorValue.customer_id, IndicatorValue.indicator)
    )
    if customer_ids is not None:
        stmt = stmt.where(IndicatorValue.customer_id.in_(list(customer_ids)))
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt)]


def customer_id_for(conn: Connection, external_id: str) -> int | None:
    """The internal id of the customer with source id `external_id`."""
    return conn.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one_or_none()
