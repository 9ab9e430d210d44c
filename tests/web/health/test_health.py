"""/healthz, /readyz and /metrics: no sign-in for health, metrics only with the token or from an allowed
address, the metric names and the store's figures in them, a request id on every response and log line."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import Engine

from churnradar.config import OpsSettings, Settings
from churnradar.evaluation.service import evaluate
from churnradar.kit.clock import FrozenClock
from churnradar.web.app import create_app
from tests.web.seed import seed

NOW = datetime(2025, 1, 10, 12)
TOKEN = "scrape-" + "k" * 30


def app_with(engine: Engine, settings: Settings, **ops: object) -> TestClient:
    configured = settings.model_copy(update={"ops": OpsSettings.model_validate(ops)})
    app = create_app(configured, engine, clock=FrozenClock(NOW))
    return TestClient(app, base_url="http://127.0.0.1", client=("10.1.2.3", 40000))


def test_health_needs_no_sign_in_and_readiness_checks_the_store(engine: Engine, settings: Settings) -> None:
    client = app_with(engine, settings)
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "lake": "ok"}
    with engine.begin() as conn:  # a store behind this version's migrations is not ready
        conn.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["checks"]["migrations"].startswith("at 0011, this version needs")
    assert client.get("/").status_code in (200, 303)  # the rest still asks for sign-in
    assert "login" in client.get("/", follow_redirects=False).headers.get("location", "")


def test_readiness_fails_when_the_database_does_not_answer(settings: Settings, tmp_path: object) -> None:
    from churnradar.db import create_engine

    gone = create_engine("sqlite:////nonexistent-folder/churnradar.db")
    response = TestClient(create_app(settings, gone)).get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_metrics_are_off_until_a_token_or_an_allow_list_is_set(engine: Engine, settings: Settings) -> None:
    assert app_with(engine, settings).get("/metrics").status_code == 404
    guarded = app_with(engine, settings, metrics_token=TOKEN)
    refused = guarded.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert app_with(engine, settings, metrics_allow=["10.1.0.0/16"]).get("/metrics").status_code == 200
    assert app_with(engine, settings, metrics_allow=["10.9.0.0/16"]).get("/metrics").status_code == 403


def test_metrics_report_the_store(engine: Engine, settings: Settings) -> None:
    seed(engine, settings)
    summary = evaluate(engine, as_of=date(2025, 1, 1), settings=settings, clock=FrozenClock(NOW))
    client = app_with(engine, settings, metrics_token=TOKEN)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    names = {name for name, _ in samples}
    for expected in (
        "churnradar_evaluation_runs_total",
        "churnradar_evaluation_last_duration_seconds",
        "churnradar_evaluation_last_success_timestamp_seconds",
        "churnradar_evaluation_last_held_rules",
        "churnradar_alerts_open",
        "churnradar_tasks_open",
        "churnradar_tasks_overdue",
        "churnradar_imports_total",
        "churnradar_import_rows_total",
        "churnradar_import_rejected_rows_total",
        "churnradar_source_sync_lag_seconds",
        "churnradar_worker_lease_held",
    ):
        assert expected in names, expected
    assert samples["churnradar_evaluation_runs_total", (("status", "succeeded"),)] == 1
    assert samples["churnradar_import_rows_total", (("kind", "customers"),)] > 0
    assert samples["churnradar_worker_lease_held", ()] == 0
    opened = summary.counts["opened"]
    assert opened > 0
    by_level = sum(v for (n, labels), v in samples.items() if n == "churnradar_alerts_open")
    assert by_level == summary.counts["open"]
    changes = sum(
        v
        for (n, labels), v in samples.items()
        if n == "churnradar_alert_changes_total" and ("kind", "opened") in labels
    )
    assert changes == opened
    assert samples["churnradar_tasks_open", ()] == summary.tasks["opened"]


def test_every_response_and_log_line_carries_a_request_id(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_with(engine, settings)
    with caplog.at_level(logging.INFO, logger="churnradar.web"):
        made = client.get("/healthz?customer=Alice")
        kept = client.get("/healthz", headers={"X-Request-ID": "proxy-id-12345"})
        unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith lines"})
    assert len(made.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "proxy-id-12345"
    assert unsafe.headers["x-request-id"] != "bad id\nwith lines"
    lines = [r for r in caplog.records if r.name == "churnradar.web"]
    assert [r.getMessage().split()[:3] for r in lines] == [["GET", "/healthz", "200"]] * 3
    assert "Alice" not in caplog.text  # the query string is not logged
