"""Issue #14's lost writes as a user would meet them: no acknowledged write may vanish, the store stays whole.

The real server runs in a subprocess. Each round: the rules editor's "Test on history" (a history replay
inside the server), `churnradar data-health` in another process (it opens and closes the store), then owner
changes, tags, notes and events through /api/v1; then a fresh process reads every write acknowledged so far,
and on SQLite `PRAGMA integrity_check` must say ok. Before the lake, the replay's DuckDB attached the SQLite
file inside the server, the other process deleted the WAL, and the writes that followed were answered
"assigned" and lost ("disk I/O error", "database disk image is malformed" after).
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

import httpx2
import pytest

from tests.concurrency.conftest import ADMIN, AS_OF, END, Demo, StoreFactory
from tests.concurrency.procs import Server, Store, churnradar_json, csrf_of, read_back, serving

pytestmark = pytest.mark.concurrency
ROUNDS = 2
WRITES_PER_ROUND = 4
DRAFT = "days_since_last_login > 20 AND orders_30d < 1"


class Expected:
    """The writes the server acknowledged, to be found by every later reader."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.tags: dict[str, set[str]] = {}
        self.notes: list[str] = []
        self.events: list[str] = []

    def check(self, seen: dict[str, Any], when: str) -> None:
        lost_owners = {c: o for c, o in self.owners.items() if seen["owners"].get(c) != o}
        lost_tags = {c: t - set(seen["tags"].get(c, [])) for c, t in self.tags.items()}
        lost_notes = sorted(set(self.notes) - set(seen["notes"]))
        lost_events = sorted(set(self.events) - set(seen["keyed_events"]))
        assert not lost_owners, f"{when}: owner changes answered by the server but not stored: {lost_owners}"
        assert not any(lost_tags.values()), f"{when}: tags lost: {lost_tags}"
        assert not lost_notes, f"{when}: notes lost: {lost_notes}"
        assert not lost_events, f"{when}: events acknowledged by the API but not in the lake: {lost_events}"
        assert seen["integrity"] == ["ok"], f"{when}: PRAGMA integrity_check: {seen['integrity']}"


def all_items(api: httpx2.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged API list."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = api.get(path, params={**params, "page": page, "per_page": 500})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


def _try_on_history(server: Server, browser: httpx2.Client, rule_id: str) -> None:
    """The rules editor's "Test on history": the draft's backtest, replayed inside the server."""
    page = browser.get(f"/rules/{rule_id}")
    answer = browser.post(
        f"/rules/{rule_id}/test", data={"condition": DRAFT, "level": "orange", "csrf_token": csrf_of(page)}
    )
    assert answer.status_code == 200, answer.text[:2000]
    assert 'id="try-figures"' in answer.text, f"no replay figures in the answer:\n{answer.text[:2000]}"
    server.assert_alive()


def _writes(api: httpx2.Client, expected: Expected, customers: list[str], noted: list[str], demo: Demo,
            round_no: int) -> None:  # fmt: skip
    for i in range(WRITES_PER_ROUND):
        n = round_no * WRITES_PER_ROUND + i
        customer = customers[(7 * n) % len(customers)]
        owner = demo.reps[n % len(demo.reps)]
        answer = api.post(f"/customers/{customer}/owner", json={"owner": owner})
        assert answer.status_code == 200, answer.text
        expected.owners[customer] = owner
        tag = f"cc-{n}"
        answer = api.post(f"/customers/{customer}/tags", json={"tag": tag})
        assert answer.status_code == 200, answer.text
        assert tag in answer.json()["tags"]
        expected.tags.setdefault(customer, set()).add(tag)
        if noted:
            note = f"concurrency note {n}"
            answer = api.post(f"/customers/{noted[n % len(noted)]}/notes", json={"text": note})
            assert answer.status_code == 204, answer.text
            expected.notes.append(note)
    events = [
        {"customer_id": customers[(3 * (round_no * 5 + j)) % len(customers)], "ts": f"{END}T1{j}:00:00",
         "kind": "login", "event_id": f"cc-{round_no}-{j}", "channel": "web"}
        for j in range(5)
    ]  # fmt: skip
    answer = api.post("/events", json=events)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded", answer.text
    expected.events += [f"{e['customer_id']}|id:{e['event_id']}" for e in events]


def _round_trip(store: Store, demo: Demo) -> None:
    expected = Expected()
    with serving(store) as server, server.api() as api, closing(server.signed_in(ADMIN)) as browser:
        customers = [c["customer_id"] for c in all_items(api, "/customers", status="active")]
        assert len(customers) > 50
        noted = sorted({t["customer_id"] for t in all_items(api, "/tasks", status="open")})
        rule_id = all_items(api, "/rules")[0]["id"]
        for round_no in range(ROUNDS):
            _try_on_history(server, browser, rule_id)
            health = churnradar_json(store, "data-health", "--as-of", AS_OF.isoformat())
            assert health["feeds"], health
            _writes(api, expected, customers, noted, demo, round_no)
            expected.check(read_back(store), f"round {round_no + 1}, server running")
        assert server.not_2xx() == []
    expected.check(read_back(store), "after the server stopped")
    assert expected.notes, "no customer had a task to note on: the template's evaluation raised nothing"


def test_acknowledged_writes_are_never_lost(new_store: StoreFactory, demo: Demo) -> None:
    _round_trip(new_store("store"), demo)
