"""kill -9 in the middle of a sync: the batches committed before stay, with their cursor; the next sync
reads on from there and nothing is imported twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.source import service
from churnradar.store import migrate
from tests.conftest import lake_events
from tests.source.conftest import save
from tests.source.crm_api import CrmApi, serve

EVENTS = 3_500


def test_kill9_mid_sync_loses_nothing_and_imports_nothing_twice(tmp_path: Path) -> None:
    settings = Settings(environment="test", secret_key="k" * 32, imports={"batch_rows": 1_000})  # type: ignore[arg-type]
    database = tmp_path / "churnradar.db"
    engine = create_engine(f"sqlite:///{database}")
    migrate(engine)
    api = CrmApi(
        records={
            "customers": [{"customer_id": "C1", "updated_at": "2026-01-01T00:00:00"}],
            "events": [
                {"customer_id": "C1", "ts": f"2026-11-01T00:00:{i % 60:02d}", "kind": "login", "seq": i}
                for i in range(EVENTS)
            ],
        },
        size=1_000,
        block_on_page=3,  # the third page of events hangs until the process is killed
    )
    endpoint = {"records": "data.items", "cursor": "seq", "since_param": "after_seq", "sorted": True}
    with serve(api):
        save(
            engine,
            settings,
            name="crm",
            kind="rest",
            options={
                "base_url": api.url,
                "pagination": {"style": "page", "size": 1_000},
                "endpoints": {
                    "customers": {"path": "/customers", "records": "data.items"},
                    "events": {"path": "/events", **endpoint},
                },
            },
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
        env |= {"CHURNRADAR_SECRET_KEY": "k" * 32, "CHURNRADAR_IMPORTS__BATCH_ROWS": "1000"}
        process = subprocess.Popen(
            [sys.executable, "-m", "churnradar", "--db", f"sqlite:///{database}", "sources", "sync", "crm"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120
            while _committed_event_batches(engine) < 2:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the sync never committed two batches"
                time.sleep(0.1)
            time.sleep(0.3)  # well into the third page's wait
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        assert process.returncode == -signal.SIGKILL
        assert len(lake_events(engine)) == 2_000
        assert service.get_source(engine, "crm").cursors["events"] == "1999"

        api.block_on_page = None
        resumed = service.sync_source(engine, "crm", settings=settings)
    assert resumed.ok, resumed
    events = next(k for k in resumed.kinds if k.kind.value == "events")
    assert events.rows == EVENTS - 2_000  # only what came after the committed cursor
    assert len(lake_events(engine)) == EVENTS
    assert len(set(lake_events(engine))) == EVENTS
    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM source_runs ORDER BY id")).all())
    assert list(statuses.values()) == ["failed", "succeeded"]  # the killed run is settled as failed


def _committed_event_batches(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM import_runs WHERE kind = 'events' AND status = 'succeeded'")
            ).scalar_one()
        )


def test_kill9_during_a_postgresql_read_leaves_nothing_behind(tmp_path: Path, crm_url: str) -> None:
    settings = Settings(environment="test", secret_key="k" * 32)  # type: ignore[arg-type]
    database = tmp_path / "churnradar.db"
    engine = create_engine(f"sqlite:///{database}")
    migrate(engine)
    slow = "SELECT 'C1' AS customer_id, 'Slow' AS name FROM pg_sleep(60)"  # the COPY waits a minute
    save(
        engine,
        settings,
        name="crm",
        kind="sql",
        options={"queries": {"customers": slow}},
        secrets={"url": crm_url},
    )
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    env |= {"CHURNRADAR_SECRET_KEY": "k" * 32, "TMPDIR": str(spool)}
    process = subprocess.Popen(
        [sys.executable, "-m", "churnradar", "--db", f"sqlite:///{database}", "sources", "sync", "crm"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    crm = create_engine(crm_url)
    try:
        deadline = time.monotonic() + 120
        while not _copying(crm):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the sync never started its COPY"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        crm.dispose()
    assert process.returncode == -signal.SIGKILL
    assert list(spool.iterdir()) == []  # the rows stream in memory: no spool file to leave behind
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 0


def _copying(crm: Engine) -> bool:
    """Whether a COPY is running on the CRM database (the sync's, waiting in pg_sleep)."""
    with crm.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%'"
        )
        return int(conn.execute(text(query)).scalar_one()) > 0
