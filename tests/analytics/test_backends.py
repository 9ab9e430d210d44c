"""The analytics backend setting: a lake read by DuckDB gives the store's values on the store's customers;
bad settings are refused with a message that says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from churnradar.analytics.backends import open_analytics
from churnradar.config import AnalyticsSettings
from churnradar.evaluation.service import evaluate
from churnradar.indicator import service
from churnradar.kit.registry import RegistryError
from tests.analytics.conftest import AS_OF, settings_with


def test_lake_results_are_keyed_by_the_store_customers(store: Engine, lake: Path) -> None:
    analytics = AnalyticsSettings(parquet_dir=lake)
    with service.open_source(store, analytics=analytics) as source:
        assert source.keyed_by == "external_id"
        own = service.compute_indicators(source, [AS_OF], slugs=["orders_30d"])
        keyed = source.for_store(own)
    assert "LAKE-ONLY" in set(own["customer_id"])  # the lake knows one customer more than the store
    assert len(keyed) == len(own) - 1
    with store.connect() as conn:
        ids = dict(conn.exec_driver_sql("SELECT external_id, id FROM customers").all())
    by_own = own.set_index("customer_id")["orders_30d"]
    by_store = keyed.set_index("customer_id")["orders_30d"]
    assert all(by_store[ids[external]] == value for external, value in by_own.items() if external in ids)


def test_snapshots_from_the_lake_equal_those_from_the_store(store: Engine, lake: Path) -> None:
    written = service.snapshot_indicators(store, [AS_OF], analytics=AnalyticsSettings(parquet_dir=lake))
    from_lake = service.read_snapshot(store, AS_OF)
    assert written == len(from_lake) * len(service.selected_indicators())
    assert service.snapshot_indicators(store, [AS_OF]) == written  # the store itself, same rows rewritten
    assert service.read_snapshot(store, AS_OF) == from_lake


def test_evaluate_on_the_lake_judges_as_on_the_store(store: Engine, twin: Engine, lake: Path) -> None:
    on_store = evaluate(store, as_of=AS_OF, settings=settings_with())
    on_lake = evaluate(twin, as_of=AS_OF, settings=settings_with(AnalyticsSettings(parquet_dir=lake)))
    assert on_lake.as_dict() == on_store.as_dict()
    assert on_store.fired > 0


def test_spark_reads_one_place_at_most() -> None:
    assert AnalyticsSettings(backend="spark").parquet_dir is None  # the store's own lake
    with pytest.raises(ValidationError, match="parquet_dir or spark_database, not both"):
        AnalyticsSettings(backend="spark", parquet_dir=Path("/lake"), spark_database="lake")


def test_unknown_backend_names_the_known_ones(store: Engine) -> None:
    known = r"unknown analytics backend 'snowflake' \(known: duckdb, postgres, spark\)"
    with pytest.raises(RegistryError, match=known):
        open_analytics(store, AnalyticsSettings(backend="snowflake"))


def test_postgres_backend_needs_a_warehouse(store: Engine) -> None:
    with pytest.raises(ValueError, match="set CHURNRADAR_ANALYTICS__POSTGRES_URL"):
        open_analytics(store, AnalyticsSettings(backend="postgres"))


def test_a_lake_without_events_says_what_it_needs(store: Engine, tmp_path: Path, lake: Path) -> None:
    (tmp_path / "customers.parquet").write_bytes((lake / "customers.parquet").read_bytes())
    with pytest.raises(FileNotFoundError, match="needs customers and events"):
        open_analytics(store, AnalyticsSettings(parquet_dir=tmp_path))
