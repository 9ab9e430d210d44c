"""Done-when for interventions: the demo yields owned tasks with deadlines and playbooks, and a digest
reaches a local SMTP server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from churnradar.cli.main import app
from churnradar.db import create_engine
from churnradar.intervention import jobs
from churnradar.kit.clock import FrozenClock
from churnradar.models import InterventionTask, OutboxMessage
from churnradar.notification import service as notification_service
from tests.intervention.helpers import make_settings
from tests.notification.receivers import smtp_receiver


def test_demo_makes_tasks_and_a_digest_reaches_smtp(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = [
        "demo",
        "--db",
        url,
        "--customers",
        "300",
        "--end",
        "2026-06-30",
        "--weeks",
        "2",
        "--no-serve",
        "--json",
    ]
    result = CliRunner().invoke(app, demo)
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    with engine.connect() as conn:
        tasks = list(conn.execute(select(InterventionTask)))
    assert len(tasks) >= 5
    assert all(t.status == "open" and t.deadline_at > t.opened_at and t.playbook["actions_en"] for t in tasks)
    assert sum(t.assignee_id is not None for t in tasks) >= 0.9 * len(tasks)
    assert {t.level for t in tasks} <= {"yellow", "orange", "red"}

    with smtp_receiver() as box:
        options = {"host": "127.0.0.1", "port": box.port, "security": "none", "sender": "radar@example.com"}
        settings = make_settings(channels={"email": {"type": "email", "options": options}})
        clock = FrozenClock(tasks[-1].opened_at)
        queued = jobs.send_digest(engine, settings=settings, day=date(2026, 7, 1), clock=clock)
        summary = notification_service.deliver(engine, settings=settings, clock=clock, limit=10_000)
    with engine.connect() as conn:
        statuses = {r.status for r in conn.execute(select(OutboxMessage))}
    assert queued >= 1
    assert summary.dead == 0
    assert statuses <= {"sent", "pending"}
    digests = [m for _, m in box.mails if str(m["X-Churnradar-Dedup"]).startswith("digest:")]
    assert len(digests) == queued
    assert "daily digest" in str(digests[0]["Subject"])
