"""POST /api/v1/customers, /contracts, /invoices, /users: validated like files, scoped on what is stored."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.models import Contract, Customer
from tests.conftest import lake_invoices, snapshot
from tests.web.conftest import World, anonymous, bearer, token_for, world  # noqa: F401 - fixtures


@pytest.fixture
def post(anonymous: TestClient, token_for: Callable[..., str]) -> Callable[..., Any]:
    tokens: dict[str, dict[str, str]] = {}

    def send(login: str, kind: str, body: bytes | list[Any], content_type: str = "application/json") -> Any:
        if login not in tokens:
            tokens[login] = bearer(token_for(login, Scope.INGEST))
        data = json.dumps(body).encode() if isinstance(body, list) else body
        return anonymous.post(
            f"/api/v1/{kind}", content=data, headers={**tokens[login], "Content-Type": content_type}
        )

    return send


def names(seeded: World) -> dict[str, str | None]:
    with seeded.engine.connect() as conn:
        return {str(k): v for k, v in conn.execute(select(Customer.external_id, Customer.name))}


def test_customers_in_json_and_ndjson(world: World, post: Callable[..., Any]) -> None:
    response = post("director", "customers", [{"customer_id": "Z-001", "name": "新客户", "industry": "saas"}])
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 1
    body = b'{"customer_id": "Z-002", "name": "Second"}\n{"customer_id": "Z-001", "name": "Renamed"}\n'
    response = post("director", "customers", body, "application/x-ndjson")
    assert (response.json()["inserted"], response.json()["updated"]) == (1, 1)
    assert names(world)["Z-001"] == "Renamed"


def test_a_bad_customer_row_stores_nothing(world: World, post: Callable[..., Any]) -> None:
    before = snapshot(world.engine)
    response = post(
        "admin",
        "customers",
        [{"customer_id": "Z-1"}, {"name": "no id"}, {"customer_id": "Z-3", "signup_date": "soon"}],
    )
    assert response.status_code == 422
    errors = [(e["row"], e["column"]) for e in response.json()["summary"]["errors"]]
    assert errors == [(2, "customer_id"), (3, "signup_date")]
    assert snapshot(world.engine) == before


def test_a_rep_updates_own_customers_only_and_never_owner_or_team(
    world: World,
    post: Callable[..., Any],
) -> None:
    before = snapshot(world.engine)
    mine = post("rep_east", "customers", [{"customer_id": "E-001", "segment": "key"}])
    assert mine.status_code == 200, mine.text
    before = snapshot(world.engine)
    for record, message in [
        ({"customer_id": "W-001", "segment": "x"}, "unknown customer_id 'W-001'"),
        ({"customer_id": "NEW-9", "segment": "x"}, "unknown customer_id 'NEW-9'"),
        ({"customer_id": "E-001", "owner": "rep_east"}, "owner is set by admins and directors only"),
        ({"customer_id": "E-001", "TEAM": "West"}, "team is set by admins and directors only"),
    ]:
        response = post("rep_east", "customers", [record])
        assert response.status_code == 422, response.text
        assert [e["message"] for e in response.json()["summary"]["errors"]] == [message]
    assert snapshot(world.engine) == before


def test_contracts_scope_checks_the_customer_it_is_stored_for(
    world: World,
    post: Callable[..., Any],
) -> None:
    before = snapshot(world.engine)
    # K-W-001 is West's contract: moving it onto an East customer is refused, as is naming a West customer.
    moved = post(
        "rep_east",
        "contracts",
        [
            {
                "contract_id": "K-W-001",
                "customer_id": "E-001",
                "start_date": "2024-01-01",
                "end_date": "2025-01-01",
            }
        ],
    )
    assert moved.status_code == 422
    assert [e["message"] for e in moved.json()["summary"]["errors"]] == [
        "contract_id 'K-W-001' may not be changed by you"
    ]
    assert snapshot(world.engine) == before
    own = post(
        "rep_east",
        "contracts",
        [
            {
                "contract_id": "K-NEW",
                "customer_id": "E-001",
                "start_date": "2024-01-01",
                "end_date": "2026-01-01",
                "value": 10,
            }
        ],
    )
    assert own.status_code == 200, own.text
    with world.engine.connect() as conn:
        assert conn.execute(select(Contract.value).where(Contract.external_id == "K-NEW")).scalar_one() == 10


def test_invoices_scope_checks_the_stored_invoice_in_the_lake(
    world: World,
    post: Callable[..., Any],
) -> None:
    invoices = lake_invoices(world.engine)
    record = {"invoice_id": "INV-W-001-1", "customer_id": "E-001", "due_date": "2024-05-01", "amount": 1}
    response = post("rep_east", "invoices", [record])
    assert response.status_code == 422
    assert [e["message"] for e in response.json()["summary"]["errors"]] == [
        "invoice_id 'INV-W-001-1' may not be changed by you"
    ]
    assert lake_invoices(world.engine) == invoices
    ok = post("rep_east", "invoices", [record | {"invoice_id": "INV-E-NEW"}])
    assert ok.status_code == 200, ok.text
    assert len(lake_invoices(world.engine)) == len(invoices) + 1
    assert post("admin", "invoices", [record]).status_code == 200  # who sees everything may move it


def test_users_for_admins_only(world: World, post: Callable[..., Any]) -> None:
    user = [{"login": "new_rep", "role": "rep", "team": "East"}]
    assert post("director", "users/bulk", user).status_code == 403
    response = post("admin", "users/bulk", user)
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 1
