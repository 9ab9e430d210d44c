"""Background jobs over tasks: deadline checks (reminders, breaches, red follow-ups) and the daily digest.

Each job writes its task changes and their outbox rows in one transaction, so a notice exists exactly when
its change does; rerunning a job finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from churnradar import i18n
from churnradar.config import Settings
from churnradar.intervention import assignment, sla
from churnradar.intervention import repository as task_repo
from churnradar.intervention.service import task_notice
from churnradar.kit.clock import Clock, SystemClock
from churnradar.notification import service as notification_service
from churnradar.notification.schemas import Notice


@dataclass(frozen=True)
class DeadlineSummary:
    """What one deadline check did."""

    reminders: int
    breaches: int
    follow_ups_due: int
    notifications: int

    def as_dict(self) -> dict[str, int]:
        """A JSON-ready form."""
        return {
            "reminders": self.reminders,
            "breaches": self.breaches,
            "follow_ups_due": self.follow_ups_due,
            "notifications": self.notifications,
        }


def check_deadlines(engine: Engine, *, settings: Settings, clock: Clock | None = None) -> DeadlineSummary:
    """Remind before deadlines, escalate missed ones (to the manager, or whom the playbook names), chase red
    follow-ups."""
    now = (clock or SystemClock()).now()
    remind_before = timedelta(hours=settings.interventions.remind_before_hours)
    notices: list[Notice] = []
    reminders = breaches = follow_ups = 0
    with engine.begin() as conn:
        tasks = task_repo.open_tasks(conn)
        people = task_repo.people(conn)
        names = {c: r.name or str(c) for c, r in task_repo.customers(conn, list(tasks)).items()}
        for customer_id, task in tasks.items():
            row: dict[str, Any] = dict(task._mapping)
            name = names.get(customer_id, str(customer_id))
            if task.snoozed_until is not None and now < task.snoozed_until:
                continue
            if sla.breached(now, task.deadline_at, task.snoozed_until):
                if task.breached_at is None:
                    escalate_to = (task.playbook or {}).get("escalate_to")
                    manager = assignment.escalation_target(people, task.assignee_id, escalate_to)
                    task_repo.change(conn, task.id, {"breached_at": now, "escalated_to_id": manager})
                    detail = {"deadline_at": task.deadline_at.isoformat(), "escalated_to_id": manager}
                    task_repo.log(conn, task.id, "breached", at=now, actor=None, detail=detail)
                    cause = f"task:{task.id}:breach:{task.deadline_at.isoformat()}"
                    notices.append(task_notice("deadline_missed", row, name, settings, cause=cause))
                    breaches += 1
            elif sla.reminder_due(now, task.deadline_at, remind_before, task.reminded_at):
                task_repo.change(conn, task.id, {"reminded_at": now})
                task_repo.log(conn, task.id, "reminded", at=now, actor=None, detail=None)
                cause = f"task:{task.id}:remind:{task.deadline_at.isoformat()}"
                notices.append(task_notice("deadline_reminder", row, name, settings, cause=cause))
                reminders += 1
            every = (task.playbook or {}).get("follow_up_every_hours")
            if every and task.next_follow_up_at is not None and task.next_follow_up_at <= now:
                # Red asks for a daily contact: remind the assignee each period, whatever the deadline did.
                task_repo.change(conn, task.id, {"next_follow_up_at": now + timedelta(hours=every)})
                cause = f"task:{task.id}:follow_up:{task.next_follow_up_at.isoformat()}"
                due = {**row, "deadline_at": now}
                notices.append(task_notice("deadline_reminder", due, name, settings, cause=cause))
                follow_ups += 1
        added = notification_service.notify(conn, notices, settings=settings, now=now)
    return DeadlineSummary(reminders, breaches, follow_ups, added)


def send_digest(engine: Engine, *, settings: Settings, day: date, clock: Clock | None = None) -> int:
    """Queue one digest per receiver listing their open tasks; once per day (the dedup key holds the day)."""
    now = (clock or SystemClock()).now()
    with engine.begin() as conn:
        tasks = task_repo.open_tasks(conn)
        names = {c: r.name or str(c) for c, r in task_repo.customers(conn, list(tasks)).items()}
        notices = [
            task_notice(
                "digest",
                dict(task._mapping),
                names.get(customer_id, str(customer_id)),
                settings,
                cause=f"task:{task.id}:digest:{day}",
                reason=i18n.pmsg("digest: a task not yet done", "open"),
            )
            for customer_id, task in sorted(tasks.items(), key=lambda item: item[1].deadline_at)
        ]
        return notification_service.notify(conn, notices, settings=settings, now=now, scope=f"{day}")
