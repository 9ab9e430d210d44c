"""`churnradar channel | notification-routing | template | keywords | field  export | import FILE`: each
settings document exported, edited, imported and exported again; a wrong document refused naming the wrong
place, leaving what was stored as it was; exports and imports audited as "cli"."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner, Result

from churnradar.cli.main import app
from churnradar.db import create_engine
from churnradar.models import AuditEntry

Document = dict[str, Any]
HOOK = {"name": "ops_hook", "type": "webhook", "options": {}, "secrets": {"url": "http://127.0.0.1:9/h"}}
RENEWAL = {
    "slug": "renewal_intent",
    "type": "choice",
    "label_en": "Renewal intent",
    "label_zh": "续约意向",
    "choices": ["low", "high"],
    "entity": "customer",
    "visible_to": ["admin", "director", "manager", "rep"],
    "editable_by": ["admin", "manager"],
}


def _channels(doc: Document) -> Document:
    return {"channels": [*doc["channels"], HOOK]}


def _routing(doc: Document) -> Document:  # the shipped routes name "email": routed to the stored hook
    routes = [route | {"channel": HOOK["name"]} for route in doc["routes"]]
    return doc | {"routes": routes, "quiet_start": "22:00:00", "quiet_end": "07:00:00"}


def _choices(doc: Document) -> Document:
    return doc | {"choices": [{"segments": ["enterprise"], "template": "retail"}]}


def _keywords(doc: Document) -> Document:
    return doc | {"competitor_names": ["RivalSoft"]}


def _fields(doc: Document) -> Document:
    return doc | {"fields": [RENEWAL]}


def _bad_channels(doc: Document) -> Document:
    return {"channels": [{**HOOK, "name": "second"}, {"name": "pager", "type": "pigeon"}]}


def _bad_routing(doc: Document) -> Document:
    return doc | {"routes": [*doc["routes"], {"events": ["alert_opened"], "to": ["team"], "channel": "fax"}]}


def _bad_choices(doc: Document) -> Document:
    return doc | {"choices": [*doc["choices"], {"industries": ["retail"], "template": "nowhere"}]}


def _bad_keywords(doc: Document) -> Document:
    return doc | {"competitor_names": ["Other"], "balance_threshold": "lots"}


def _bad_fields(doc: Document) -> Document:
    return doc | {"fields": [*doc["fields"], {**RENEWAL, "slug": "mood", "type": "colour"}]}


Edit = Callable[[Document], Document]
KINDS: dict[str, tuple[Edit, Edit, str]] = {
    "channel": (_channels, _bad_channels, "channels[1] (pager): type: unknown channel type 'pigeon'"),
    "notification-routing": (_routing, _bad_routing, "routes[5].channel: unknown channel 'fax'"),
    "template": (_choices, _bad_choices, "choices[1].template: unknown template 'nowhere'"),
    "keywords": (_keywords, _bad_keywords, "balance_threshold:"),
    "field": (_fields, _bad_fields, "fields.1.type:"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_export_edit_import_export_and_a_located_refusal(
    kind: str, migrated_sqlite: Path, tmp_path: Path
) -> None:
    database = tmp_path / "churnradar.db"
    shutil.copyfile(migrated_sqlite, database)
    url = f"sqlite:///{database}"

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, [kind, *args, "--db", url])

    edit, spoil, location = KINDS[kind]
    if kind == "notification-routing":  # a channel for the routes to name
        hook = tmp_path / "hook.yaml"
        hook.write_text(yaml.safe_dump({"channels": [HOOK]}), encoding="utf-8")
        assert CliRunner().invoke(app, ["channel", "import", str(hook), "--db", url]).exit_code == 0
    exported = run("export")
    assert exported.exit_code == 0, exported.output
    file = tmp_path / f"{kind}.yaml"
    file.write_text(yaml.safe_dump(edit(yaml.safe_load(exported.stdout))), encoding="utf-8")
    imported = run("import", str(file))
    assert imported.exit_code == 0, imported.output
    out = tmp_path / "again.yaml"
    assert run("export", "--output", str(out)).exit_code == 0
    again = yaml.safe_load(out.read_text(encoding="utf-8"))
    expected = edit(yaml.safe_load(exported.stdout))
    if kind == "channel":  # a secret goes in, only its name comes out
        expected = {"channels": [{**HOOK, "secrets": None, "secrets_set": ["url"]}]}
        expected["channels"][0].pop("secrets")
    assert again == expected

    file.write_text(yaml.safe_dump(spoil(again)), encoding="utf-8")
    refused = run("import", str(file))
    assert refused.exit_code == 1
    message = " ".join(refused.output.split())
    assert f"{file}: " in message, message
    assert location in message, message
    assert yaml.safe_load(run("export").stdout) == again  # nothing of the refused document was kept

    engine = create_engine(url)
    with engine.connect() as conn:
        actors = conn.execute(select(AuditEntry.actor, AuditEntry.action)).all()
    engine.dispose()
    assert ("cli", "export") in actors
    assert any(actor == "cli" and action != "export" for actor, action in actors)
