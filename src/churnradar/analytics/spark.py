"""Spark as the analytics engine: the same Ibis expressions over the store's lake, Parquet files or Spark
tables.

Needs the optional extra `spark` (pyspark, and Java 17 or later on the machine). The session is local
(`spark_master = "local[N]"`) or a cluster's master URL; a local one listens on 127.0.0.1 only and runs
without its web UI. Spark's session time zone is UTC, as events are stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

import ibis
from ibis.backends import BaseBackend
from sqlalchemy.engine import Engine

from churnradar.analytics.exceptions import SparkMissingError
from churnradar.analytics.source import Source, over_parquet, over_store, over_tables
from churnradar.config import AnalyticsSettings

ENGINE_NAME = "pyspark"


@cache
def _backend_class() -> Any:
    try:
        from ibis.backends.pyspark import Backend
        from ibis.backends.sql.compilers.base import NULL
        from ibis.backends.sql.compilers.pyspark import PySparkCompiler
    except ImportError as exc:
        raise SparkMissingError("the spark analytics backend needs: pip install 'churnradar[spark]'") from exc

    class _Compiler(PySparkCompiler):  # type: ignore[misc]
        # Ibis 12 filters a median by wrapping both the value and the 0.5 in IF(where, .., NULL); Spark
        # then refuses a percentage that is not a constant. Filtering the value alone is the same median.
        def visit_Median(self, op: Any, *, arg: Any, where: Any) -> Any:  # noqa: N802 (Ibis' name)
            if where is not None:
                arg = self.if_(where, arg, NULL)
            return self.f.percentile(arg, 0.5)

    class _Backend(Backend):  # type: ignore[misc]
        compiler = _Compiler()

    return _Backend


def session_conf(settings: AnalyticsSettings) -> dict[str, str]:
    """The Spark options churnradar sets: small shuffles, Arrow transfers, UTC; then the user's own."""
    conf = {
        "spark.app.name": "churnradar",
        "spark.master": settings.spark_master,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if settings.spark_master.startswith("local"):
        conf |= {"spark.ui.enabled": "false", "spark.driver.bindAddress": "127.0.0.1"}
    return conf | settings.spark_conf


def spark_session(settings: AnalyticsSettings) -> Any:
    """The process's Spark session with churnradar's options (started when none runs; slow: a JVM)."""
    _backend_class()  # a clear message when pyspark is missing
    from pyspark.sql import SparkSession

    if settings.spark_master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in session_conf(settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def connect(session: Any) -> BaseBackend:
    """An Ibis connection over a running Spark session."""
    backend_class = _backend_class()
    _ = ibis.pyspark  # registers Ibis' pyspark options, which its compiler reads
    connection: BaseBackend = backend_class().connect(session)
    return connection


def _open(settings: AnalyticsSettings, session: Any, build: Callable[[Any, BaseBackend], Source]) -> Source:
    """`build(session, con)` on `session`, else the session already active in this process (a notebook's, a
    test module's), which stays up when the source closes; else a new one from the settings, which the
    source stops on close."""
    if session is None:
        _backend_class()
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
    owned = session is None
    if owned:
        session = spark_session(settings)
    con = connect(session)
    try:
        source = build(session, con)
    except Exception:
        if owned:
            con.disconnect()
        raise
    source.owns_connection = owned
    return source


def spark_over_store(engine: Engine, settings: AnalyticsSettings, session: Any = None) -> Source:
    """The store's data on Spark: the lake's current Parquet files (events, invoices) and the store's
    customers and contracts, keyed by the store's ids.

    Spark reads the files where the lake keeps them: a cluster needs the lake on storage every executor
    sees (a shared mount); a local session reads them in place.
    """

    def build(session: Any, con: BaseBackend) -> Source:
        def read_files(files: list[str], name: str) -> Any:
            session.read.parquet(*files).createOrReplaceTempView(name)
            return con.table(name)

        return over_store(con, engine, read_files, ENGINE_NAME)

    return _open(settings, session, build)


def spark_source(settings: AnalyticsSettings, session: Any = None) -> Source:
    """The canonical tables on Spark: `parquet_dir` or the tables of `spark_database` (see `_open` for
    which session runs them)."""
    if settings.parquet_dir is None and settings.spark_database is None:
        raise ValueError("spark_source reads parquet_dir or spark_database; spark_over_store reads the lake")

    def build(session: Any, con: BaseBackend) -> Source:
        if settings.parquet_dir is not None:
            return over_parquet(con, settings.parquet_dir, ENGINE_NAME)
        database = settings.spark_database
        assert database is not None
        # The catalog, not SHOW TABLES: that also lists this session's temporary views.
        names = ("customers", "events", "contracts", "invoices")
        present = {n for n in names if session.catalog.tableExists(f"{database}.{n}")}
        return over_tables(con, database, present, ENGINE_NAME)

    return _open(settings, session, build)
