"""Tasks over the web seed: overdue, due today, upcoming and closed, on both teams' customers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.intervention import repository as task_repo
from churnradar.kit.clock import SystemClock
from churnradar.models import Customer
from churnradar.web.tasks.service import due_bounds

PLAYBOOK = {
    "level": "red",
    "deadline_hours": 24,
    "actions_en": ["Call the decision maker", "Offer a review meeting"],
    "actions_zh": ["致电决策人", "约一次回顾会议"],
}


def seed_tasks(engine: Engine, settings: Settings) -> dict[str, int]:
    """One task per listed customer; returns task ids by customer external id."""
    now = SystemClock().now()
    bounds = due_bounds(now, settings.zone)
    today = now + (bounds.tomorrow - now) / 2
    # customer, level, deadline, status
    plan = [
        ("E-001", "red", now - timedelta(hours=2), "open"),
        ("E-002", "orange", today, "open"),
        ("E-003", "yellow", now - timedelta(days=20), "closed"),
        ("W-001", "red", now + timedelta(days=3), "open"),
        ("R-001", "yellow", now + timedelta(days=2), "open"),
    ]
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        customers = {
            e: (i, o, t)
            for e, i, o, t in conn.execute(
                select(Customer.external_id, Customer.id, Customer.owner_id, Customer.team_id)
            )
        }
        for external_id, level, deadline, status in plan:
            customer_id, owner_id, team_id = customers[external_id]
            values = {
                "customer_id": customer_id,
                "rule": "orders_stopped",
                "level": level,
                "status": status,
                "role": "owner",
                "assignee_id": owner_id,
                "team_id": team_id,
                "playbook": PLAYBOOK | {"level": level},
                "opened_at": now - timedelta(days=1 if status == "open" else 30),
                "deadline_at": deadline,
            }
            if status == "closed":
                values |= {
                    "closed_at": now - timedelta(days=10),
                    "outcome": "churned",
                    "closed_by": "rep_east",
                }
            task_id = task_repo.create(conn, values)
            task_repo.log(conn, task_id, "created", at=now, actor=None, detail={"level": level})
            ids[external_id] = task_id
        task_repo.add_tags(conn, [(customers["E-001"][0], "重点跟进")], source="rule:orders_stopped", at=now)
    return ids
