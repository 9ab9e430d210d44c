"""Silences from the command line: add, list, end; the same checks as the API, and every change audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.models import AuditEntry, Customer


def _cli(engine: Engine, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--db", engine.url.render_as_string(hide_password=False)])


@pytest.fixture
def store(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(
            insert(Customer), [{"external_id": "C-1", "name": "One"}, {"external_id": "C-2", "name": "Two"}]
        )
    return engine


class TestSilenceCommands:
    def test_add_list_end_and_list_all(self, store: Engine) -> None:
        added = _cli(
            store, "silence", "add", "--customer", "C-1", "--by", "wang", "--reason", "on holiday", "--json"
        )
        assert added.exit_code == 0, added.output
        silence_id = json.loads(added.stdout)["silence"]
        listed = _cli(store, "silence", "list", "--json")
        rows = json.loads(listed.stdout)
        assert [(r["id"], r["customer"], r["rule"], r["created_by"], r["active"]) for r in rows] == [
            (silence_id, "C-1", None, "wang", True)
        ]
        assert "C-1" in _cli(store, "silence", "list").stdout
        ended = _cli(store, "silence", "end", str(silence_id), "--json")
        assert ended.exit_code == 0, ended.output
        assert json.loads(ended.stdout)["active"] is False
        assert json.loads(_cli(store, "silence", "list", "--json").stdout) == []
        everything = json.loads(_cli(store, "silence", "list", "--all", "--json").stdout)
        assert [(r["id"], r["active"]) for r in everything] == [(silence_id, False)]
        again = _cli(store, "silence", "end", str(silence_id))
        assert again.exit_code == 1
        assert "ended at" in again.output
        missing = _cli(store, "silence", "end", "999")
        assert missing.exit_code == 1
        assert "no silence 999" in missing.output
        with store.connect() as conn:
            audit = conn.execute(
                select(AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id).where(
                    AuditEntry.entity == "silence"
                )
            ).all()
        assert sorted(audit) == [("create", "silence", str(silence_id)), ("end", "silence", str(silence_id))]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            pytest.param(["--by", "x", "--reason", "y"], "name a customer, a rule or both", id="no_matcher"),
            pytest.param(
                ["--customer", "C-9", "--by", "x", "--reason", "y"], "--customer: no customer", id="unknown"
            ),
            pytest.param(
                ["--customer", "C-1", "--by", "x", "--reason", " "], "--reason: reason must not", id="blank"
            ),
            pytest.param(
                ["--customer", "C-1", "--by", "x", "--reason", "a\x00b"], "U+0000 at position 2", id="nul"
            ),
            pytest.param(
                ["--customer", "C-1", "--by", "x", "--reason", "y" * 2001], "longer than 2,000", id="long"
            ),
            pytest.param(
                ["--customer", "C-1", "--by", "x", "--reason", "y", "--until", "2020-01-01"],
                "--until",
                id="past",
            ),
        ],
    )
    def test_add_refuses_with_a_located_message(self, store: Engine, args: list[str], message: str) -> None:
        result = _cli(store, "silence", "add", *args)
        assert result.exit_code == 1
        assert message in " ".join(result.output.split())
        assert json.loads(_cli(store, "silence", "list", "--all", "--json").stdout) == []
