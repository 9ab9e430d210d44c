"""`serve --worker` runs the scheduled jobs in a process of their own beside the dashboard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.models import EvaluationRun
from tests.evaluation.conftest import db, demo_db

__all__ = ["db", "demo_db"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_with_worker_evaluates_and_serves(db: Engine, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    # Evaluate as soon as the worker starts, whatever the time of day.
    env |= {
        "CHURNRADAR_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "CHURNRADAR_WORKER__EVALUATE_AT": "00:00",
        # Retraining is not this test's subject: on its weekday (Monday) the worker would make it up first.
        "CHURNRADAR_WORKER__RETRAIN_SCHEDULE": "59 23 31 12 *",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "churnradar", "serve", "--worker", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        runs, page = 0, None
        while time.monotonic() < deadline and (not runs or page is None):
            time.sleep(1)
            with db.connect() as conn:
                runs = conn.execute(
                    select(func.count()).select_from(EvaluationRun).where(EvaluationRun.status == "succeeded")
                ).scalar_one()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
                    page = response.status
            except OSError:
                page = None
        assert page == 200
        assert runs == 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
