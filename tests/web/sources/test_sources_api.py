"""/api/v1/sources: admins' tokens only; secrets go in once and come back as "set"; sync and test."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnradar.auth.schemas import Scope
from churnradar.models import Customer
from tests.web.conftest import World, anonymous, bearer, token_for, world  # noqa: F401 - fixtures


@pytest.fixture
def call(anonymous: TestClient, token_for: Callable[..., str]) -> Callable[..., Any]:
    def send(login: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = bearer(token_for(login, Scope.ADMIN, Scope.READ, Scope.INGEST))
        return anonymous.request(method, f"/api/v1/sources{path}", headers=headers, **kwargs)

    return send


def test_define_list_test_sync_delete(world: World, call: Callable[..., Any], tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,name\nAPI-1,From the folder\n")
    definition = {
        "name": "drop",
        "kind": "folder",
        "options": {"path": str(folder)},
        "schedule": "*/15 * * * *",
    }
    assert call("director", "PUT", "/drop", json=definition).status_code == 403
    saved = call("admin", "PUT", "/drop", json=definition)
    assert saved.status_code == 200, saved.text
    assert saved.json()["schedule"] == "*/15 * * * *"
    assert call("admin", "POST", "/drop/test").json() == {
        "ok": True,
        "found": "folder readable; 1 importable file(s)",
    }
    synced = call("admin", "POST", "/drop/sync")
    assert synced.status_code == 200, synced.text
    assert synced.json()["status"] == "succeeded"
    with world.engine.connect() as conn:
        assert conn.execute(select(Customer.name).where(Customer.external_id == "API-1")).scalar_one() == (
            "From the folder"
        )
    listed = call("admin", "GET", "").json()
    assert [(s["name"], s["last_status"]) for s in listed] == [("drop", "succeeded")]
    assert call("admin", "DELETE", "/drop").status_code == 204
    assert call("admin", "POST", "/drop/sync").status_code == 404


def test_secrets_are_write_only(world: World, call: Callable[..., Any]) -> None:
    definition = {
        "name": "crm",
        "kind": "sql",
        "options": {"queries": {"customers": "SELECT 1 AS customer_id"}},
        "secrets": {"url": "postgresql://u:pa55word@127.0.0.1:9/crm"},
    }
    saved = call("admin", "PUT", "/crm", json=definition)
    assert saved.status_code == 200, saved.text
    assert saved.json()["secrets"] == {"url": "set"}
    assert "pa55word" not in saved.text
    assert "pa55word" not in call("admin", "GET", "").text
    failed = call("admin", "POST", "/crm/test").json()
    assert failed["ok"] is False
    assert failed["error"].startswith("source crm: ")
    assert "pa55word" not in failed["error"]
    bad = call("admin", "PUT", "/crm", json={**definition, "kind": "ftp"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "source crm: unknown connector kind 'ftp' (known: folder, rest, sql)"
