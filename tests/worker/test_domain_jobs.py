"""The jobs other domains add to the worker: source syncs (before evaluate, syncing the connected sources
whose own cron is due at the scheduler's aware moment, silent when none is) and the weekly model retraining
(before evaluate; too little history is said, not raised)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.worker import service as worker_service
from churnradar.worker.registry import JobContext, jobs, ordered
from tests.source.conftest import save


def test_source_syncs_run_before_evaluate() -> None:
    names = [job.name for job in ordered(jobs)]
    assert names.index("source_syncs") < names.index("evaluate")


def test_the_job_syncs_due_sources_once(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id\nK1\nK2\n")
    save(engine, settings, name="daily", kind="folder", schedule="0 6 * * *", options={"path": str(folder)})
    with engine.begin() as conn:
        conn.execute(text("UPDATE sources SET created_at = :at"), {"at": datetime(2026, 12, 1, 12)})

    def run_at(moment: datetime) -> str | None:
        return worker_service.source_syncs(JobContext(engine, settings, moment))

    assert run_at(datetime(2026, 12, 2, 5, 59, tzinfo=UTC)) is None
    assert run_at(datetime(2026, 12, 2, 6, 0, tzinfo=UTC)) == "synced: daily succeeded"
    assert run_at(datetime(2026, 12, 2, 6, 1, tzinfo=UTC)) is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 2


def test_model_retraining_runs_weekly_before_evaluate(settings: Settings) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from churnradar.worker.registry import trigger_for

    names = [job.name for job in ordered(jobs)]
    assert names.index("retrain_model") < names.index("evaluate")
    job = jobs.get("retrain_model")
    start = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # a Monday
    trigger = trigger_for(job, settings, start=start)
    assert isinstance(trigger, CronTrigger)
    first = trigger.get_next_fire_time(None, start)
    assert first is not None
    assert first.weekday() == 0  # Monday: crontab's 1, not APScheduler's
    following = trigger.get_next_fire_time(first, first + timedelta(minutes=1))
    assert following is not None
    assert (following - first).days == 7


def test_retraining_with_too_little_history_says_so(engine: Engine, settings: Settings) -> None:
    line = worker_service.retrain_model(
        JobContext(engine, settings, datetime(2026, 12, 2, 5, 30, tzinfo=UTC))
    )
    assert line.startswith("model not retrained: ")
