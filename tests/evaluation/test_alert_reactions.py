"""`evaluate` raises `AlertsChanged` once per stored step, in its transaction: subscribers see every change
once with what was stored, and a failing subscriber leaves the store as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from churnradar import reactions
from churnradar.alert.events import AlertsChanged
from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from churnradar.models import Alert, AlertEvent, EvaluationRun, InterventionTask, OutboxMessage
from tests.conftest import snapshot
from tests.evaluation.conftest import AS_OF


def _store(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    with engine.connect() as conn:
        return {
            table.__tablename__: sorted(tuple(map(str, r)) for r in conn.execute(select(table)))
            for table in (Alert, AlertEvent, EvaluationRun, InterventionTask, OutboxMessage)
        }


def test_each_alert_change_reaches_a_subscriber_once_as_stored(db: Engine, settings: Settings) -> None:
    events = reactions.dispatcher(settings)
    seen: list[AlertsChanged] = []
    open_tasks: list[int] = []

    def record(conn: Connection, event: AlertsChanged) -> None:
        seen.append(event)
        # Runs after the task reaction, in the same transaction: the tasks are there already.
        open_tasks.append(len(conn.execute(select(InterventionTask.id)).all()))

    events.subscribe(AlertsChanged, record)
    summary = evaluate(db, as_of=AS_OF, settings=settings, events=events)
    assert len(seen) == 1
    event = seen[0]
    assert event.as_of == AS_OF
    with db.connect() as conn:
        stored = {
            (int(c), str(r), str(level))
            for c, r, level in conn.execute(select(Alert.customer_id, Alert.rule, Alert.level))
        }
        tasks = len(conn.execute(select(InterventionTask.id)).all())
    opened = {(a.customer_id, a.rule, a.level.value) for a in event.opened}
    assert len(opened) == len(event.opened) == summary.counts["opened"] > 0
    assert opened == stored
    assert event.escalated == ()
    assert event.resolved == ()
    assert event.outcomes["tasks opened"] == summary.tasks["opened"] == tasks == open_tasks[0] > 0


def test_a_later_run_reports_each_stored_change_once_by_kind(db: Engine, settings: Settings) -> None:
    evaluate(db, as_of=AS_OF, settings=settings)
    events = reactions.dispatcher(settings)
    seen: list[AlertsChanged] = []
    events.subscribe(AlertsChanged, lambda conn, event: seen.append(event))
    later = AS_OF + timedelta(days=14)
    summary = evaluate(db, as_of=later, settings=settings, events=events)
    [event] = seen
    with db.connect() as conn:
        stored = conn.execute(
            select(AlertEvent.kind, Alert.customer_id, Alert.rule, AlertEvent.from_level, AlertEvent.to_level)
            .join(Alert, Alert.id == AlertEvent.alert_id)
            .where(AlertEvent.as_of == later)
        ).all()
    by_kind = {
        kind: sorted((int(c), str(r), f, t) for k, c, r, f, t in stored if k == kind)
        for kind in ("opened", "escalated", "resolved")
    }
    assert sorted((a.customer_id, a.rule, None, a.level.value) for a in event.opened) == by_kind["opened"]
    assert (
        sorted((a.customer_id, a.rule, a.from_level.value, a.to_level.value) for a in event.escalated)
        == by_kind["escalated"]
    )
    assert sorted((a.customer_id, a.rule, a.level.value, None) for a in event.resolved) == by_kind["resolved"]
    assert [len(event.opened), len(event.escalated), len(event.resolved)] == [
        summary.counts[k] for k in ("opened", "escalated", "resolved")
    ]
    assert summary.counts["resolved"] + summary.counts["opened"] > 0


def test_a_failing_subscriber_rolls_the_evaluation_back(db: Engine, settings: Settings) -> None:
    events = reactions.dispatcher(settings)

    def fail(conn: Connection, event: AlertsChanged) -> None:
        raise RuntimeError("the CRM is down")

    events.subscribe(AlertsChanged, fail)
    before, data = _store(db), snapshot(db)
    with pytest.raises(RuntimeError, match="the CRM is down"):
        evaluate(db, as_of=AS_OF, settings=settings, events=events)
    assert _store(db) == before
    assert snapshot(db) == data
    # Nothing half-done blocks the rerun, which stores what a clean run does.
    assert evaluate(db, as_of=AS_OF, settings=settings).counts["opened"] > 0


def test_webhooks_are_queued_before_tasks_mute_the_control_group(settings: Settings) -> None:
    # A CRM hears of an alert as the lifecycle left it: the task reaction may mute it `holdout` afterwards.
    subscribers = reactions.dispatcher(settings).subscribers(AlertsChanged)
    assert [s.__name__ for s in subscribers] == ["queue_webhooks", "open_tasks"]
