"""Queries on indicator snapshots: the upsert that makes a rerun a no-op, and reads for one date."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from itertools import islice

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from churnradar.models import Customer, IndicatorValue

BATCH_ROWS = 20_000


# (customer_id, as_of, indicator, value); the date may come as its ISO text, which is what SQLite stores.
Row = tuple[int, date | str, str, float | None]

# Unchanged values are not rewritten: a rerun for the same date touches nothing.
_SQLITE_UPSERT = (
    "INSERT INTO indicator_values (customer_id, as_of, indicator, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (as_of, indicator, customer_id) DO UPDATE SET value = excluded.value "
    "WHERE indicator_values.value IS NOT excluded.value"
)
_POSTGRES_MERGE = (
    "INSERT INTO indicator_values (customer_id, as_of, indicator, value) "
    "SELECT customer_id, as_of, indicator, value FROM indicator_values_load "
    "ON CONFLICT (as_of, indicator, customer_id) DO UPDATE SET value = excluded.value "
    "WHERE indicator_values.value IS DISTINCT FROM excluded.value"
)


def upsert_tuples(conn: Connection, rows: Iterable[Row]) -> int:
    """Insert or update `(customer_id, as_of, indicator, value)` tuples; returns how many.

    Millions of rows per as-of date: SQLite gets a prepared statement run by the driver's executemany,
    PostgreSQL a COPY into a temporary table and one set-based merge.
    """
    if conn.dialect.name == "postgresql":
        return _upsert_postgres(conn, rows)
    written = 0
    rows = iter(rows)
    while batch := list(islice(rows, BATCH_ROWS)):
        conn.exec_driver_sql(_SQLITE_UPSERT, batch)
        written += len(batch)
    return written


def _upsert_postgres(conn: Connection, rows: Iterable[Row]) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    written = 0
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS indicator_values_load "
            "(customer_id integer, as_of date, indicator varchar(64), value double precision) ON COMMIT DROP"
        )
        with cur.copy("COPY indicator_values_load FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        cur.execute(_POSTGRES_MERGE)
        cur.execute("DROP TABLE indicator_values_load")
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
        # Named indicators make each customer a few key lookups instead of a scan of the whole date.
        stmt = stmt.where(
            IndicatorValue.indicator.in_(indicators_on(conn, as_of)),
            IndicatorValue.customer_id.in_(list(customer_ids)),
        )
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt)]


def snapshot_dates(conn: Connection, *, limit: int) -> list[date]:
    """The latest `limit` as-of dates with stored values, newest first.

    A loose index scan (one key lookup per date, a recursive query both SQLite and PostgreSQL run) instead
    of DISTINCT over millions of rows per date.
    """
    table = IndicatorValue.__table__
    dates = select(func.max(table.c.as_of).label("as_of")).cte("snapshot_dates", recursive=True)
    earlier = select(func.max(table.c.as_of)).where(table.c.as_of < dates.c.as_of).scalar_subquery()
    dates = dates.union_all(select(earlier).where(dates.c.as_of.is_not(None)))
    found = conn.execute(select(dates.c.as_of).where(dates.c.as_of.is_not(None)).limit(limit)).scalars()
    return [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in found]


def indicators_on(conn: Connection, as_of: date) -> list[str]:
    """The indicators stored for `as_of` (a loose index scan over the key's second column)."""
    table = IndicatorValue.__table__
    on_day = table.c.as_of == as_of
    names = select(func.min(table.c.indicator).label("indicator")).where(on_day).cte("names", recursive=True)
    following = select(func.min(table.c.indicator)).where(on_day, table.c.indicator > names.c.indicator)
    names = names.union_all(select(following.scalar_subquery()).where(names.c.indicator.is_not(None)))
    found = conn.execute(select(names.c.indicator).where(names.c.indicator.is_not(None))).scalars()
    return list(found)


def customer_history(
    conn: Connection, customer_id: int, *, snapshots: int
) -> list[tuple[str, date, float | None]]:
    """(indicator, as-of date, value) of one customer over the latest `snapshots` snapshot dates.

    Read as key lookups (date, indicator, customer): the key leads with the date (see models.indicator). An
    indicator stored only on dates between the sampled ones (defined and dropped again within the window)
    is not shown.
    """
    dates = snapshot_dates(conn, limit=snapshots)
    if not dates:
        return []
    # The indicators stored in the window, from a sample of its dates (each a loose scan of ~50 steps): the
    # set changes only when definitions are added or dropped, which the newest and oldest dates show.
    sample = {*dates[:: max(1, len(dates) // 8)], dates[-1]}
    names = sorted({name for day in sample for name in indicators_on(conn, day)})
    stmt = (
        select(IndicatorValue.indicator, IndicatorValue.as_of, IndicatorValue.value)
        .where(
            IndicatorValue.as_of.in_(dates),
            IndicatorValue.indicator.in_(names),
            IndicatorValue.customer_id == customer_id,
        )
        .order_by(IndicatorValue.indicator, IndicatorValue.as_of)
    )
    return [(r[0], r[1], r[2]) for r in conn.execute(stmt)]


def delete_dates(conn: Connection, dates: Sequence[date]) -> int:
    """Remove every value stored for `dates` (whole key ranges: the key leads with the date); rows removed."""
    if not dates:
        return 0
    result = conn.execute(delete(IndicatorValue).where(IndicatorValue.as_of.in_(list(dates))))
    return int(result.rowcount or 0)


def customer_id_for(conn: Connection, external_id: str) -> int | None:
    """The internal id of the customer with source id `external_id`."""
    return conn.execute(select(Customer.id).where(Customer.external_id == external_id)).scalar_one_or_none()
