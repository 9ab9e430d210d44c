"""Spark in local mode (local[2], 127.0.0.1, no UI) computes what DuckDB computes: every built-in indicator
on hand-made and simulated data, from Parquet and from Spark tables, and the backtest and evaluation that
read them. One Spark session serves the whole module (starting the JVM takes several seconds)."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from churnradar.analytics.source import duckdb_over_parquet, duckdb_over_store
from churnradar.config import AnalyticsSettings
from churnradar.evaluation.backtest import BacktestWindow, run_backtest
from churnradar.evaluation.service import active_rulebook, evaluate
from churnradar.indicator import service
from tests.analytics.conftest import AS_OF, LAKE_FILES, settings_with
from tests.conftest import stored_snapshot
from tests.indicator.cases import AS_OF as HAND_AS_OF
from tests.indicator.cases import frames, hand_data
from tests.indicator.helpers import check_against_reference

pyspark = pytest.importorskip("pyspark", reason="the Spark backend needs the extra: pip install '.[spark]'")


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Spark session for the module, its warehouse in a temporary folder."""
    if shutil.which("java") is None:
        message = "Spark needs Java 17 or later (.ci/run installs default-jre-headless)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from churnradar.analytics.spark import spark_session

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    settings = AnalyticsSettings(
        backend="spark",
        parquet_dir=warehouse,
        spark_shuffle_partitions=2,
        spark_driver_memory="1g",
        spark_conf={"spark.sql.warehouse.dir": str(warehouse)},
    )
    session = spark_session(settings)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_settings(**where: Any) -> AnalyticsSettings:
    return AnalyticsSettings(backend="spark", spark_shuffle_partitions=2, **where)


def assert_same_values(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal frames: same rows and columns, null for null, floats within 1e-9 (summation order differs)."""
    keys = ["customer_id", "as_of"]
    got, want = got.sort_values(keys, ignore_index=True), want.sort_values(keys, ignore_index=True)
    assert list(got.columns) == list(want.columns)
    assert got[keys].equals(want[keys])
    problems = []
    for column in got.columns.drop(keys):
        for row, (a, b) in enumerate(zip(got[column], want[column], strict=True)):
            if pd.isna(a) != pd.isna(b) or (
                not pd.isna(a) and not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
            ):
                problems.append(f"{column} of {got['customer_id'][row]}: spark {a!r}, duckdb {b!r}")
    assert not problems, "\n".join(problems[:20])


def test_every_indicator_equals_the_reference_on_hand_data(spark: Any, tmp_path: Path) -> None:
    zone = ZoneInfo("Asia/Shanghai")  # local days and window edges that are not UTC midnights
    data = hand_data(zone)
    for name, frame in frames(data).items():
        frame.assign(customer_id=frame["customer_id"].map(lambda c: f"C{c}")).to_parquet(
            tmp_path / f"{name}.parquet"
        )
    from churnradar.analytics.spark import spark_source

    source = spark_source(spark_settings(parquet_dir=tmp_path))
    try:
        assert source.engine_name == "pyspark"
        check_against_reference(
            source, data, [HAND_AS_OF, HAND_AS_OF + timedelta(days=7)], zone, id_of=lambda c: int(c[1:])
        )
    finally:
        source.close()
    assert not spark.sparkContext._jsc.sc().isStopped(), "a shared session stays up after close"


def test_every_indicator_equals_duckdb_on_demo_data(spark: Any, lake: Path) -> None:
    from churnradar.analytics.spark import spark_source

    # One date: the single-date plan (one scan for all windows); the hand data and backtest cover many.
    on_duckdb = duckdb_over_parquet(lake)
    want = service.compute_indicators(on_duckdb, [AS_OF])
    on_duckdb.close()
    source = spark_source(spark_settings(parquet_dir=lake))
    got = service.compute_indicators(source, [AS_OF])
    source.close()
    assert len(got) == 301
    assert_same_values(got, want)


def test_spark_over_the_stores_lake_equals_duckdb(spark: Any, store: Engine) -> None:
    """With neither parquet_dir nor spark_database, Spark reads the store's own lake (events, invoices)."""
    from churnradar.analytics.backends import open_analytics

    on_duckdb = duckdb_over_store(store)
    want = service.compute_indicators(on_duckdb, [AS_OF])
    on_duckdb.close()
    source = open_analytics(store, spark_settings())
    assert (source.engine_name, source.keyed_by) == ("pyspark", "store_id")
    got = service.compute_indicators(source, [AS_OF])
    source.close()
    assert len(got) == 300
    assert got.drop(columns=["customer_id", "as_of"]).notna().any().all(), "every indicator has a value"
    assert_same_values(got, want)


def test_spark_tables_read_like_the_files(spark: Any, lake: Path) -> None:
    from churnradar.analytics.spark import spark_source

    spark.sql("CREATE DATABASE IF NOT EXISTS churn_lake")
    for name in LAKE_FILES:
        spark.read.parquet(str(lake / f"{name}.parquet")).write.mode("overwrite").saveAsTable(
            f"churn_lake.{name}"
        )
    tables = spark_source(spark_settings(spark_database="churn_lake"))
    got = service.compute_indicators(tables, [AS_OF])
    tables.close()
    files = duckdb_over_parquet(lake)
    assert_same_values(got, service.compute_indicators(files, [AS_OF]))
    files.close()
    with pytest.raises(LookupError, match="lacks the tables customers, events"):
        spark_source(spark_settings(spark_database="default"))


def test_backtest_on_spark_equals_duckdb(spark: Any, store: Engine, lake: Path) -> None:
    window = BacktestWindow(AS_OF - timedelta(days=56), AS_OF, every_days=14, horizon_days=60)
    book = active_rulebook(store)
    on_store = run_backtest(store, window, book)
    on_spark = run_backtest(store, window, book, analytics=spark_settings(parquet_dir=lake))
    assert on_spark == on_store
    assert on_store["overall"]["alerts_per_week"] > 0, "rules fired: the comparison is not vacuous"


def test_evaluate_on_spark_stores_what_duckdb_stores(
    spark: Any, store: Engine, twin: Engine, lake: Path
) -> None:
    on_store = evaluate(store, as_of=AS_OF, settings=settings_with())
    on_spark = evaluate(twin, as_of=AS_OF, settings=settings_with(spark_settings(parquet_dir=lake)))
    assert on_spark.as_dict() == on_store.as_dict()
    with store.connect() as a, twin.connect() as b:
        alerts = "SELECT customer_id, rule, level FROM alerts ORDER BY 1, 2"
        assert b.exec_driver_sql(alerts).all() == a.exec_driver_sql(alerts).all()
    on_duckdb, on_lake = stored_snapshot(store, AS_OF), stored_snapshot(twin, AS_OF)
    assert len(on_duckdb) > 0
    pd.testing.assert_frame_equal(
        on_lake[sorted(on_lake.columns)], on_duckdb[sorted(on_duckdb.columns)], check_exact=False, rtol=1e-9
    )
