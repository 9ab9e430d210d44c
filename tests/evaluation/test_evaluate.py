"""`evaluate` end to end on simulated customers: alerts open, reruns change nothing, time only moves forward,
and a run killed half-way leaves the previous state, which the rerun completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.evaluation.exceptions import EvaluationError
from churnradar.evaluation.service import evaluate
from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for
from churnradar.models import Alert, AlertEvent, CustomerRisk, EvaluationRun
from tests.conftest import copy_store, snapshot, stored_snapshot
from tests.evaluation.conftest import AS_OF


def _alert_tables(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            "alerts": sorted(tuple(map(str, r)) for r in conn.execute(select(Alert))),
            "events": sorted(tuple(map(str, r[1:])) for r in conn.execute(select(AlertEvent))),
            "risk": sorted(tuple(map(str, r)) for r in conn.execute(select(CustomerRisk))),
        }


def test_evaluate_opens_alerts_and_rerun_changes_nothing(db: Engine, settings: Settings) -> None:
    first = evaluate(db, as_of=AS_OF, settings=settings)
    assert first.counts["opened"] > 0
    assert sum(first.levels.values()) > 0
    with db.connect() as conn:
        reasons = conn.execute(select(Alert.reason_en, Alert.reason_zh).limit(5)).all()
    assert all(en and zh and "{" not in en for en, zh in reasons)
    assert stored_snapshot(db, AS_OF)["health_score"].notna().sum() == first.customers
    before = _alert_tables(db)
    data_before = snapshot(db)
    again = evaluate(db, as_of=AS_OF, settings=settings)
    assert again.counts["opened"] == 0
    assert _alert_tables(db) == before
    assert snapshot(db) == data_before


def test_evaluation_moves_forward_only(db: Engine, settings: Settings) -> None:
    evaluate(db, as_of=AS_OF, settings=settings)
    later = evaluate(db, as_of=AS_OF + timedelta(days=7), settings=settings)
    assert later.counts["open"] > 0
    with pytest.raises(EvaluationError, match=f"already evaluated up to {AS_OF + timedelta(days=7)}"):
        evaluate(db, as_of=AS_OF, settings=settings)
    with db.connect() as conn:
        history = conn.execute(select(AlertEvent.kind, func.count()).group_by(AlertEvent.kind)).all()
    assert dict(history)["opened"] >= later.counts["open"] - later.counts["opened"]


def test_killed_run_leaves_previous_state_and_rerun_completes(
    db: Engine, settings: Settings, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.db"
    copy_store(str(db.url.database), reference)
    clean = create_engine(f"sqlite:///{reference}")
    evaluate(clean, as_of=AS_OF, settings=settings)
    expected = _alert_tables(clean)

    url = db.url.render_as_string(hide_password=False)
    env = {**os.environ, "CHURNRADAR_DATABASE_URL": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "churnradar", "evaluate", "--as-of", AS_OF.isoformat()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it once the date's snapshot has landed in the lake: the alert transaction has not committed yet.
    lake = lake_for(db)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if lake.version(LakeTable.SNAPSHOTS) is not None:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait(timeout=60)
    with db.connect() as conn:
        runs = conn.execute(select(EvaluationRun.status)).scalars().all()
        alerts = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
    assert (runs, alerts) in (([], 0), (["succeeded"], len(expected["alerts"])))
    evaluate(db, as_of=AS_OF, settings=settings)
    assert _alert_tables(db)["alerts"] == expected["alerts"]
