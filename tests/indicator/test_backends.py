"""The same values on DuckDB over the store's lake (SQLite and PostgreSQL stores), PostgreSQL computing over
a warehouse, and DuckDB over Parquet; no leakage from after the as-of date; a rerun of a date changes
nothing."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.config import AnalyticsSettings
from churnradar.db import create_engine
from churnradar.indicator import repository, service
from churnradar.models import Contract, Customer
from tests.conftest import POSTGRES_ENV, store_events, store_invoices
from tests.indicator import reference
from tests.indicator.cases import AS_OF, EVENT_COLUMNS, event, frames, hand_data
from tests.indicator.helpers import check_against_reference, frame_source

ZONE = ZoneInfo("Asia/Shanghai")
DATES = [AS_OF, AS_OF + timedelta(days=7)]


def store(engine: Engine, data: reference.Data) -> None:
    """Write the customers, contracts and invoices into the store and the events into its lake."""
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"id": c, "external_id": f"C{c}"} for c in data.customers])
        conn.execute(insert(Contract), [{"external_id": f"K{n}", **c} for n, c in enumerate(data.contracts)])
    rows = [
        {k: e[k] for k in ("customer_id", "ts", "kind", *EVENT_COLUMNS)} | {"event_key": str(n)}
        for n, e in enumerate(data.events)
    ]
    store_events(engine, rows)
    store_invoices(engine, [{"invoice_id": f"I{n}", **i} for n, i in enumerate(data.invoices)])


def test_duckdb_over_the_store_matches_reference(engine: Engine) -> None:
    data = hand_data(ZONE)
    store(engine, data)
    with service.open_source(engine) as source:
        check_against_reference(source, data, DATES, ZONE)


@pytest.mark.postgres
def test_postgresql_computing_itself_over_a_warehouse_matches_reference(engine: Engine) -> None:
    """The postgres backend computes in a PostgreSQL database holding the canonical tables."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    data = hand_data(ZONE)
    admin = create_engine(os.environ[POSTGRES_ENV]).execution_options(isolation_level="AUTOCOMMIT")
    name = f"churnradar_wh_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(os.environ[POSTGRES_ENV]).set(database=name).render_as_string(hide_password=False)
    warehouse = create_engine(url)
    try:
        for table, frame in frames(data).items():
            frame.assign(customer_id=frame["customer_id"].map(lambda c: f"C{c}")).to_sql(
                table, warehouse, index=False
            )
        analytics = AnalyticsSettings(backend="postgres", postgres_url=url)  # type: ignore[arg-type]
        with service.open_source(engine, analytics=analytics) as source:
            check_against_reference(source, data, DATES, ZONE, id_of=lambda c: int(c[1:]))
    finally:
        warehouse.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_duckdb_over_parquet_matches_reference(tmp_path: Path) -> None:
    data = hand_data(ZONE)
    for name, frame in frames(data).items():
        frame.assign(customer_id=frame["customer_id"].map(lambda c: f"C{c}")).to_parquet(
            tmp_path / f"{name}.parquet"
        )
    with service.open_source(tmp_path) as source:
        check_against_reference(source, data, DATES, ZONE, id_of=lambda c: int(c[1:]))


def test_events_after_as_of_change_nothing() -> None:
    data = hand_data(ZONE)
    source = frame_source(data)
    before = service.compute_indicators(source, [AS_OF], zone=ZONE)
    source.close()
    later: list[dict[str, Any]] = []
    for customer in data.customers:
        for kind in ("login", "order", "communication", "complaint", "survey", "feature_use", "balance"):
            for ts in (datetime(2024, 5, 31, 16), datetime(2024, 6, 1), datetime(2024, 9, 1)):
                later.append(event(customer, ts, kind, amount=1.0, value=1.0, text="用友", user="late"))
    data.events += later
    data.invoices.append(
        {"customer_id": 2, "due_date": date(2024, 5, 1), "amount": 1.0, "issued_at": datetime(2024, 6, 2),
         "paid_at": None}
    )  # fmt: skip
    data.contracts.append({"customer_id": 2, "start_date": date(2024, 6, 1), "end_date": date(2024, 7, 1)})
    source = frame_source(data)
    after = service.compute_indicators(source, [AS_OF], zone=ZONE)
    source.close()
    assert before.equals(after)


class TestSnapshots:
    def test_rerun_changes_nothing_and_history_stays(self, engine: Engine) -> None:
        store(engine, hand_data(ZONE))
        written = service.snapshot_indicators(engine, [AS_OF], zone=ZONE)
        n = len(service.selected_indicators())
        assert written == 5 * n
        first = service.read_snapshot(engine, AS_OF)
        service.snapshot_indicators(engine, [AS_OF], zone=ZONE)
        service.snapshot_indicators(engine, [AS_OF + timedelta(days=7)], zone=ZONE)
        assert service.read_snapshot(engine, AS_OF) == first
        with engine.connect() as conn:
            assert repository.snapshot_dates(engine, limit=10) == [AS_OF + timedelta(days=7), AS_OF]
            assert len(repository.read_values(conn, AS_OF)) == 5 * n
        assert first["C2"]["days_since_last_login"] is None
        assert first["C2"]["communications_30d"] == 0.0

    def test_other_domains_store_their_values_beside_indicators(self, engine: Engine) -> None:
        store(engine, hand_data(ZONE))
        with service.open_source(engine) as source:
            wide = service.compute_indicators(source, [AS_OF], slugs=["orders_30d"], zone=ZONE)
        health = wide.assign(health_score=[42.0 if c == 1 else None for c in wide["customer_id"]])
        assert service.store_snapshot(engine, health) == 10
        stored = service.read_snapshot(engine, AS_OF, customer="C1")
        assert stored == {"C1": {"health_score": 42.0, "orders_30d": 1.0}}

    def test_cli_prints_one_customer_as_json(self, engine: Engine) -> None:
        store(engine, hand_data(ZoneInfo("UTC")))
        url = engine.url.render_as_string(hide_password=False)
        args = ["--db", url, "indicators", "--as-of", "2024-06-01", "--customer", "C3", "--json"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert [c["customer_id"] for c in document["customers"]] == ["C3"]
        assert document["customers"][0]["indicators"]["login_days_30d"] == 1.0
        missing = CliRunner().invoke(
            app, ["--db", url, "indicators", "--as-of", "2024-06-01", "--customer", "X"]
        )
        assert missing.exit_code != 0
