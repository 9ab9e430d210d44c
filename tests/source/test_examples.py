"""examples/sources: the PostgreSQL CRM schema and its source, the REST CRM definition, the GB18030 ERP
export folder with Chinese headers: each is valid and the runnable ones sync."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.source import service
from tests.conftest import lake_events
from tests.source.conftest import customers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sources"


def _definition(name: str, tmp_path: Path, **options: str) -> Path:
    raw = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    raw["sources"][0]["options"].update(options)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_erp_export_folder_syncs_with_its_chinese_headers(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = _definition("erp_export.yaml", tmp_path, path=str(EXAMPLES / "erp_export"))
    for definition in service.load_definitions(path):
        service.save_source(engine, definition, settings=settings)
    summary = service.sync_source(engine, "erp", settings=settings)
    assert summary.ok, summary
    assert customers(engine) == {"K-001": "华新机械", "K-002": "东方电气"}
    assert sorted(e[2] for e in lake_events(engine)) == ["complaint", "order", "return"]
    assert summary.totals()["inserted"] == 6


def test_the_rest_crm_definition_is_valid(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_CLIENT_ID", "id")
    monkeypatch.setenv("CRM_CLIENT_SECRET", "secret")
    (definition,) = service.load_definitions(EXAMPLES / "rest_crm.yaml")
    view = service.save_source(engine, definition, settings=settings)
    assert view.secrets == {"client_id": "set", "client_secret": "set"}


def test_the_postgres_crm_schema_and_source_sync(
    engine: Engine, settings: Settings, crm_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = (EXAMPLES / "crm_postgres.sql").read_text(encoding="utf-8")
    script = script.split("-- A read-only login")[0] + script.split("TO churnradar_reader;")[1]  # no roles
    crm = create_engine(crm_url)
    with crm.begin() as conn:
        conn.exec_driver_sql(script)
    crm.dispose()
    monkeypatch.setenv("CRM_DATABASE_URL", crm_url)
    (definition,) = service.load_definitions(EXAMPLES / "crm_postgres.yaml")
    service.save_source(engine, definition, settings=settings)
    summary = service.sync_source(engine, "crm", settings=settings)
    assert summary.ok, summary
    assert [(k.kind.value, k.inserted) for k in summary.kinds] == [
        ("customers", 2),
        ("events", 2),
        ("contracts", 1),
    ]
    assert customers(engine) == {"A-1001": "华新机械", "A-1002": "Northwind Traders"}
