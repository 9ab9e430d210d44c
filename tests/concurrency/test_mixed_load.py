"""Server, worker, an import and an evaluate at once, API writes throughout: nothing acknowledged is lost, and
the store ends as the same work done one step after another leaves it.

The live store runs `churnradar serve --worker` while `churnradar import` loads the later events and
`churnradar evaluate` judges AS_OF (data strictly before it, so the import's later events cannot change what
it finds); meanwhile the API takes tags, notes and event batches, bounded in number. A second copy of the
same store gets the same work in sequence (the import, the API's events as a file, the evaluation). Then a
fresh process reads both: every acknowledged write is there, and customers, events and alerts count the same.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.conftest import AS_OF, END, Demo, StoreFactory
from tests.concurrency.procs import Store, churnradar, cli_args, finish, read_back, serving, start
from tests.concurrency.test_lost_writes import Expected, all_items

pytestmark = pytest.mark.concurrency
BATCHES = 10  # API event batches, one per round
EXTRA_ROUNDS = 30  # tag-only rounds at most while the import or the evaluation still runs
PAUSE = 0.3


def quiet_worker() -> dict[str, str]:
    """Settings under which the worker's daily evaluation (and retraining) is not due during the test.

    It evaluates "today" once the local time passes EVALUATE_AT, which would judge a date the test does not
    control (and forbid AS_OF after it). 23:59:59 in a zone where it is now morning or afternoon.
    """
    hour = datetime.now(UTC).hour
    zone = "UTC"
    if hour >= 20:
        shift = (8 - hour) % 24  # local hour 8; "Etc/GMT-X" is UTC+X
        zone = f"Etc/GMT-{shift}"
    # Nor its weekly retraining, which on its weekday (Monday) it would make up first, whatever the hour.
    retrain = "59 23 31 12 *"
    return {
        "CHURNRADAR_WORKER__EVALUATE_AT": "23:59:59",
        "CHURNRADAR_WORKER__RETRAIN_SCHEDULE": retrain,
        "CHURNRADAR_TIMEZONE": zone,
    }


def _customers(demo: Demo) -> list[str]:
    with (demo.base / "customers.csv").open(newline="") as rows:
        return [row["customer_id"] for row in csv.DictReader(rows) if row["status"] == "active"]


def _event_batches(customers: list[str]) -> list[list[dict[str, str]]]:
    """The API's event batches, fixed in advance so that the sequential run can load the same rows."""
    return [
        [
            {
                "customer_id": customers[(11 * b + 5 * j) % len(customers)],
                "ts": f"{END.isoformat()}T{8 + j:02d}:{b:02d}:00",
                "kind": "login",
                "event_id": f"cc-mixed-{b}-{j}",
                "channel": "web",
            }
            for j in range(6)
        ]
        for b in range(BATCHES)
    ]


def _sequential(store: Store, demo: Demo, api_events: Path, out: dict[str, Any]) -> None:
    """The same work, one step after another, in the reference store."""
    try:
        churnradar(store, "import", str(demo.late_events), "--kind", "events", "--json")
        churnradar(store, "import", str(api_events), "--kind", "events", "--json")
        churnradar(store, "evaluate", "--as-of", AS_OF.isoformat(), "--force", "--json")
        out["seen"] = read_back(store)
    except BaseException as exc:  # reported by the test's thread
        out["error"] = exc


def _finished(process: subprocess.Popen[bytes], folder: Path, name: str) -> dict[str, Any]:
    """The --json document of a background command, after checking that it exited 0."""
    finish(process, folder / f"{name}.log", f"churnradar {name}", timeout=240)
    return json.loads((folder / f"{name}.json").read_text())  # type: ignore[no-any-return]


def test_concurrent_work_matches_sequential(new_store: StoreFactory, demo: Demo) -> None:
    live, reference = new_store("live"), new_store("reference")
    customers = _customers(demo)
    batches = _event_batches(customers)
    api_events = reference.folder / "api-events.csv"
    with api_events.open("w", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(batches[0][0]))
        writer.writeheader()
        for batch in batches:
            writer.writerows(batch)
    done: dict[str, Any] = {}
    sequential = threading.Thread(target=_sequential, args=(reference, demo, api_events, done))
    sequential.start()

    expected = Expected()
    overlapped = {"import": 0, "evaluate": 0}
    served = dataclasses.replace(live, env=live.env | quiet_worker())
    with serving(served, worker=True) as server, server.api() as api:
        noted = sorted({t["customer_id"] for t in all_items(api, "/tasks", status="open")})
        assert noted, "no open task in the template: nothing to note on"
        commands = {
            "import": ["import", str(demo.late_events), "--kind", "events"],
            "evaluate": ["evaluate", "--as-of", AS_OF.isoformat(), "--force"],
        }
        work = {
            name: start(
                cli_args(*args, "--json"), live, live.folder / f"{name}.log", out=live.folder / f"{name}.json"
            )
            for name, args in commands.items()
        }
        for n in range(BATCHES + EXTRA_ROUNDS):
            running = [name for name, process in work.items() if process.poll() is None]
            if n >= BATCHES and not running:
                break
            customer = customers[(13 * n) % len(customers)]
            answer = api.post(f"/customers/{customer}/tags", json={"tag": f"cc-mixed-{n}"})
            assert answer.status_code == 200, answer.text
            expected.tags.setdefault(customer, set()).add(f"cc-mixed-{n}")
            answer = api.post(f"/customers/{noted[n % len(noted)]}/notes", json={"text": f"mixed note {n}"})
            assert answer.status_code == 204, answer.text
            expected.notes.append(f"mixed note {n}")
            if n < BATCHES:
                answer = api.post("/events", json=batches[n])
                assert answer.status_code == 200, answer.text
                assert answer.json()["status"] == "succeeded", answer.text
                expected.events += [f"{e['customer_id']}|id:{e['event_id']}" for e in batches[n]]
            for name in running:
                overlapped[name] += work[name].poll() is None  # still running after the writes were answered
            server.assert_alive()
            time.sleep(PAUSE)
        imported = _finished(work["import"], live.folder, "import")
        evaluated = _finished(work["evaluate"], live.folder, "evaluate")
        expected.check(read_back(live), "live store, server and worker running")
        assert server.not_2xx() == []
    sequential.join(timeout=600)
    assert not sequential.is_alive(), "the sequential run did not finish"
    if "error" in done:
        raise done["error"]

    assert imported["ok"], imported
    assert evaluated["as_of"] == AS_OF.isoformat(), evaluated
    assert all(overlapped.values()), f"no write overlapped the work: {overlapped}"
    seen, alone = read_back(live), done["seen"]
    expected.check(seen, "live store, everything stopped")
    for key in ("customers", "events", "alerts", "keyed_events"):
        assert seen[key] == alone[key], f"{key}: concurrent {seen[key]} != sequential {alone[key]}"
    assert seen["runs"].get("succeeded") == alone["runs"].get("succeeded"), (seen["runs"], alone["runs"])
    assert alone["alert_count"] > 0, "the evaluation raised no alert: the comparison would prove little"
