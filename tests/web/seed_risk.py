"""Risk data over the web seed: rules, evaluations, alerts with history, risk rows, scores, tags, a task."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.db import session_scope
from churnradar.models import (
    Alert,
    AlertEvent,
    Customer,
    CustomerRisk,
    CustomerScore,
    CustomerTag,
    EvaluationRun,
    InterventionTask,
    Rule,
    User,
)

TEMPLATE = "general"
LAST_RUN = date(2026, 11, 23)
RUN_DAYS = [LAST_RUN - timedelta(weeks=back) for back in range(3, -1, -1)]
RULES = {
    "order_gap": ("Orders stopped", "订单中断"),
    "complaints_up": ("Complaints rising", "投诉增加"),
}
# external id → (level or None, health score, churn probability, English reasons, Chinese reasons)
RISK: dict[str, tuple[str | None, float | None, float | None, str | None, str | None]] = {
    "E-001": ("red", 18.0, 0.81, "No order for 75 days", "75 天未下单"),
    "E-002": ("orange", 42.0, 0.44, "Complaints up 3x", "投诉增加 3 倍"),
    "W-001": ("red", 12.0, 0.9, "No order for 90 days", "90 天未下单"),
    "W-002": ("yellow", 61.0, 0.2, "Complaints up 2x", "投诉增加 2 倍"),
    "R-001": (None, 70.0, 0.1, None, None),
    "N-001": (None, 85.0, 0.05, None, None),
}
# external id, rule, level, opened, resolved, events (as of, kind, from, to)
ALERTS: list[tuple[str, str, str, date, date | None, list[tuple[date, str, str | None, str | None]]]] = [
    (
        "E-001",
        "order_gap",
        "red",
        RUN_DAYS[0],
        None,
        [(RUN_DAYS[0], "opened", None, "yellow"), (RUN_DAYS[2], "escalated", "yellow", "red")],
    ),
    (
        "E-001",
        "complaints_up",
        "yellow",
        RUN_DAYS[0],
        RUN_DAYS[1],
        [(RUN_DAYS[0], "opened", None, "yellow"), (RUN_DAYS[1], "resolved", "yellow", None)],
    ),
    ("E-002", "complaints_up", "orange", RUN_DAYS[1], None, [(RUN_DAYS[1], "opened", None, "orange")]),
    ("W-001", "order_gap", "red", RUN_DAYS[2], None, [(RUN_DAYS[2], "opened", None, "red")]),
    ("W-002", "complaints_up", "yellow", RUN_DAYS[3], None, [(RUN_DAYS[3], "opened", None, "yellow")]),
]
TAGS = [("E-001", "流失风险"), ("W-001", "重点跟进")]
TASK_DEADLINE = datetime(2026, 11, 26, 18, 0)


def seed_risk(engine: Engine, _settings: Settings | None = None) -> None:
    """Add the risk data above to a database seeded by `tests.web.seed`."""
    with session_scope(engine) as session:
        ids = dict(session.execute(select(Customer.external_id, Customer.id)).all())
        users = dict(session.execute(select(User.login, User.id)).all())
        now = datetime(2026, 11, 23, 6, 0)
        for slug, (name_en, name_zh) in RULES.items():
            definition: dict[str, Any] = {"slug": slug, "name_en": name_en, "name_zh": name_zh}
            session.add(
                Rule(
                    template=TEMPLATE,
                    slug=slug,
                    level="yellow",
                    enabled=True,
                    definition=definition,
                    updated_at=now,
                )
            )
        for day in RUN_DAYS:
            at = datetime.combine(day, datetime.min.time())
            levels = {"red": 2 if day >= RUN_DAYS[2] else 0, "orange": 1 if day >= RUN_DAYS[1] else 0}
            summary = {"as_of": day.isoformat(), "customers_by_level": levels | {"yellow": 1}}
            session.add(
                EvaluationRun(as_of=day, started_at=at, finished_at=at, status="succeeded", summary=summary)
            )
        for external, rule, level, opened, resolved, history in ALERTS:
            alert = Alert(
                customer_id=ids[external],
                rule=rule,
                template=TEMPLATE,
                level=level,
                status="resolved" if resolved else "open",
                opened_on=opened,
                last_fired_on=resolved or LAST_RUN,
                last_evaluated_on=LAST_RUN,
                false_streak=0,
                resolved_on=resolved,
                reason_en=f"{RULES[rule][0]} ({external})",
                reason_zh=f"{RULES[rule][1]}（{external}）",
            )
            session.add(alert)
            session.flush()
            session.execute(
                insert(AlertEvent),
                [
                    {
                        "alert_id": alert.id,
                        "as_of": day,
                        "at": now,
                        "kind": kind,
                        "from_level": before,
                        "to_level": after,
                        "cause": f"rule {rule}",
                    }
                    for day, kind, before, after in history
                ],
            )
        for external, (level, score, probability, reasons_en, reasons_zh) in RISK.items():
            open_alerts = sum(1 for a in ALERTS if a[0] == external and a[4] is None)
            session.add(
                CustomerRisk(
                    customer_id=ids[external],
                    as_of=LAST_RUN,
                    level=level,
                    health_score=score,
                    health_change=-5.0 if level else 1.0,
                    health_level=None,
                    churn_probability=probability,
                    open_alerts=open_alerts,
                    reasons_en=reasons_en,
                    reasons_zh=reasons_zh,
                )
            )
        session.add(
            CustomerScore(
                customer_id=ids["E-001"],
                as_of=LAST_RUN,
                model_version=1,
                churn_probability=0.81,
                reasons_en="orders fell",
                reasons_zh="订单下降",
            )
        )
        for external, tag in TAGS:
            session.add(
                CustomerTag(customer_id=ids[external], tag=tag, source="rule:order_gap", created_at=now)
            )
        session.add(
            InterventionTask(
                customer_id=ids["E-001"],
                rule="order_gap",
                level="red",
                status="open",
                role="owner",
                assignee_id=users["rep_east"],
                playbook={},
                opened_at=now,
                deadline_at=TASK_DEADLINE,
            )
        )
