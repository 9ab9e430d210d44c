"""The worker's source-syncs job: registered before evaluate, it syncs the connected sources whose own cron
is due at the scheduler's (aware) moment, and says nothing when none is."""

from __future__ import annotations

from datetime import UTC, datetime
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
