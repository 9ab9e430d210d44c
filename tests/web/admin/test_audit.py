"""The audit log: exports are audited, and admins read it all through `GET /api/v1/audit`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth import repository as auth_repo
from churnradar.auth.schemas import Scope
from churnradar.db import session_scope
from churnradar.models import AuditEntry
from tests.web.conftest import World, bearer


def _entries(world: World, action: str) -> list[tuple[str, str, str | None, dict[str, object] | None]]:
    query = (
        select(AuditEntry.actor, AuditEntry.entity, AuditEntry.source, AuditEntry.details)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id)
    )
    with world.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def test_every_export_is_audited_with_who_what_and_the_filters(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    manager = client_for("mgr_east")
    for path in ("/risk/export.csv", "/risk/export.xlsx", "/customers/export.csv", "/customers/export.xlsx"):
        assert manager.get(path, params={"segment": "SMB"}).status_code == 200, path
    assert manager.get("/rules/export.yaml").status_code == 200
    source = "web:testclient"
    assert _entries(world, "export") == [
        ("mgr_east", "risk_list", source, {"format": "csv", "segment": "SMB"}),
        ("mgr_east", "risk_list", source, {"format": "xlsx", "segment": "SMB"}),
        ("mgr_east", "customers", source, {"format": "csv", "segment": "SMB"}),
        ("mgr_east", "customers", source, {"format": "xlsx", "segment": "SMB"}),
        ("mgr_east", "rules", source, {"format": "yaml"}),
    ]


def _add(world: World, at: datetime, actor: str, action: str) -> None:
    with session_scope(world.engine) as session:
        auth_repo.add_audit(
            session,
            at=at,
            actor_id=None,
            actor=actor,
            action=action,
            entity="thing",
            entity_id=None,
            details=None,
            source="cli:ops",
        )


class TestAuditApi:
    def test_only_an_admins_token_with_the_admin_scope_reads_it(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        assert anonymous.get("/api/v1/audit").status_code == 401
        for login, scopes in (("admin", (Scope.READ,)), ("director", (Scope.READ, Scope.ADMIN))):
            headers = bearer(token_for(login, *scopes))
            assert anonymous.get("/api/v1/audit", headers=headers).status_code == 403, login

    def test_pages_and_filters(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        for day in range(1, 6):
            _add(world, datetime(2026, 3, day, 10), "ops" if day % 2 else "Ann", "import")
        _add(world, datetime(2026, 3, 3, 23, 59), "ann", "export")

        def get(**params: object) -> dict[str, object]:
            response = anonymous.get("/api/v1/audit", params=params, headers=admin)
            assert response.status_code == 200, response.text
            body: dict[str, object] = response.json()
            return body

        first = get(action="import", per_page=2)
        assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
        items = first["items"]
        assert isinstance(items, list)
        assert [i["at"][:10] for i in items] == ["2026-03-05", "2026-03-04"]  # newest first
        assert items[0]["source"] == "cli:ops"
        third = get(action="import", per_page=2, page=3)
        assert [i["at"][:10] for i in third["items"]] == ["2026-03-01"]  # type: ignore[attr-defined]
        by_ann = get(actor="ANN")
        assert [(i["action"], i["at"][:10]) for i in by_ann["items"]] == [  # type: ignore[attr-defined]
            ("import", "2026-03-04"),
            ("export", "2026-03-03"),
            ("import", "2026-03-02"),
        ]
        days = get(since="2026-03-02", until="2026-03-03")
        assert days["total"] == 3  # the whole last day counts
        assert get(action="nothing")["total"] == 0

    def test_page_size_and_filters_are_bounded(
        self, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        for params in (
            {"per_page": 201},
            {"per_page": 0},
            {"page": 0},
            {"actor": "x" * 201},
            {"since": "soon"},
        ):
            assert anonymous.get("/api/v1/audit", params=params, headers=admin).status_code == 422, params

    def test_api_changes_say_where_they_came_from(
        self, world: World, anonymous: TestClient, token_for: Callable[..., str]
    ) -> None:
        admin = bearer(token_for("admin", Scope.READ, Scope.ADMIN))
        body = {"login": "rep_api", "role": "rep", "password": "a long password"}
        assert anonymous.post("/api/v1/users", json=body, headers=admin).status_code == 201
        entries = anonymous.get("/api/v1/audit", params={"action": "create", "entity": "user"}, headers=admin)
        (entry,) = entries.json()["items"]
        assert (entry["actor"], entry["entity_id"], entry["source"]) == ("admin", "rep_api", "api:testclient")
        assert "a long password" not in entries.text
