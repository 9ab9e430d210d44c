"""Defining sources: YAML with env: secrets, secrets sealed at rest and shown as "set", audit without
values, bad definitions named by key, schedules due by cron, and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.source import service
from churnradar.source.exceptions import SecretsUnreadableError, SourceDefinitionError
from churnradar.store import migrate
from tests.source.conftest import save
from tests.source.crm_api import TOKEN, CrmApi

YAML = """
sources:
  - name: crm
    kind: rest
    schedule: "30 6 * * *"
    options:
      base_url: {url}
      auth: bearer
      pagination: {{style: page, size: 2}}
      endpoints:
        customers: {{path: /customers, records: data.items, cursor: updated_at, since_param: updated_since}}
    secrets: {{token: "env:CRM_TOKEN"}}
    mapping: {{customers: {{columns: {{id: customer_id, company: name}}}}}}
"""


def test_yaml_secrets_are_sealed_shown_as_set_and_audited_by_name(
    engine: Engine, settings: Settings, api: CrmApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.auth = "bearer"
    path = tmp_path / "sources.yaml"
    path.write_text(YAML.format(url=api.url), encoding="utf-8")
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    (definition,) = service.load_definitions(path)
    view = service.save_source(engine, definition, settings=settings)
    assert view.secrets == {"token": "set"}
    assert TOKEN not in view.model_dump_json()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secrets, config FROM sources")).one()
        audit = conn.execute(text("SELECT action, details FROM audit_log")).all()
    assert TOKEN not in str(stored)
    assert [a[0] for a in audit] == ["source.create"]
    assert TOKEN not in str(audit)
    assert service.sync_source(engine, "crm", settings=settings).ok

    # Saving again without secrets keeps the stored ones.
    save(engine, settings, **definition.model_dump(exclude={"secrets"}))
    assert service.sync_source(engine, "crm", settings=settings, full=True).ok

    # Another key cannot read them, and says so instead of sending garbage.
    other = Settings(environment="test", secret_key="y" * 32)  # type: ignore[arg-type]
    with pytest.raises(SecretsUnreadableError, match="source crm: its stored secrets cannot be decrypted"):
        service.test_source(engine, "crm", settings=other, actor=None)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"name": "x", "kind": "ftp"}, "source x: unknown connector kind 'ftp' (known: folder, rest, sql)"),
        (
            {"name": "x", "kind": "sql", "options": {"queries": {"customers": "SELECT 1"}}},
            "the secret(s) ['url']",
        ),
        (
            {"name": "x", "kind": "rest", "options": {"base_url": "ftp://h", "endpoints": {}}},
            "source x: options: base_url:",
        ),
        (
            {
                "name": "x",
                "kind": "rest",
                "options": {"base_url": "http://h", "auth": "basic", "endpoints": {}},
            },
            "source x: the secret(s) ['password', 'username'] are needed",
        ),
        (
            {"name": "x", "kind": "folder", "options": {"path": "/tmp"}, "secrets": {"token": "t"}},
            "unknown secret(s) ['token'] for folder",
        ),
        (
            {"name": "x", "kind": "folder", "options": {"path": "/tmp"}, "mapping": {"nonsense": 1}},
            "source x: mapping: nonsense: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_definitions_name_the_key(
    engine: Engine, settings: Settings, definition: dict[str, object], message: str
) -> None:
    with pytest.raises(SourceDefinitionError) as caught:
        save(engine, settings, **definition)
    assert message in str(caught.value)


def test_bad_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a cron expression"):
        service.SourceDefinition(name="x", kind="folder", schedule="every day")


def test_sync_due_runs_sources_whose_cron_fired(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id\nK1\n")
    save(engine, settings, name="daily", kind="folder", schedule="0 6 * * *", options={"path": str(folder)})
    save(engine, settings, name="manual", kind="folder", options={"path": str(folder)})
    with engine.begin() as conn:
        conn.execute(text("UPDATE sources SET created_at = :at"), {"at": datetime(2026, 12, 1, 12)})
    assert service.sync_due(engine, settings, datetime(2026, 12, 2, 5, 59)) == []
    (ran,) = service.sync_due(engine, settings, datetime(2026, 12, 2, 6, 0))
    assert (ran.source, ran.ok) == ("daily", True)
    assert service.sync_due(engine, settings, datetime(2026, 12, 2, 18, 0)) == []  # already ran today
    assert [s.source for s in service.sync_due(engine, settings, datetime(2026, 12, 3, 7, 0))] == ["daily"]


def test_command_line_list_test_sync(tmp_path: Path, api: CrmApi) -> None:
    database = tmp_path / "churnradar.db"
    engine = create_engine(f"sqlite:///{database}")
    migrate(engine)
    path = tmp_path / "sources.yaml"
    path.write_text(YAML.format(url=api.url), encoding="utf-8")
    api.auth = "bearer"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNRADAR_")}
    env |= {"CHURNRADAR_SECRET_KEY": "k" * 32, "CRM_TOKEN": TOKEN}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "churnradar", "--db", f"sqlite:///{database}", "sources", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert cli("apply", str(path)).returncode == 0
    listed = cli("list", "--json")
    assert json.loads(listed.stdout)[0]["secrets"] == {"token": "set"}
    assert TOKEN not in listed.stdout
    tested = cli("test", "crm", "--json")
    assert json.loads(tested.stdout) == {"ok": True, "found": "reached; customers (2 on the first page)"}
    synced = cli("sync", "crm", "--json")
    document = json.loads(synced.stdout)
    assert (document["ok"], document["totals"]["inserted"]) == (True, 2)
    again = cli("sync", "crm", "--full")
    assert again.returncode == 0
    assert "customers: 2 rows in 1 batch(es): 0 inserted, 0 updated, 2 unchanged" in again.stdout
    env["CRM_TOKEN"] = "wrong"
    assert cli("apply", str(path)).returncode == 0
    failed = cli("sync", "crm")
    assert failed.returncode == 1
    assert "source crm, customers page 1: the server refused the credentials (HTTP 401)" in failed.stderr
    assert "wrong" not in failed.stderr
