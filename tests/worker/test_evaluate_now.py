"""An evaluation started by hand (the admins' "Evaluate now"): the worker's evaluation in a background thread,
refused while one runs, audited, and its end visible in the run ledger."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.kit.clock import FrozenClock
from churnradar.models import AuditEntry, EvaluationRun
from churnradar.models.people import Role
from churnradar.worker import repository
from churnradar.worker.service import EVALUATE_NOW, evaluation_state, start_evaluation
from tests.web.seed import seed

AT = datetime(2025, 1, 2, 9, 0)  # naive UTC, as the clocks give it


def test_evaluate_now_runs_once_at_a_time_and_says_when_it_finished(
    migrated_sqlite: Path, tmp_path: Path, settings: Settings
) -> None:
    shutil.copyfile(migrated_sqlite, tmp_path / "churnradar.db")
    engine = create_engine(f"sqlite:///{tmp_path / 'churnradar.db'}")
    seed(engine, settings)
    clock = FrozenClock(AT)
    admin = Principal(user_id=1, login="admin", role=Role.ADMIN)
    assert evaluation_state(engine, clock=clock).running_since is None

    # While another start still holds the lease (a run in another web process), a second start is refused.
    assert repository.acquire(engine, EVALUATE_NOW, "other", now=AT, ttl=timedelta(hours=1))
    assert start_evaluation(engine, settings, actor=admin, clock=clock) is None
    assert evaluation_state(engine, clock=clock).running_since == AT
    repository.release(engine, EVALUATE_NOW, "other")

    thread = start_evaluation(engine, settings, actor=admin, clock=clock)
    assert thread is not None
    thread.join(timeout=300)
    assert not thread.is_alive()
    state = evaluation_state(engine, clock=clock)
    assert state.running_since is None  # the lease is let go when the run ends
    assert state.last_finished is not None
    with engine.connect() as conn:
        runs = conn.execute(select(EvaluationRun.as_of, EvaluationRun.status)).all()
        audited = conn.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity)).all()
    today = AT.replace(tzinfo=UTC).astimezone(settings.zone).date()
    assert [(day, status) for day, status in runs][-1] == (today, "succeeded")
    assert audited.count(("admin", "start", "evaluation")) == 1  # the refused start recorded nothing
    engine.dispose()
