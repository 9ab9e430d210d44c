"""kill -9 during `churnradar import` and `churnradar evaluate`: the old state or the whole new state, never a
mix, and a rerun ends where an uninterrupted run does.

A reference copy of the store runs each command to its end, giving the state before (S0), after the import
(S1) and after the evaluation (S2): digests of the lake's events and snapshots (DuckDB over the tables'
current files) and of the store's rows, read between commands. The other copy is killed right when the
command's Delta commit appears in the lake (between the lake commit and the store's, the window a crash-safe
design must cover), and the import once more as soon as its run row appears (a pending run, no commit yet).
After each kill the state is one of the two; then a rerun exits 0 and matches the reference.

The evaluation writes its snapshot date into the lake before the store commits; a kill in between may leave
that date's snapshot (which the rerun replaces whole) beside the old store state. Everything else must be
all old or all new.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from churnradar.db import create_engine
from tests.concurrency.conftest import AS_OF, END, Demo, StoreFactory
from tests.concurrency.procs import Store, churnradar, cli_args, explain, kill9, start
from tests.concurrency.readback import state

pytestmark = pytest.mark.concurrency
BIG_ROWS = 60_000  # an import that works for a second or two past the interpreter's start
POLL = 0.005


def _big_events(demo: Demo, path: Path) -> None:
    """BIG_ROWS orders and logins of the demo's customers after AS_OF (evaluating AS_OF ignores them)."""
    with (demo.base / "customers.csv").open(newline="") as rows:
        customers = [row["customer_id"] for row in csv.DictReader(rows)]
    span = (END - AS_OF).days * 86_400
    start = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["customer_id", "ts", "kind", "event_id", "amount"])
        for i in range(BIG_ROWS):
            ts = (start + timedelta(seconds=(i * 7) % span)).isoformat()
            order = i % 3 == 0
            writer.writerow(
                [customers[i % len(customers)], ts, "order" if order else "login", f"big-{i}",
                 f"{(i % 97) * 10.5:.2f}" if order else ""]
            )  # fmt: skip


def _max_id(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())  # noqa: S608


def state_of(store: Store) -> dict[str, Any]:
    """Digests of `store`'s rows and its lake's tables (read here: no writer is running when it is called)."""
    return state(store.url, store.lake)


def _delta_versions(store: Store, table: str) -> int:
    return len(list((store.lake / table / "_delta_log").glob("*.json")))


def _kill_when(store: Store, args: list[str], probe: Callable[[], int], name: str) -> bool:
    """Start `churnradar ARGS`, SIGKILL it as soon as `probe()` grows; whether it was still running then.

    A command that finished first must have exited 0.
    """
    log = store.folder / f"{name}.log"
    before = probe()
    process = start(cli_args(*args), store, log)
    deadline = time.monotonic() + 240
    try:
        while process.poll() is None and probe() <= before:
            assert time.monotonic() < deadline, f"{name}: the moment never came"
            time.sleep(POLL)
        alive = process.poll() is None
    finally:
        kill9(process)
    if not alive:
        assert process.returncode == 0, f"{name}: {explain(process.returncode)}\n{log.read_text()[-4000:]}"
    return alive


def _one_of(state: dict[str, Any], old: dict[str, Any], new: dict[str, Any], when: str) -> str:
    """'old' or 'new', asserting that `state` is one of them (the snapshot of a killed evaluation aside)."""
    parts = [p for p in new if p != "snapshots"]
    if all(state[p] == old[p] for p in parts):
        assert state["snapshots"] in (old["snapshots"], new["snapshots"]), f"{when}: snapshots {state}"
        return "old"
    mixed = {p: (old[p], state[p], new[p]) for p in [*parts, "snapshots"] if state[p] != new[p]}
    assert not mixed, f"{when}: neither the old nor the new state; (old, found, new) by part: {mixed}"
    return "new"


def test_kill9_leaves_old_or_new_state_and_a_rerun_completes(new_store: StoreFactory, demo: Demo) -> None:
    reference, store = new_store("reference"), new_store("killed")
    big = store.folder.parent / "events-big.csv"
    _big_events(demo, big)
    importing = ["import", str(big), "--kind", "events", "--json"]
    evaluating = ["evaluate", "--as-of", AS_OF.isoformat(), "--force", "--json"]

    s0 = state_of(reference)
    churnradar(reference, *importing)
    s1 = state_of(reference)
    churnradar(reference, *evaluating)
    s2 = state_of(reference)
    assert s1["events"][0] == s0["events"][0] + BIG_ROWS
    assert s2["alerts"] != s1["alerts"] or s2["evaluations"] != s1["evaluations"]
    assert AS_OF.isoformat() in s2["snapshots"]

    engine = create_engine(store.url)  # this process only watches: the moments to kill at
    try:
        _kill_and_rerun(store, engine, importing, evaluating, (s0, s1, s2))
    finally:
        engine.dispose()


def _kill_and_rerun(
    store: Store, engine: Engine, importing: list[str], evaluating: list[str], states: tuple[Any, ...]
) -> None:
    s0, s1, s2 = states
    interrupted = []
    for name, probe in (
        ("import at its run row", lambda: _max_id(engine, "import_runs")),
        ("import at its lake commit", lambda: _delta_versions(store, "events")),
    ):
        interrupted.append(_kill_when(store, importing, probe, name))
        _one_of(state_of(store), s0, s1, f"after kill -9 of the {name}")
    churnradar(store, *importing)
    assert state_of(store) == s1, "the import rerun after kill -9 differs from an uninterrupted import"

    for _attempt in range(2):  # again if the evaluation got past its store commit before the kill
        caught = _kill_when(
            store, evaluating, lambda: _delta_versions(store, "indicator_snapshots"), "evaluate"
        )
        _one_of(state_of(store), s1, s2, "after kill -9 of the evaluation at its lake commit")
        if caught:
            break
    interrupted.append(caught)
    churnradar(store, *evaluating)
    assert state_of(store) == s2, "the evaluation rerun after kill -9 differs from an uninterrupted one"
    assert any(interrupted[:2]), f"no kill caught the import at work: {interrupted}"
    assert interrupted[2], "the evaluation ended before its kill: the test proved nothing about it"
