"""The control group: random, stable per alert, about the configured share, and never worked or notified."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from churnradar.alert.lifecycle import HOLDOUT, Policy, empty_state, step
from churnradar.cli.main import app
from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.effectiveness.service import effectiveness_report
from churnradar.evaluation.service import evaluate
from churnradar.intervention import service as intervention_service
from churnradar.intervention.control import DRAW_CAUSE, INTERVENED, draw, held_out
from churnradar.models import Alert, AlertEvent, InterventionTask, OutboxMessage, TaskEvent
from churnradar.rule.templates import load_templates
from tests.conftest import copy_store
from tests.evaluation.conftest import AS_OF, demo_db
from tests.intervention.helpers import NOW, seed, step_result

__all__ = ["demo_db"]  # the session fixture: 300 simulated customers
KEY = b"k" * 32


class TestDraw:
    def test_same_alert_same_arm_and_the_key_matters(self) -> None:
        day, later = date(2026, 3, 2), date(2026, 3, 9)
        first = draw(KEY, customer="C1", rule="order_gap_long", opened_on=day)
        assert first == draw(KEY, customer="C1", rule="order_gap_long", opened_on=day)
        assert first != draw(b"another key", customer="C1", rule="order_gap_long", opened_on=day)
        assert first != draw(KEY, customer="C1", rule="order_gap_long", opened_on=later)
        assert 0.0 <= first < 1.0

    def test_about_the_share_over_many_alerts_and_none_when_off(self) -> None:
        alerts = [(f"C{i}", f"rule{i % 7}", date(2026, 1, 1) + timedelta(days=i % 90)) for i in range(20_000)]
        held = [held_out(KEY, 0.1, customer=c, rule=r, opened_on=d) for c, r, d in alerts]
        # Binomial(20,000, 0.1): standard deviation 0.0021, so 0.1 +/- 0.01 is about five of them.
        assert abs(sum(held) / len(held) - 0.1) < 0.01
        assert not any(held_out(KEY, 0.0, customer=c, rule=r, opened_on=d) for c, r, d in alerts[:1000])
        # No pattern by rule: each rule's share is near 0.1 too.
        for rule in {r for _, r, _ in alerts}:
            mine = [h for h, (_, r, _) in zip(held, alerts, strict=True) if r == rule]
            assert abs(sum(mine) / len(mine) - 0.1) < 0.03


def _fired(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c, r, "general", level, r, r, None) for c, r, level in rows],
        columns=["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"],
    )


def test_lifecycle_keeps_a_held_out_customer_held_out_while_its_alerts_stay_open() -> None:
    day = date(2026, 3, 2)
    first = step(empty_state(), _fired((1, "a", "yellow"), (2, "a", "yellow")), as_of=day, policy=Policy())
    first.state.loc[first.state["customer_id"] == 1, "muted"] = HOLDOUT  # what intervention does on a draw
    later = step(
        first.state,
        _fired((1, "a", "red"), (1, "b", "orange"), (2, "a", "yellow"), (2, "b", "red")),
        as_of=day + timedelta(days=7),
        policy=Policy(),
    )
    muted = {
        (int(c), r): m for c, r, m in later.state[["customer_id", "rule", "muted"]].itertuples(index=False)
    }
    # Customer 1: escalated and a new rule, all held out (neither red nor the new alert lifts it); 2 as usual.
    assert muted == {(1, "a"): HOLDOUT, (1, "b"): HOLDOUT, (2, "a"): "inhibited", (2, "b"): None}
    new = later.events[(later.events["customer_id"] == 1) & (later.events["kind"] == "muted")]
    assert new[["rule", "cause"]].values.tolist() == [["b", "muted: holdout"]]


def _copy(source: Path, folder: Path, name: str) -> Engine:
    target = folder / name
    copy_store(source, target)
    return create_engine(f"sqlite:///{target}")


def _evaluate_twice(engine: Engine, settings: Settings) -> int:
    """Two weekly evaluations; how many customers their summaries say were held out."""
    summaries = [evaluate(engine, as_of=d, settings=settings) for d in (AS_OF, AS_OF + timedelta(days=7))]
    return sum(summary.tasks["held_out"] for summary in summaries)


def _arms(engine: Engine) -> tuple[set[int], set[int]]:
    with engine.connect() as conn:
        held = {
            int(c)
            for (c,) in conn.execute(
                select(Alert.customer_id).join(AlertEvent).where(AlertEvent.cause == DRAW_CAUSE)
            )
        }
        created = conn.execute(
            select(InterventionTask.customer_id, TaskEvent.detail)
            .join(TaskEvent)
            .where(TaskEvent.kind == "created")
        ).all()
    worked = {int(c) for c, detail in created if (detail or {}).get("arm") == INTERVENED}
    return held, worked


def test_evaluate_holds_out_customers_without_task_or_notification(demo_db: Path, tmp_path: Path) -> None:
    settings = Settings(environment="test", secret_key="s" * 32, interventions={"control_share": 0.3})
    engine = _copy(demo_db, tmp_path, "one.db")
    said_held = _evaluate_twice(engine, settings)
    held, worked = _arms(engine)
    assert held, "a 30% control group over this many alerts holds someone out"
    assert said_held == len(held)  # the evaluation summaries say how many
    assert worked
    # Roughly the configured share of the draws (binomial noise on about a hundred draws).
    assert 0.15 < len(held) / (len(held) + len(worked)) < 0.45
    with engine.connect() as conn:
        tasked = {int(c) for (c,) in conn.execute(select(InterventionTask.customer_id))}
        open_alerts = conn.execute(
            select(Alert.customer_id, Alert.muted).where(Alert.status == "open", Alert.customer_id.in_(held))
        ).all()
        lines = [
            line for (payload,) in conn.execute(select(OutboxMessage.payload)) for line in payload["lines"]
        ]
    assert not held & tasked
    assert open_alerts
    assert {m for _, m in open_alerts} == {HOLDOUT}
    assert lines, "the worked customers were notified"
    assert not [line for line in lines if any(f"(#{c})" in line for c in held)]

    # The same data in another database draws the same customers; the report counts every draw, pending.
    again = _copy(demo_db, tmp_path, "two.db")
    _evaluate_twice(again, settings)
    assert _arms(again) == (held, worked)
    report = effectiveness_report(engine, until=AS_OF + timedelta(days=8))
    save = report["save_rate"]
    assert (save["held_out"]["pending"], save["intervened"]["pending"]) == (len(held), len(worked))
    assert save["available"] is False
    assert "Not enough data" in save["note"]
    result = CliRunner().invoke(
        app, ["--db", str(engine.url), "report", "effectiveness", "--until", str(AS_OF + timedelta(days=8))]
    )
    assert result.exit_code == 0, result.output
    assert "save rate" in result.output
    assert "deadline compliance" in result.output


def test_off_by_default_nobody_is_held_out(demo_db: Path, tmp_path: Path) -> None:
    engine = _copy(demo_db, tmp_path, "off.db")
    evaluate(engine, as_of=AS_OF, settings=Settings(environment="test", secret_key="s" * 32))
    held, worked = _arms(engine)
    assert held == worked == set()
    with engine.connect() as conn:
        assert conn.execute(select(InterventionTask.id)).first() is not None
        assert conn.execute(select(Alert.id).where(Alert.muted == HOLDOUT)).first() is None


def test_apply_holds_out_in_the_store_on_either_database(engine: Engine) -> None:
    """The draw's plumbing on SQLite and PostgreSQL: muted alerts with their events, no task, no message."""
    seed(engine)
    opened = date(2026, 6, 15)
    settings = Settings(environment="test", secret_key="x" * 32, interventions={"control_share": 0.5})
    key = settings.secret_key.get_secret_value().encode()
    ids = {10: "C10", 11: "C11", 12: "C12", 13: "C13"}
    with engine.begin() as conn:
        for customer_id in ids:
            conn.execute(
                insert(Alert).values(
                    customer_id=customer_id, rule="r1", template="general", level="red", status="open",
                    opened_on=opened, last_fired_on=opened, last_evaluated_on=opened, false_streak=0,
                    reason_en="r1", reason_zh="r1",
                )
            )  # fmt: skip
    rows = [{"customer_id": c, "rule": "r1", "level": "red", "opened_on": opened} for c in ids]
    result = step_result(rows, [(c, "r1", "opened") for c in ids])
    with engine.begin() as conn:
        summary = intervention_service.apply(
            conn,
            result,
            as_of=opened,
            now=NOW,
            templates=load_templates(),
            settings=settings,
        )
    expected = {
        c for c, source in ids.items() if held_out(key, 0.5, customer=source, rule="r1", opened_on=opened)
    }
    assert 0 < len(expected) < len(ids), "the fixed key splits these four customers"
    assert summary.held_out == len(expected)
    assert summary.created == len(ids) - len(expected)
    assert set(result.state[result.state["muted"] == HOLDOUT]["customer_id"]) == expected
    with engine.connect() as conn:
        muted = {int(c) for (c,) in conn.execute(select(Alert.customer_id).where(Alert.muted == HOLDOUT))}
        drawn = conn.execute(select(AlertEvent.as_of).where(AlertEvent.cause == DRAW_CAUSE)).scalars().all()
        tasked = {int(c) for (c,) in conn.execute(select(InterventionTask.customer_id))}
        details = conn.execute(select(TaskEvent.detail).where(TaskEvent.kind == "created")).scalars().all()
    assert muted == expected
    assert drawn == [opened] * len(expected)
    assert tasked == set(ids) - expected
    assert all(d["arm"] == INTERVENED and d["as_of"] == opened.isoformat() for d in details)
    assert not [n for n in summary.notices if n.customer_id in expected]
