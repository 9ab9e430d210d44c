"""The stored snapshot in the lake: a date written whole, reads by date and customer, on SQLite and
PostgreSQL stores; and the old store table's migration 0009, which the upgrade to the lake starts from."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from churnradar.db import create_engine
from churnradar.indicator import repository
from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for
from churnradar.models import Customer
from churnradar.store import alembic_config

D1, D2, D3 = date(2026, 5, 4), date(2026, 5, 11), date(2026, 5, 18)


def _customers(engine: Engine, n: int) -> list[int]:
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"external_id": f"C{k}", "name": f"Customer {k}"} for k in range(n)])
        return list(conn.execute(select(Customer.id).order_by(Customer.id)).scalars())


def _store(engine: Engine, rows: list[tuple[int, date, str, float | None]]) -> int:
    long = pd.DataFrame(rows, columns=["customer_id", "as_of", "indicator", "value"])
    wide = long.pivot(index=["customer_id", "as_of"], columns="indicator", values="value").reset_index()
    return repository.store_wide(engine, wide)


def test_reads_by_date_indicator_and_customer(engine: Engine) -> None:
    a, b, c = _customers(engine, 3)
    rows: list[tuple[int, date, str, float | None]] = []
    for day in (D1, D2, D3):
        for who in (a, b, c):
            rows.append((who, day, "orders_30d", float(who + day.day)))
    rows += [(a, D3, "health_score", 61.0)]
    _store(engine, rows)
    assert repository.snapshot_dates(engine, limit=10) == [D3, D2, D1]
    assert repository.snapshot_dates(engine, limit=2) == [D3, D2]
    with engine.connect() as conn:
        history = repository.customer_history(conn, a, snapshots=2)
        assert history == [
            ("health_score", D2, None),
            ("health_score", D3, 61.0),
            ("orders_30d", D2, a + 11.0),
            ("orders_30d", D3, a + 18.0),
        ]
        assert repository.customer_history(conn, b, snapshots=3) == [
            ("health_score", D1, None),
            ("health_score", D2, None),
            ("health_score", D3, None),
            ("orders_30d", D1, b + 4.0),
            ("orders_30d", D2, b + 11.0),
            ("orders_30d", D3, b + 18.0),
        ]
        one = repository.read_values(conn, D3, customer_ids=[a])
        assert [(r[0], r[2], r[3]) for r in one] == [(a, "health_score", 61.0), (a, "orders_30d", a + 18.0)]
        assert len(repository.read_values(conn, D3)) == 6
        assert repository.read_values(conn, D3 + timedelta(days=7)) == []


def test_empty_store_has_no_dates_or_history(engine: Engine) -> None:
    (a,) = _customers(engine, 1)
    assert repository.snapshot_dates(engine, limit=5) == []
    with engine.connect() as conn:
        assert repository.customer_history(conn, a, snapshots=5) == []


def test_rerun_of_a_date_replaces_it_whole(engine: Engine) -> None:
    a, b = _customers(engine, 2)
    _store(engine, [(a, D1, "orders_30d", 1.0), (b, D1, "orders_30d", None), (a, D2, "orders_30d", 7.0)])
    _store(engine, [(a, D1, "orders_30d", 1.0), (b, D1, "orders_30d", 4.0)])
    with engine.connect() as conn:
        stored = [(r[0], r[3]) for r in repository.read_values(conn, D1)]
        assert stored == [(a, 1.0), (b, 4.0)]
        assert [(r[0], r[3]) for r in repository.read_values(conn, D2)] == [(a, 7.0)]
    lake = lake_for(engine)
    files = lake.files(LakeTable.SNAPSHOTS, partitions={"as_of": [D1.isoformat()]})
    assert len(files) == 1  # one copy of the date, not one per run


def test_migration_keeps_values_and_rekeys_sqlite(tmp_path: Path) -> None:
    from alembic import command

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(text("INSERT INTO customers (external_id, name) VALUES ('C1', 'one'), ('C2', 'two')"))
        conn.execute(
            text(
                "INSERT INTO indicator_values (customer_id, as_of, indicator, value) VALUES "
                "(2, '2026-05-04', 'orders_30d', 3.0), (1, '2026-05-11', 'orders_30d', NULL), "
                "(1, '2026-05-04', 'health_score', 70.5)"
            )
        )
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
    with engine.connect() as conn:
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'indicator_values'")).scalar_one()
        assert "WITHOUT ROWID" in ddl.upper()
        assert "PRIMARY KEY (as_of, indicator, customer_id)" in ddl
        indexes = conn.execute(text("PRAGMA index_list('indicator_values')")).all()
        assert [i[1] for i in indexes if not i[1].startswith("sqlite_autoindex")] == []
        rows = conn.execute(text("SELECT customer_id, as_of, indicator, value FROM indicator_values")).all()
        assert sorted(map(tuple, rows), key=str) == sorted(
            [(2, "2026-05-04", "orders_30d", 3.0), (1, "2026-05-11", "orders_30d", None),
             (1, "2026-05-04", "health_score", 70.5)], key=str,
        )  # fmt: skip
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM indicator_values")).scalar_one() == 3
        names = [i[1] for i in conn.execute(text("PRAGMA index_list('indicator_values')")).all()]
        assert "ix_indicator_values_as_of_indicator" in names
    engine.dispose()
