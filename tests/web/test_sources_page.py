"""/admin/sources: admins see each source (secrets as "set") and sync one now; others are refused."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from churnradar.source import service
from churnradar.source.schemas import SourceDefinition
from tests.web.conftest import World, client_for, csrf_of, world  # noqa: F401 - fixtures


def test_admins_see_sources_and_sync_one_now(
    world: World, client_for: Callable[[str], TestClient], tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,name\nPAGE-1,From the page\n")
    definition = {"name": "drop", "kind": "folder", "options": {"path": str(folder)}}
    service.save_source(world.engine, SourceDefinition.model_validate(definition), settings=world.settings)
    crm = {
        "name": "crm",
        "kind": "sql",
        "options": {"queries": {"customers": "SELECT 1"}},
        "secrets": {"url": "postgresql://u:hunter22@127.0.0.1:9/crm"},
    }
    service.save_source(world.engine, SourceDefinition.model_validate(crm), settings=world.settings)

    admin = client_for("admin")
    page = admin.get("/admin/sources")
    assert page.status_code == 200
    assert "drop" in page.text
    assert "hunter22" not in page.text
    synced = admin.post("/admin/sources/drop/sync", data={"csrf_token": csrf_of(page.text)})
    assert synced.status_code == 200
    assert "Synced drop: 1 rows read, 1 inserted, 0 updated." in synced.text
    failed = admin.post("/admin/sources/crm/sync", data={"csrf_token": csrf_of(page.text)})
    assert "The sync of crm failed: source crm, customers:" in failed.text
    assert "hunter22" not in failed.text
    assert client_for("director").get("/admin/sources").status_code == 403
