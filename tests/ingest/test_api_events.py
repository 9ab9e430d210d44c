"""POST /api/v1/events on the lake: scope by the importer's own columns, identity by customer, bad JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from churnradar.auth.schemas import Scope
from tests.conftest import snapshot
from tests.ingest.lake import stored_events
from tests.web.conftest import World, anonymous, bearer, seeded_stores, token_for, world  # noqa: F401 - fixtures


@pytest.fixture
def post(anonymous: TestClient, token_for: Callable[..., str]) -> Callable[..., Any]:  # noqa: F811
    tokens: dict[str, dict[str, str]] = {}

    def send(login: str, body: bytes | list[Any], content_type: str = "application/json") -> Any:
        if login not in tokens:
            tokens[login] = bearer(token_for(login, Scope.INGEST))
        data = json.dumps(body).encode() if isinstance(body, list) else body
        return anonymous.post(
            "/api/v1/events", content=data, headers={**tokens[login], "Content-Type": content_type}
        )

    return send


@pytest.mark.parametrize("key", ["CUSTOMER_ID", "Customer_Id", " customer_id", "customer_id "])
def test_a_customer_id_spelled_otherwise_is_still_checked_for_scope(
    world: World,  # noqa: F811
    post: Callable[..., Any],
    key: str,
) -> None:
    before = snapshot(world.engine)
    response = post("rep_east", [{key: "W-001", "ts": "2024-06-01", "kind": "login"}])
    assert response.status_code == 422, response.text
    errors = response.json()["summary"]["errors"]
    assert [(e["row"], e["column"], e["message"]) for e in errors] == [
        (1, "customer_id", "unknown customer_id 'W-001'")
    ]
    assert snapshot(world.engine) == before


def test_two_spellings_of_one_column_in_a_record_are_refused(
    world: World,  # noqa: F811
    post: Callable[..., Any],
) -> None:
    before = snapshot(world.engine)
    record = {"customer_id": "E-001", "CUSTOMER_ID": "W-001", "ts": "2024-06-01", "kind": "login"}
    response = post("rep_east", [record])
    assert response.status_code == 400
    assert "names column 'customer_id' more than once" in response.json()["detail"]
    assert snapshot(world.engine) == before


def test_another_customers_event_id_makes_a_new_event_on_the_callers_customer(
    world: World,  # noqa: F811
    post: Callable[..., Any],
) -> None:
    events = stored_events(world.engine)
    west = world.ids.customers["W-001"]
    theirs = events[(events.customer_id == west) & (events.event_key == "id:W-001-0")]
    assert len(theirs) == 1  # seeded: an order of W-001, id W-001-0
    record = {"customer_id": "E-001", "ts": "2025-01-01T00:00:00Z", "kind": "order", "event_id": "W-001-0"}
    response = post("rep_east", [{**record, "amount": 1}])
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (1, 0)
    after = stored_events(world.engine)
    still = after[(after.customer_id == west) & (after.event_key == "id:W-001-0")]
    assert still.drop(columns="import_id").equals(theirs.drop(columns="import_id"))
    mine = after[(after.customer_id == world.ids.customers["E-001"]) & (after.event_key == "id:W-001-0")]
    assert list(mine.amount) == [1.0]
    assert len(after) == len(events) + 1


@pytest.mark.parametrize("ts", ["0000-01-01", "1969-12-31T23:59:59Z", "2101-01-01", "20240-01-01"])
def test_times_outside_1970_to_2100_are_refused(
    world: World,  # noqa: F811
    post: Callable[..., Any],
    ts: str,
) -> None:
    before = snapshot(world.engine)
    response = post("admin", [{"customer_id": "E-001", "ts": ts, "kind": "login"}])
    assert response.status_code == 422, response.text
    (error,) = response.json()["summary"]["errors"]
    assert (error["row"], error["column"]) == (1, "ts")
    assert "outside 1970-01-01 .. 2100-12-31" in error["message"] or "is not an ISO 8601" in error["message"]
    assert snapshot(world.engine) == before


def test_deeply_nested_json_is_a_clear_400(world: World, post: Callable[..., Any]) -> None:  # noqa: F811
    body = b"[" * 100_000 + b"]" * 100_000
    response = post("admin", body)
    assert response.status_code == 400
    assert "nests too deeply" in response.json()["detail"]


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_amount_is_refused_not_stored_as_null(
    world: World,  # noqa: F811
    post: Callable[..., Any],
    amount: str,
) -> None:
    before = snapshot(world.engine)
    body = (
        b'[{"customer_id": "E-001", "ts": "2024-06-01", "kind": "order", "amount": ' + amount.encode() + b"}]"
    )
    response = post("admin", body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["summary"]["errors"]
    assert (error["row"], error["column"]) == (1, "amount")
    assert "is not a number" in error["message"]
    assert snapshot(world.engine) == before


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2]])
def test_nested_attribute_values_are_refused_with_their_place(
    world: World,  # noqa: F811
    post: Callable[..., Any],
    value: Any,
) -> None:
    before = snapshot(world.engine)
    records = [
        {"customer_id": "E-001", "ts": "2024-06-01", "kind": "login"},
        {"customer_id": "E-001", "ts": "2024-06-02", "kind": "login", "device": value},
    ]
    response = post("admin", records)
    assert response.status_code == 422, response.text
    (error,) = response.json()["summary"]["errors"]
    assert (error["row"], error["column"]) == (2, "device")
    assert "nested value" in error["message"]
    assert snapshot(world.engine) == before
