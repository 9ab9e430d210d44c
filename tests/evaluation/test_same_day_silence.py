"""A silence added during the day applies to that day's evaluation: no open alert unmuted, no task, no
notification for the customers it names; the others are worked as usual."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.alert.service import add_silence
from churnradar.config import Settings
from churnradar.evaluation.service import evaluate
from churnradar.kit.clock import FrozenClock
from churnradar.models import Alert, Customer, InterventionTask, OutboxMessage
from churnradar.rule import repository
from churnradar.rule.service import active_templates
from tests.web.seed import seed

DAY = date(2025, 1, 1)
NOON = datetime(2025, 1, 1, 12, 0)


def test_a_silence_added_during_the_day_mutes_that_days_evaluation(
    engine: Engine, settings: Settings
) -> None:
    seed(engine, settings)
    active_templates(engine, at=NOON)
    rule = {
        "slug": "high_tier",
        "name_en": "High tier",
        "name_zh": "高等级",
        "condition": "tier = 'high'",
        "level": "red",
        "reason_en": "High tier",
        "reason_zh": "高等级",
    }
    with engine.begin() as conn:  # only this rule, so the customers it flags are known: E-001 and W-001
        stored = repository.stored_rules(conn)
        general = [{**r, "enabled": False} if "condition" in r else r for r in stored["general"]]
        repository.replace_rules(conn, {"general": [*general, rule]}, at=NOON, by="test")
    # Added at noon, "from now": the day's evaluation runs after it (or is rerun after it).
    add_silence(
        engine,
        customer="E-001",
        rule=None,
        starts_at=NOON,
        ends_at=NOON + timedelta(days=14),
        by="wang.qiang",
        reason="on holiday",
    )
    evaluate(engine, as_of=DAY, settings=settings, clock=FrozenClock(NOON + timedelta(hours=1)))
    with engine.connect() as conn:
        alerts = dict(
            conn.execute(
                select(Customer.external_id, Alert.muted)
                .join(Customer, Customer.id == Alert.customer_id)
                .where(Alert.rule == "high_tier")
            ).all()
        )
        tasks = set(
            conn.execute(
                select(Customer.external_id)
                .select_from(InterventionTask)
                .join(Customer, Customer.id == InterventionTask.customer_id)
            ).scalars()
        )
        messages = [str(m.subject) + str(m.payload) for m in conn.execute(select(OutboxMessage))]
    assert alerts == {"E-001": "silenced", "W-001": None}
    assert tasks == {"W-001"}
    assert messages
    assert not [m for m in messages if "Eastwind" in m]
    assert [m for m in messages if "Westfield" in m or "W-001" in m]
