"""Readiness (the database answers, the lake is this store's and readable, migrations are current) and the
metrics document in the Prometheus text format, built from the store at each scrape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from churnradar.lake.service import lake_for
from churnradar.store import current_revision, head_revision
from churnradar.web.health import repository
from churnradar.worker.scheduler import LEASE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def readiness(engine: Engine) -> dict[str, str]:
    """Each check's state, "ok" or why not (a short reason that names no secret)."""
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            repository.ping(conn)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
        return checks | {"migrations": "unknown", "lake": "unknown"}
    try:
        current, head = current_revision(engine), head_revision()
        checks["migrations"] = "ok" if current == head else f"at {current}, this version needs {head}"
    except Exception as exc:
        checks["migrations"] = f"unknown ({type(exc).__name__})"
    try:
        lake = lake_for(engine)
        checks["lake"] = "ok" if lake.root.is_dir() else f"missing folder {lake.root.name}"
    except Exception as exc:  # another database's lake, an unreadable pairing file
        checks["lake"] = f"refused ({type(exc).__name__})"
    return checks


def _timestamp(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


class StoreCollector(Collector):
    """The store's figures as Prometheus metrics, read once per scrape."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine = engine
        self.now = now  # naive UTC, as stored

    def collect(self) -> Iterator[Metric]:
        """Every metric family, read in one connection."""
        with self.engine.connect() as conn:
            yield from self._evaluations(repository.evaluation_runs(conn), repository.last_evaluation(conn))
            changes = CounterMetricFamily(
                "churnradar_alert_changes",
                "Alert changes so far, by kind and level",
                labels=["kind", "level"],
            )
            for kind, level, n in repository.alert_changes(conn):
                changes.add_metric([kind, level], n)
            yield changes
            opened = GaugeMetricFamily("churnradar_alerts_open", "Open alerts by level", labels=["level"])
            for level, n in repository.open_alerts(conn).items():
                opened.add_metric([level], n)
            yield opened
            open_tasks, overdue = repository.tasks(conn, self.now)
            yield GaugeMetricFamily("churnradar_tasks_open", "Open intervention tasks", value=open_tasks)
            yield GaugeMetricFamily(
                "churnradar_tasks_overdue", "Open tasks past their deadline", value=overdue
            )
            outbox = GaugeMetricFamily(
                "churnradar_outbox_messages",
                "Notification outbox by status (pending: the backlog; dead: dead letters)",
                labels=["status"],
            )
            for status, n in repository.outbox(conn).items():
                outbox.add_metric([status], n)
            yield outbox
            yield from self._imports(repository.imports(conn), repository.last_import(conn))
            expiry = repository.lease_expiry(conn, LEASE)
        yield GaugeMetricFamily(
            "churnradar_worker_lease_held",
            "1 while a worker holds the lease that runs the scheduled jobs",
            value=int(expiry is not None and expiry > self.now),
        )

    def _evaluations(self, runs: dict[str, int], last: repository.LastEvaluation | None) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "churnradar_evaluation_runs", "Evaluation runs by status", labels=["status"]
        )
        for status, n in runs.items():
            family.add_metric([status], n)
        yield family
        if last is None:
            return
        yield GaugeMetricFamily(
            "churnradar_evaluation_last_duration_seconds",
            "How long the latest succeeded evaluation took",
            value=last.seconds,
        )
        yield GaugeMetricFamily(
            "churnradar_evaluation_last_success_timestamp_seconds",
            "When the latest succeeded evaluation finished (Unix time)",
            value=_timestamp(last.finished_at),
        )
        yield GaugeMetricFamily(
            "churnradar_evaluation_last_held_rules",
            "Rules the latest evaluation held because their data looked stale or broken",
            value=last.held_rules,
        )

    def _imports(
        self, rows: list[tuple[str, str, int, int, int]], last: dict[str, datetime]
    ) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "churnradar_imports", "Imports by kind and outcome", labels=["kind", "status"]
        )
        read = CounterMetricFamily("churnradar_import_rows", "Rows read by imports", labels=["kind"])
        rejected = CounterMetricFamily(
            "churnradar_import_rejected_rows", "Rows imports refused", labels=["kind"]
        )
        totals: dict[str, list[int]] = {}
        for kind, status, n, rows_read, rows_rejected in rows:
            runs.add_metric([kind, status], n)
            total = totals.setdefault(kind, [0, 0])
            total[0] += rows_read
            total[1] += rows_rejected
        for kind, (rows_read, rows_rejected) in totals.items():
            read.add_metric([kind], rows_read)
            rejected.add_metric([kind], rows_rejected)
        lag = GaugeMetricFamily(
            "churnradar_source_sync_lag_seconds",
            "Seconds since the latest succeeded import of each kind",
            labels=["kind"],
        )
        for kind, at in last.items():
            lag.add_metric([kind], max(0.0, (self.now - at).total_seconds()))
        yield from (runs, read, rejected, lag)


def metrics_text(engine: Engine, now: datetime) -> bytes:
    """The metrics document for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, now))
    return generate_latest(registry)
