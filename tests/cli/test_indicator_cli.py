"""`churnradar indicator add FILE.yaml | list | show NAME | remove NAME | export`: custom indicators from the
command line, checked whole, audited as "cli", refused while a rule reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from churnradar.cli.main import app
from churnradar.config import Settings
from churnradar.indicator.registry import bind_stored
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import import_records
from churnradar.models import AuditEntry
from churnradar.rule import service as rule_service
from tests.web.seed import seed

DEFINITIONS = """\
- name: visits_60d
  name_en: Visits in the last 60 days
  name_zh: 近60天拜访次数
  unit: visits
  events: [visit]
  aggregate: count
  window_days: 60
- name: ticket_hours_trend
  name_en: Reply hours against the window before
  name_zh: 回复时长环比
  unit: "%"
  events: [ticket]
  filter: {direction: inbound, value_min: 0}
  aggregate: mean
  window_days: 30
  compare: change_pct
"""


@pytest.fixture(autouse=True)
def unbound() -> Iterator[None]:
    yield
    bind_stored(None)


def run(engine: Engine, *args: str) -> Result:
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["indicator", *args, "--db", url])


def test_add_list_show_export_remove(engine: Engine, tmp_path: Path) -> None:
    file = tmp_path / "indicators.yaml"
    file.write_text(DEFINITIONS, encoding="utf-8")
    added = run(engine, "add", str(file), "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) == {
        "created": 2,
        "updated": 0,
        "indicators": ["visits_60d", "ticket_hours_trend"],
    }
    listed = json.loads(run(engine, "list", "--json").stdout)
    assert [d["name"] for d in listed] == ["ticket_hours_trend", "visits_60d"]
    shown = json.loads(run(engine, "show", "ticket_hours_trend", "--json").stdout)
    assert shown["columns"] == ["ticket_hours_trend__now", "ticket_hours_trend__before", "ticket_hours_trend"]
    assert shown["filter"]["direction"] == "inbound"
    exported = run(engine, "export")
    by_name = {d["name"]: d for d in yaml.safe_load(DEFINITIONS)}
    assert yaml.safe_load(exported.stdout) == [by_name["ticket_hours_trend"], by_name["visits_60d"]]
    assert "近60天拜访次数" in run(engine, "list").stdout

    removed = run(engine, "remove", "ticket_hours_trend")
    assert removed.exit_code == 0, removed.output
    missing = run(engine, "show", "ticket_hours_trend")
    assert missing.exit_code != 0
    assert "no custom indicator 'ticket_hours_trend'" in missing.output
    with engine.connect() as conn:
        audited = conn.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_id)).all()
    assert {tuple(a) for a in audited} == {
        ("cli", "create", "visits_60d"),
        ("cli", "create", "ticket_hours_trend"),
        ("cli", "export", None),
        ("cli", "delete", "ticket_hours_trend"),
    }


def test_a_bad_file_is_refused_with_its_position_and_nothing_stored(engine: Engine, tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(DEFINITIONS.replace("aggregate: mean", "aggregate: average"), encoding="utf-8")
    refused = run(engine, "add", str(file))
    assert refused.exit_code != 0
    assert f"{file}: item 2: aggregate: Input should be" in " ".join(refused.output.split())
    assert json.loads(run(engine, "list", "--json").stdout) == []


def test_remove_is_refused_naming_the_rules(engine: Engine, tmp_path: Path) -> None:
    file = tmp_path / "indicators.yaml"
    file.write_text(DEFINITIONS, encoding="utf-8")
    assert run(engine, "add", str(file)).exit_code == 0
    at = datetime(2025, 1, 1, 12)
    rule_service.active_templates(engine, at=at)
    document = yaml.safe_load(rule_service.export_rules(engine, ["general"]))
    document["general"].append(
        {"slug": "trend_up", "name_en": "Slower replies", "name_zh": "回复变慢",
         "condition": "ticket_hours_trend > 50 and ticket_hours_trend__before > 1", "level": "yellow",
         "reason_en": "replies slower", "reason_zh": "回复变慢"}
    )  # fmt: skip
    rule_service.import_rules(engine, yaml.safe_dump(document, allow_unicode=True), at=at, by="test")
    refused = run(engine, "remove", "ticket_hours_trend", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["rules"] == ["general/trend_up"]
    file.write_text(DEFINITIONS.replace("  compare: change_pct\n", ""), encoding="utf-8")
    narrowed = run(engine, "add", str(file))  # would drop ticket_hours_trend__before, which the rule reads
    assert narrowed.exit_code != 0
    assert "is used by rules: general/trend_up" in " ".join(narrowed.output.split())
    assert json.loads(run(engine, "show", "ticket_hours_trend", "--json").stdout)["compare"] == "change_pct"
    assert [d["name"] for d in json.loads(run(engine, "list", "--json").stdout)] == [
        "ticket_hours_trend",
        "visits_60d",
    ]


def test_rule_test_counts_a_stored_indicator(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    seed(engine, settings)
    rows = [
        {"customer_id": "E-001", "ts": f"2024-12-{d:02d}T10:00:00", "kind": "visit", "event_id": f"v{d}"}
        for d in (2, 10, 20)
    ]
    summary = import_records(engine, rows, kind=RecordKind.EVENTS, settings=settings, source="t")
    assert summary.status == "succeeded"
    condition = ["rule", "test", "visits_60d < 2", "--as-of", "2025-01-01", "--weeks", "0", "--json"]
    url = engine.url.render_as_string(hide_password=False)
    before = CliRunner().invoke(app, [*condition, "--db", url])
    assert before.exit_code != 0
    assert "visits_60d" in before.output
    file = tmp_path / "indicators.yaml"
    file.write_text(DEFINITIONS, encoding="utf-8")
    assert run(engine, "add", str(file)).exit_code == 0
    tried = CliRunner().invoke(app, [*condition, "--db", url])
    assert tried.exit_code == 0, tried.output
    report = json.loads(tried.stdout)
    assert report["flagged_now"]["draft"]["yellow"] == report["customers"] - 1  # all but E-001
