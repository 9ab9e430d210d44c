"""/admin/sources: admins see each source (secrets as "set") and sync one now; others are refused."""

# ruff: noqa: F811 - pytest fixtures imported by name

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

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


def _rest_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "kind": "rest",
        "original": "",
        "name": "crm-api",
        "schedule": "0 6 * * 1-5",
        "enabled": "on",
        "options.base_url": "http://127.0.0.1:9",
        "options.auth": "bearer",
        "secrets.token": "tok-very-secret",
        "options.pagination.style": "page",
        "options.endpoints.customers.path": "/customers",
        "options.endpoints.customers.records": "data.items",
    }
    return form | changes


def _audit(world: World) -> list[str]:
    with world.engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(text("SELECT action FROM audit_log WHERE entity = 'source' ORDER BY id"))
        ]


def test_the_form_locates_each_problem_and_keeps_secrets_write_only(
    world: World, client_for: Callable[[str], TestClient]
) -> None:
    admin = client_for("admin")
    blank = admin.get("/admin/sources/new?kind=rest")
    assert blank.status_code == 200
    assert 'name="options.endpoints.events.since_param"' in blank.text
    csrf = csrf_of(blank.text)

    bad = _rest_form(
        csrf,
        name="Bad Name!",
        schedule="61 * * * *",
        mapping="columns: [",
        **{
            "options.base_url": "ftp://crm.example",
            "options.pagination.size": "many",
            "options.endpoints.events.records": "data.items",  # an endpoint without its path
        },
    )
    refused = admin.post("/admin/sources", data=bad)
    assert refused.status_code == 422
    for field in ("name", "schedule", "mapping", "options-base_url", "options-pagination-size"):
        assert f'id="error-{field}"' in refused.text, field
    assert 'id="error-options-endpoints-events-path"' in refused.text
    assert 'value="ftp://crm.example"' in refused.text  # what was typed comes back to be corrected
    assert "tok-very-secret" not in refused.text  # a secret never does
    assert service.list_sources(world.engine) == []

    no_token = admin.post("/admin/sources", data=_rest_form(csrf, **{"secrets.token": ""}))
    assert no_token.status_code == 422
    assert 'id="error-secrets-token"' in no_token.text

    saved = admin.post("/admin/sources", data=_rest_form(csrf), follow_redirects=False)
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"])
    assert "tok-very-secret" not in page.text
    assert 'class="muted secret-set"' in page.text
    assert page.text.count("<li>") >= 5  # the next runs of 0 6 * * 1-5

    changed = _rest_form(csrf, original="crm-api", **{"secrets.token": "", "options.pagination.size": "50"})
    assert admin.post("/admin/sources", data=changed, follow_redirects=False).status_code == 303
    view = service.get_source(world.engine, "crm-api")
    assert view.secrets == {"token": "set"}  # left blank: kept
    assert view.options["pagination"] == {"style": "page", "size": 50}
    assert view.options["endpoints"] == {"customers": {"path": "/customers", "records": "data.items"}}

    again = admin.post("/admin/sources", data=_rest_form(csrf))  # "new" with a name already taken
    assert again.status_code == 422
    assert 'id="error-name"' in again.text

    kept = admin.post("/admin/sources/crm-api/delete", data={"csrf_token": csrf})
    assert "Tick the box" in kept.text
    gone = admin.post("/admin/sources/crm-api/delete", data={"csrf_token": csrf, "confirm": "yes"})
    assert gone.status_code == 200
    assert service.list_sources(world.engine) == []
    assert _audit(world) == ["source.create", "source.update", "source.delete"]

    preview = admin.get("/admin/sources/schedule", params={"schedule": "not cron"})
    assert 'id="schedule-error"' in preview.text
    assert client_for("director").get("/admin/sources/new?kind=sql").status_code == 403
