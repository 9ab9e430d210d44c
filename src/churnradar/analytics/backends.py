"""The configured analytics backend: where events are read and indicators computed (CHURNRADAR_ANALYTICS__*).

A registry, so that a deployment can add its own warehouse: an entry takes the operational database's
engine and the settings and returns a Source. Sources over a lake (Parquet, Spark tables) carry the
customers' own ids; they are opened with the store's id map so that results land on the store's customers.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.analytics.source import Source, duckdb_over_parquet, duckdb_over_store, postgres_native
from churnradar.config import AnalyticsSettings
from churnradar.kit.registry import Registry
from churnradar.models import Customer

BackendOpener = Callable[[Engine, AnalyticsSettings], Source]
backends: Registry[BackendOpener] = Registry("analytics backend")


@backends.register("duckdb")
def _duckdb(engine: Engine, settings: AnalyticsSettings) -> Source:
    if settings.parquet_dir is not None:
        return duckdb_over_parquet(settings.parquet_dir)
    return duckdb_over_store(engine)


@backends.register("postgres")
def _postgres(engine: Engine, settings: AnalyticsSettings) -> Source:
    if settings.parquet_dir is not None:
        raise ValueError("the postgres analytics backend reads tables, not parquet_dir")
    if settings.postgres_url is None:
        raise ValueError(
            "the postgres analytics backend computes in a PostgreSQL warehouse holding the canonical tables "
            "(customers, events, contracts, invoices): set CHURNRADAR_ANALYTICS__POSTGRES_URL; the store's "
            "own events live in its lake, which the duckdb backend reads"
        )
    return postgres_native(settings.postgres_url.get_secret_value())


@backends.register("spark")
def _spark(engine: Engine, settings: AnalyticsSettings) -> Source:
    from churnradar.analytics.spark import spark_over_store, spark_source  # pyspark: an optional extra

    if settings.parquet_dir is None and settings.spark_database is None:
        return spark_over_store(engine, settings)
    return spark_source(settings)


def store_ids(engine: Engine) -> pd.Series:
    """The store's customer id by the customers' own id (external_id)."""
    query = select(Customer.external_id, Customer.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["external_id", "id"])
    ids: pd.Series = frame.set_index("external_id")["id"].astype("int64")
    return ids


def attach_store_ids(source: Source, engine: Engine) -> Source:
    """`source` able to key its results by the store's ids (a no-op for a source reading the store)."""
    if source.keyed_by == "external_id":
        source.store_ids = store_ids(engine)
    return source


def open_analytics(engine: Engine, settings: AnalyticsSettings) -> Source:
    """The configured backend's source, ready to key results by the store's ids; close it after use."""
    source = backends.get(settings.backend)(engine, settings)
    try:
        return attach_store_ids(source, engine)
    except Exception:
        source.close()
        raise
