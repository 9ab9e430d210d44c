"""An import that changes a customer's owner moves its open task to the new owner, who is told."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from churnradar.ingest.service import import_path
from churnradar.intervention.handover import follow_owner_changes
from churnradar.intervention.schemas import Outcome
from churnradar.intervention.service import close
from churnradar.models import Customer, InterventionTask, OutboxMessage, OwnerChange, User
from tests.evaluation.conftest import AS_OF, db, demo_db

__all__ = ["db", "demo_db"]
NOW = datetime(2026, 6, 20, 9, 0)


def _two_tasks(engine: Engine) -> tuple[tuple[int, str, int | None], tuple[int, str, int | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(InterventionTask.id, Customer.external_id, Customer.owner_id)
            .join(Customer, Customer.id == InterventionTask.customer_id)
            .where(InterventionTask.status == "open", Customer.owner_id.is_not(None))
            .order_by(InterventionTask.id)
            .limit(2)
        ).all()
    assert len(rows) == 2
    return (rows[0][0], rows[0][1], rows[0][2]), (rows[1][0], rows[1][1], rows[1][2])


@pytest.mark.parametrize(("policy", "moves"), [("move", True), ("keep", False)])
def test_owner_change_hands_over_open_tasks_only(
    db: Engine, settings: Settings, tmp_path: Path, policy: str, moves: bool
) -> None:
    evaluate(db, as_of=AS_OF, settings=settings)
    (open_task, open_customer, old_owner), (closed_task, closed_customer, _) = _two_tasks(db)
    with db.begin() as conn:
        close(conn, closed_task, outcome=Outcome.RETAINED, note="renewed", by="test", now=NOW)
        new_owner = conn.execute(
            select(User.id, User.login)
            .where(User.role == "rep", User.id != old_owner, User.is_active)
            .limit(1)
        ).one()
    csv = tmp_path / "customers.csv"
    csv.write_text(
        f"customer_id,owner\n{open_customer},{new_owner.login}\n{closed_customer},{new_owner.login}\n"
    )
    summary = import_path(db, csv, settings=settings)
    assert summary.files[0].owner_changes == 2

    with db.connect() as conn:
        told_before = len(
            conn.execute(select(OutboxMessage.id).where(OutboxMessage.event == "task_assigned")).all()
        )
    chosen = settings.model_copy(
        update={"interventions": settings.interventions.model_copy(update={"on_owner_change": policy})}
    )
    with db.begin() as conn:
        counts = follow_owner_changes(conn, settings=chosen, now=NOW)
    with db.connect() as conn:
        tasks = dict(
            conn.execute(
                select(InterventionTask.id, InterventionTask.assignee_id).where(
                    InterventionTask.id.in_([open_task, closed_task])
                )
            ).all()
        )
        changes = conn.execute(select(OwnerChange.outcome, OwnerChange.handled_at)).all()
        told = len(conn.execute(select(OutboxMessage.id).where(OutboxMessage.event == "task_assigned")).all())
    assert all(handled == NOW for _, handled in changes)
    assert sorted(o for o, _ in changes) == sorted(["task moved" if moves else "task kept", "no open task"])
    assert (tasks[open_task] == new_owner.id) is moves
    assert tasks[closed_task] != new_owner.id  # a closed task stays with whoever closed it
    assert counts
    with db.begin() as conn:
        assert follow_owner_changes(conn, settings=chosen, now=NOW) == {}  # each change is settled once
    assert (told > told_before) is moves  # the new owner is told about the task they now hold


def _import_two_owner_changes(db: Engine, settings: Settings, tmp_path: Path) -> None:
    evaluate(db, as_of=AS_OF, settings=settings)
    (_, first, old_owner), (_, second, _) = _two_tasks(db)
    with db.connect() as conn:
        login = conn.execute(
            select(User.login).where(User.role == "rep", User.id != old_owner, User.is_active).limit(1)
        ).scalar_one()
    csv = tmp_path / "customers.csv"
    csv.write_text(f"customer_id,owner\n{first},{login}\n{second},{login}\n")
    assert import_path(db, csv, settings=settings).files[0].owner_changes == 2


def _unhandled(db: Engine) -> int:
    with db.connect() as conn:
        return len(conn.execute(select(OwnerChange.id).where(OwnerChange.handled_at.is_(None))).all())


def test_the_command_line_import_raises_the_event_and_reports_what_it_settled(
    db: Engine, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from churnradar.cli.main import _hand_over

    _import_two_owner_changes(db, settings, tmp_path)
    _hand_over(db, settings, quiet=False)
    assert _unhandled(db) == 0
    assert "owner changes: 2 task " in capsys.readouterr().err  # both had an open task


def test_the_evaluation_settles_owner_changes_imports_left(
    db: Engine, settings: Settings, tmp_path: Path
) -> None:
    _import_two_owner_changes(db, settings, tmp_path)
    assert _unhandled(db) == 2
    evaluate(db, as_of=AS_OF, settings=settings)
    assert _unhandled(db) == 0
