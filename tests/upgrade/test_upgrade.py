"""`churnradar init` on a store from before the lake moves its events and snapshots into the lake once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from churnradar.lake.schemas import LakeTable
from churnradar.lake.service import lake_for
from churnradar.lake.upgrade import move_store_history, store_rows
from tests.conftest import store_events
from tests.upgrade.helpers import lake_events, lake_values, seed_store, to_pre_lake


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A store at migration 0009 (events and indicator values in its own tables)."""
    return to_pre_lake(engine)


class StoppedError(Exception):
    """Stands for a kill between two commits."""


def test_moves_events_and_snapshots_then_empties_the_store(store: Engine) -> None:
    events, values = seed_store(store, customers=12, events_each=20, days=3)
    report = move_store_history(store, chunk_rows=50)
    lake = lake_for(store)
    assert lake_events(lake) == events
    assert lake_values(lake) == values
    assert store_rows(store) == {"events": 0, "indicator_values": 0, "invoices": 0}
    assert (report.events_moved, report.events_kept_from_lake) == (240, 0)
    assert (report.snapshot_dates, report.indicator_values_moved) == (3, 12 * 3 * 4)
    assert (report.store_events_removed, report.store_values_removed) == (240, 12 * 3 * 4)
    versions = (lake.version(LakeTable.EVENTS), lake.version(LakeTable.SNAPSHOTS))

    again = move_store_history(store, chunk_rows=50)
    assert not again.moved_anything
    assert (lake.version(LakeTable.EVENTS), lake.version(LakeTable.SNAPSHOTS)) == versions
    assert lake_events(lake) == events


@pytest.mark.parametrize("stop_after", ["events: 100", "events: 250", "indicator snapshots"])
def test_an_interrupted_move_resumes_without_duplicates(store: Engine, stop_after: str) -> None:
    events, values = seed_store(store, customers=10, events_each=30, days=4)

    def stop(message: str) -> None:
        if message.startswith(stop_after):
            raise StoppedError

    with pytest.raises(StoppedError):
        move_store_history(store, chunk_rows=50, progress=stop)
    lake = lake_for(store)
    # Nothing is removed from the store before all of it is in the lake: the events first, then the values.
    if stop_after.startswith("events"):
        assert len(lake_events(lake)) < len(events)
        assert store_rows(store) == {"events": 300, "indicator_values": 10 * 4 * 4, "invoices": 0}
    else:
        assert lake_events(lake) == events
        assert store_rows(store) == {"events": 0, "indicator_values": 10 * 4 * 4, "invoices": 0}
    report = move_store_history(store, chunk_rows=50)
    assert lake_events(lake) == events
    assert lake_values(lake) == values
    assert store_rows(store) == {"events": 0, "indicator_values": 0, "invoices": 0}
    assert report.store_events_removed == (300 if stop_after.startswith("events") else 0)
    assert report.store_values_removed == 10 * 4 * 4


def test_the_lakes_own_copy_of_an_event_wins(store: Engine) -> None:
    events, _ = seed_store(store, customers=3, events_each=6, days=1)
    lake = lake_for(store)
    first = events[0]
    newer = {
        "customer_id": first[0],
        "kind": first[1],
        "event_key": first[2],
        "ts": first[3],
        "amount": 999.0,
    }
    store_events(store, [newer], operation="import:1")  # an import before init
    report = move_store_history(store, chunk_rows=5)
    assert (report.events_moved, report.events_kept_from_lake) == (17, 1)
    stored = lake_events(lake)
    assert len(stored) == len(events)
    assert next(e for e in stored if e[2] == first[2])[4] == 999.0


def test_a_store_without_the_old_tables_has_nothing_to_move(engine: Engine) -> None:
    # migrations 0010 and 0012 dropped them
    assert store_rows(engine) == {"events": 0, "indicator_values": 0, "invoices": 0}
    report = move_store_history(engine)
    assert not report.moved_anything


def _init(url: str, lake: Path) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    environment["CHURNRADAR_LAKE__PATH"] = str(lake)
    return subprocess.Popen(
        [sys.executable, "-m", "churnradar", "--db", url, "init", "--json"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when(process: subprocess.Popen[str], ready: object, timeout: float = 120) -> bool:
    """SIGKILL `process` as soon as `ready()` holds; False when it exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if ready():  # type: ignore[operator]
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.01)
    raise AssertionError("init neither reached the point nor finished")


def _commits(folder: Path) -> int:
    log = folder / "_delta_log"
    return len(list(log.glob("*.json"))) if log.exists() else 0


def test_kill_9_during_init_then_init_again_moves_everything_once(store: Engine) -> None:
    events, values = seed_store(store, customers=200, events_each=100, days=16)
    lake = lake_for(store)
    url = store.url.render_as_string(hide_password=False)
    store.dispose()
    killed = 0
    # Kill points that do not depend on the machine's speed: the first events commit, then a few snapshot
    # dates in.
    for ready in (
        lambda: _commits(lake.path(LakeTable.EVENTS)) >= 1,
        lambda: _commits(lake.path(LakeTable.SNAPSHOTS)) >= 6,
    ):
        killed += _kill_when(_init(url, lake.root), ready)
    assert killed >= 2
    assert store_rows(store)["indicator_values"] > 0  # the kills left the move half done
    finished = _init(url, lake.root)
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    assert json.loads(out)["upgrade"]["store_events_removed"] in (0, len(events))
    assert lake_events(lake) == events
    assert lake_values(lake) == values
    assert store_rows(store) == {"events": 0, "indicator_values": 0, "invoices": 0}
