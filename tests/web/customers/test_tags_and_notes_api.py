"""REST API for tags and notes on a customer: write scope, row-level access, audit, shown on the 360 page."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.models import AuditEntry
from tests.web.conftest import World, bearer
from tests.web.seed_tasks import seed_tasks


def test_tags_round_trip_with_audit_and_scope(
    world: World, anonymous: TestClient, token_for: Callable[..., str]
) -> None:
    reader = bearer(token_for("rep_east", Scope.READ))
    writer = bearer(token_for("rep_east", Scope.READ, Scope.WRITE))
    url = "/api/v1/customers/E-001/tags"
    assert anonymous.get(url, headers=reader).json() == {"tags": []}
    assert anonymous.post(url, json={"tag": "VIP 重点"}, headers=reader).status_code == 403
    added = anonymous.post(url, json={"tag": "VIP 重点"}, headers=writer)
    assert added.status_code == 200, added.text
    assert added.json() == {"tags": ["VIP 重点"]}
    assert anonymous.post(url, json={"tag": ""}, headers=writer).status_code == 422
    assert anonymous.post(url, json={"tag": "x" * 101}, headers=writer).status_code == 422
    removed = anonymous.delete(url, params={"tag": "VIP 重点"}, headers=writer)
    assert removed.json() == {"tags": []}
    with world.engine.connect() as conn:
        actions = conn.scalars(select(AuditEntry.action).where(AuditEntry.actor == "rep_east")).all()
    assert actions.count("customer.tag") == 1
    assert actions.count("customer.untag") == 1


def test_another_teams_customer_is_not_there(
    world: World, anonymous: TestClient, token_for: Callable[..., str]
) -> None:
    writer = bearer(token_for("rep_east", Scope.READ, Scope.WRITE))
    for foreign in ("W-001", "N-001"):
        base = f"/api/v1/customers/{foreign}"
        assert anonymous.get(f"{base}/tags", headers=writer).status_code == 404
        assert anonymous.post(f"{base}/tags", json={"tag": "x"}, headers=writer).status_code == 404
        assert anonymous.delete(f"{base}/tags", params={"tag": "x"}, headers=writer).status_code == 404
        assert anonymous.post(f"{base}/notes", json={"text": "x"}, headers=writer).status_code == 404
    admin = bearer(token_for("admin"))
    assert anonymous.get("/api/v1/customers/W-001/tags", headers=admin).json() == {"tags": []}


def test_a_note_lands_on_the_customer_page(
    world: World,
    anonymous: TestClient,
    token_for: Callable[..., str],
    client_for: Callable[[str], TestClient],
) -> None:
    writer = bearer(token_for("rep_east", Scope.READ, Scope.WRITE))
    no_task = anonymous.post("/api/v1/customers/E-001/notes", json={"text": "Called"}, headers=writer)
    assert no_task.status_code == 422
    assert "no task yet" in no_task.json()["detail"]
    seed_tasks(world.engine, world.settings)
    text = "Buyer on leave until the 5th; call again then"
    noted = anonymous.post("/api/v1/customers/E-001/notes", json={"text": text}, headers=writer)
    assert noted.status_code == 204, noted.text
    page = client_for("rep_east").get(f"/customers/{world.ids.customers['E-001']}").text
    assert text in page
