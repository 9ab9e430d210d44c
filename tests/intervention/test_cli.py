"""The tasks, deadlines and notify commands on a small seeded database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.intervention import repository as task_repo
from tests.intervention.helpers import seed
from tests.intervention.test_tasks import _apply


def _run(engine: Engine, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--db", engine.url.render_as_string(hide_password=False)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def tasks(engine: Engine) -> Engine:
    seed(engine)
    rows = [{"customer_id": c, "rule": "r1", "level": "orange"} for c in (10, 12)]
    _apply(engine, rows, [(10, "r1", "opened"), (12, "r1", "opened")])
    return engine


def test_list_reassign_snooze_follow_up_close(tasks: Engine) -> None:
    listed = json.loads(_run(tasks, "tasks", "list", "--json"))
    assert [(t["customer_id"], t["assignee_id"]) for t in listed] == [(10, 3), (12, None)]
    queued = listed[1]["id"]
    assert "-> queue" in _run(tasks, "tasks", "list")
    _run(tasks, "tasks", "reassign", str(queued), "--to", "sam", "--by", "mia")
    assert json.loads(_run(tasks, "tasks", "list", "--assignee", "sam", "--json"))[0]["id"] == queued
    _run(tasks, "tasks", "snooze", str(queued), "--until", "2099-01-01T09:00", "--reason", "holiday")
    out = _run(
        tasks, "tasks", "follow-up", str(queued), "--channel", "call", "--notes", "ok", "--done", "0,1"
    )
    assert "logged" in out
    _run(tasks, "tasks", "tag", "12", "重点跟进")
    shown = _run(tasks, "tasks", "show", str(queued), "--lang", "zh")
    assert "[x] 0." in shown
    assert "[x] 1." in shown
    assert "[ ] 2." in shown
    assert "重点跟进" in shown
    assert json.loads(_run(tasks, "tasks", "show", str(queued), "--json"))["history"][0]["kind"] == "created"
    _run(tasks, "tasks", "close", str(queued), "--outcome", "retained", "--note", "renewed")
    assert [
        t["outcome"] for t in json.loads(_run(tasks, "tasks", "list", "--status", "closed", "--json"))
    ] == ["retained"]
    with tasks.connect() as conn:
        assert task_repo.tags(conn, 12) == ["重点跟进"]


def test_errors_are_one_clear_line(tasks: Engine) -> None:
    url = tasks.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["tasks", "reassign", "1", "--to", "ina", "--db", url])
    assert result.exit_code == 1
    assert "inactive" in result.output
    result = CliRunner().invoke(app, ["tasks", "close", "999", "--outcome", "churned", "--db", url])
    assert "no task 999" in result.output
    result = CliRunner().invoke(app, ["tasks", "list", "--status", "snoozed", "--db", url])
    assert result.exit_code == 1
    assert "--status must be open, closed or all, not 'snoozed'" in result.output


def test_deadlines_check_and_delivery_commands(tasks: Engine) -> None:
    checked = json.loads(_run(tasks, "deadlines", "check", "--json"))
    # The tasks were opened at 2026-06-15 08:00 with 72 h: today is long after, so both are breached.
    assert checked["breaches"] == 2
    assert json.loads(_run(tasks, "deadlines", "check", "--json"))["breaches"] == 0
    url = tasks.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["notify", "deliver", "--json", "--db", url])
    assert result.exit_code == 3, result.output  # documented: messages died in this run
    delivered = json.loads(result.stdout)
    assert delivered["dead"] >= 1  # no email channel configured: dead letters, not lost messages
    assert "became dead letters (exit 3)" in result.stderr
    # Nothing died in this pass (the dead letters stay dead): a clean exit.
    assert json.loads(_run(tasks, "notify", "deliver", "--json"))["dead"] == 0
    assert json.loads(_run(tasks, "notify", "dead-letters", "--json"))["dead_letters"]


def test_task_actions_from_the_command_line_are_audited(tasks: Engine) -> None:
    import getpass

    from sqlalchemy import select

    from churnradar.models import AuditEntry

    queued = json.loads(_run(tasks, "tasks", "list", "--json"))[1]["id"]
    _run(tasks, "tasks", "reassign", str(queued), "--to", "sam", "--by", "mia")
    _run(tasks, "tasks", "snooze", str(queued), "--until", "2099-01-01T09:00", "--reason", "holiday")
    _run(tasks, "tasks", "follow-up", str(queued), "--channel", "call", "--notes", "ok")
    _run(tasks, "tasks", "tag", "12", "重点跟进")
    _run(tasks, "tasks", "close", str(queued), "--outcome", "retained")
    failed = CliRunner().invoke(
        app, ["tasks", "close", "999", "--outcome", "churned", "--db", tasks.url.render_as_string(False)]
    )
    assert failed.exit_code == 1
    with tasks.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.source, AuditEntry.details).order_by(
                AuditEntry.id
            )
        ).all()
    source = f"cli:{getpass.getuser()}"
    assert [(r.action, r.entity_id, r.source) for r in rows] == [
        ("reassign", str(queued), source),
        ("snooze", str(queued), source),
        ("follow_up", str(queued), source),
        ("tag", "12", source),
        ("close", str(queued), source),
    ]  # nothing for the refused close
    assert rows[0].details == {"to": "sam", "by": "mia"}
    assert rows[3].details == {"tags": ["重点跟进"], "by": "cli"}
