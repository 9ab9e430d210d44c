"""When a customer changes owner, its open task follows: moved to the new owner, kept, or sent to a manager.

Imports and people record each change (`owner_changes`); this settles the unhandled ones, so a task never
stays with someone who no longer owns the customer without anyone deciding so. It answers the customer
domain's `OwnersChanged` event (subscribed in `churnradar.reactions`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from churnradar.config import Settings
from churnradar.db import table_of
from churnradar.intervention import repository as task_repo
from churnradar.intervention.service import reassign
from churnradar.models import OwnerChange

CHANGES = table_of(OwnerChange)


def follow_owner_changes(conn: Connection, *, settings: Settings, now: datetime) -> dict[str, int]:
    """Settle every unhandled owner change per `interventions.on_owner_change`; counts by outcome."""
    policy = settings.interventions.on_owner_change
    pending = conn.execute(
        select(CHANGES.c.id, CHANGES.c.customer_id, CHANGES.c.from_owner_id, CHANGES.c.to_owner_id)
        .where(CHANGES.c.handled_at.is_(None))
        .order_by(CHANGES.c.id)
    ).all()
    if not pending:
        return {}
    tasks = task_repo.open_tasks(conn, {int(p.customer_id) for p in pending})
    people = task_repo.people(conn)
    counts: dict[str, int] = {}
    for change in pending:
        task = tasks.get(int(change.customer_id))
        outcome = "no open task"
        if task is not None and policy != "keep":
            target = change.to_owner_id
            if policy == "ask_manager":
                previous = people.get(int(change.from_owner_id)) if change.from_owner_id else None
                target = previous.manager_id if previous else None
            if target is not None and (target not in people or not people[target].active):
                target = None  # nobody able to take it: the unassigned queue, where managers look
            if task.assignee_id != target:
                reassign(
                    conn, int(task.id), assignee_id=target, by="owner change", now=now, settings=settings
                )
            outcome = f"task {'moved' if policy == 'move' else 'sent to manager'}"
        elif task is not None:
            outcome = "task kept"
        conn.execute(update(CHANGES).where(CHANGES.c.id == change.id).values(handled_at=now, outcome=outcome))
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
