"""Two `churnradar worker` processes started together on one store: one evaluates, once; the other waits
for the lease and takes it over when the first dies, without evaluating the day again; SIGTERM stops it
cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.models import EvaluationRun, WorkerLease
from tests.evaluation.conftest import db, demo_db

__all__ = ["db", "demo_db"]


def test_two_workers_evaluate_once(db: Engine, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    env |= {
        "CHURNRADAR_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "CHURNRADAR_WORKER__EVALUATE_AT": "00:00",  # due as soon as a worker starts, whatever the hour
        "CHURNRADAR_WORKER__LEASE_SECONDS": "6",
        # Retraining is not this test's subject: on its weekday (Monday) the worker would make it up first.
        "CHURNRADAR_WORKER__RETRAIN_SCHEDULE": "59 23 31 12 *",
        "CHURNRADAR_LOG__FORMAT": "json",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "churnradar", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"worker{i}.log").open("wb"),
        )
        for i in range(2)
    ]

    def succeeded() -> int:
        with db.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(EvaluationRun).where(EvaluationRun.status == "succeeded")
                ).scalar_one()
            )

    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not succeeded():
            assert all(worker.poll() is None for worker in workers), (tmp_path / "worker0.log").read_text()
            time.sleep(1)
        time.sleep(8)  # more than a lease: the other worker had every chance to evaluate too
        assert succeeded() == 1
        with db.connect() as conn:
            holders = conn.execute(select(WorkerLease.holder)).scalars().all()
        assert len(holders) == 1
        # The holder dies without a word (kill -9): the other takes the lease over once it has expired,
        # and, the store saying today's evaluation ran, does not evaluate again.
        pid = int(holders[0].split(":")[1])
        holder = next(worker for worker in workers if worker.pid == pid)
        holder.kill()
        holder.wait(timeout=30)
        deadline = time.monotonic() + 60
        taken: list[str] = []
        while time.monotonic() < deadline and not taken:
            time.sleep(1)
            with db.connect() as conn:
                taken = [h for h in conn.execute(select(WorkerLease.holder)).scalars() if h != holders[0]]
        assert taken
        assert int(taken[0].split(":")[1]) != pid
        time.sleep(3)
        assert succeeded() == 1
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=120) for worker in workers]
    assert sorted(codes) == [-signal.SIGKILL, 0]
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert sum('"message": "job evaluate done in' in log for log in logs) == 1
    assert sum("evaluated as of" in log for log in logs) == 1
    assert sum('"message": "worker stopped"' in log for log in logs) == 1  # the survivor stopped cleanly
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WorkerLease)).scalar_one() == 0
