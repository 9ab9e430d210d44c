"""What people do to tasks (reassign, snooze, close, follow-ups, tags, notes) and what they read of them; the
tasks alerts open are from_alerts' (re-exported here)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from churnradar import i18n
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.intervention import repository as task_repo
from churnradar.intervention.exceptions import TaskError

# Tasks from alerts (the evaluation's side) live in from_alerts; callers reach them through here.
from churnradar.intervention.from_alerts import UTC_ZONE as UTC_ZONE
from churnradar.intervention.from_alerts import ApplySummary as ApplySummary
from churnradar.intervention.from_alerts import apply as apply
from churnradar.intervention.from_alerts import fallback_playbook as fallback_playbook
from churnradar.intervention.from_alerts import task_notice as task_notice
from churnradar.intervention.schemas import (
    DueBounds,
    FollowUpCreate,
    Outcome,
    TaskFilter,
    TaskRow,
    TaskStatus,
)
from churnradar.models import FollowUp, TaskEvent, User
from churnradar.notification import service as notification_service


def _open_task(conn: Connection, task_id: int) -> Any:
    task = task_repo.get(conn, task_id)
    if task is None:
        raise TaskError(f"no task {task_id}")
    if task.status != TaskStatus.OPEN:
        raise TaskError(f"task {task_id} is closed ({task.outcome})")
    return task


def list_tasks(
    conn: Connection, *, status: TaskStatus | None, assignee_id: int | None, limit: int
) -> list[Row[Any]]:
    """Tasks with their customer's name and assignee's login, soonest deadline first."""
    return task_repo.list_tasks(conn, status=status, assignee_id=assignee_id, limit=limit)


@dataclass(frozen=True)
class TaskDetail:
    """One task with its follow-ups (in order), its history and its customer's tags."""

    task: Row[Any]
    follow_ups: list[Row[Any]]
    history: list[Row[Any]]
    tags: list[str]


def task_detail(conn: Connection, task_id: int) -> TaskDetail | None:
    """A task and what is recorded about it, or None when there is no such task."""
    task = task_repo.get(conn, task_id)
    if task is None:
        return None
    return TaskDetail(
        task,
        task_repo.follow_ups(conn, task_id),
        task_repo.history(conn, task_id),
        task_repo.tags(conn, task.customer_id),
    )


def display_names(session: Session, logins: Collection[str]) -> dict[str, str]:
    """People's display names by login (the login where none is set), for histories and follow-ups."""
    return task_repo.display_names(session.connection(), logins)


def list_visible_tasks(
    session: Session, principal: Principal, flt: TaskFilter, bounds: DueBounds
) -> tuple[list[TaskRow], int]:
    """One page of the tasks the principal may see (soonest deadline first; closed ones latest first)."""
    return task_repo.list_visible_tasks(session, principal, flt, bounds)


def visible_task(session: Session, principal: Principal, task_id: int) -> TaskRow | None:
    """One task with its customer and assignee, or None when it does not exist or the principal may not
    see it (its customer is out of scope and it is not assigned to them)."""
    return task_repo.get_visible_task(session, principal, task_id)


def customer_tasks(session: Session, customer_id: int) -> list[TaskRow]:
    """Every task of a customer the caller has checked is visible: open first, newest first."""
    return task_repo.customer_task_rows(session, customer_id)


def follow_up_records(
    session: Session, *, task_id: int | None = None, customer_id: int | None = None
) -> list[FollowUp]:
    """Follow-ups of one task (oldest first) or of one customer (newest first)."""
    return task_repo.follow_up_records(session, task_id=task_id, customer_id=customer_id)


def assignable(session: Session, principal: Principal) -> Sequence[User]:
    """Active people the principal may give tasks to (none for a rep)."""
    return task_repo.assignable(session, principal)


def user_id(session: Session | Connection, login: str) -> int | None:
    """The id of the user with exactly this login, if there is one."""
    return task_repo.user_id(session, login)


def reassign(
    conn: Connection,
    task_id: int,
    *,
    assignee_id: int | None,
    by: str,
    now: datetime,
    settings: Settings | None = None,
) -> None:
    """Give the task to another active user (None: back to the queue); with settings, tell the new one."""
    task = _open_task(conn, task_id)
    people = task_repo.people(conn)
    if assignee_id is not None and (assignee_id not in people or not people[assignee_id].active):
        raise TaskError(f"user {assignee_id} does not exist or is inactive")
    task_repo.change(conn, task_id, {"assignee_id": assignee_id})
    detail = {"from": task.assignee_id, "to": assignee_id}
    task_repo.log(conn, task_id, "reassigned", at=now, actor=by, detail=detail)
    if settings is not None and assignee_id is not None:
        customer = task_repo.customers(conn, [task.customer_id])[task.customer_id]
        row = {**dict(task._mapping), "assignee_id": assignee_id}
        cause = f"task:{task_id}:assigned:{assignee_id}:{now.isoformat()}"
        why = i18n.msg("assigned to you by {by}", by=by)
        notice = task_notice(
            "task_assigned", row, customer.name or str(task.customer_id), settings, cause=cause, reason=why
        )
        notification_service.notify(conn, [notice], settings=settings, now=now)


def snooze(conn: Connection, task_id: int, *, until: datetime, reason: str, by: str, now: datetime) -> None:
    """Hold reminders and breaches until `until`; the deadline moves there if it was earlier."""
    if until <= now:
        raise TaskError("a snooze must end in the future")
    if not reason.strip():
        raise TaskError("a snooze needs a reason")
    task = _open_task(conn, task_id)
    values = {
        "snoozed_until": until,
        "snooze_reason": reason,
        "deadline_at": max(task.deadline_at, until),
        "reminded_at": None,
    }
    task_repo.change(conn, task_id, values)
    detail = {"until": until.isoformat(), "reason": reason}
    task_repo.log(conn, task_id, "snoozed", at=now, actor=by, detail=detail)


def close(
    conn: Connection, task_id: int, *, outcome: Outcome, note: str | None, by: str, now: datetime
) -> None:
    """Close the task with its outcome; the customer may get a new task from the next warning."""
    _open_task(conn, task_id)
    values = {"status": TaskStatus.CLOSED.value, "closed_at": now, "outcome": outcome.value}
    task_repo.change(conn, task_id, values | {"closed_by": by, "close_note": note})
    task_repo.log(conn, task_id, "closed", at=now, actor=by, detail={"outcome": outcome.value, "note": note})


def log_follow_up(
    conn: Connection,
    task_id: int,
    follow_up_in: FollowUpCreate,
    *,
    by: str,
    now: datetime,
    zone: ZoneInfo = UTC_ZONE,
) -> int:
    """Record a contact; a next-step date becomes the task's next follow-up (09:00 local that day)."""
    task = _open_task(conn, task_id)
    actions = len((task.playbook or {}).get("actions_en", []))
    wrong = [i for i in follow_up_in.actions_done if i >= actions]
    if wrong:
        raise TaskError(f"the playbook has {actions} actions; no action number {wrong[0]}")
    values = follow_up_in.model_dump()
    follow_up_id = task_repo.add_follow_up(
        conn,
        values | {"task_id": task_id, "customer_id": task.customer_id, "created_at": now, "created_by": by},
    )
    if follow_up_in.next_step_on is not None:
        local = datetime.combine(follow_up_in.next_step_on, time(9), tzinfo=zone)
        task_repo.change(conn, task_id, {"next_follow_up_at": local.astimezone(UTC).replace(tzinfo=None)})
    task_repo.log(conn, task_id, "follow_up", at=now, actor=by, detail={"follow_up_id": follow_up_id})
    return follow_up_id


def tag(conn: Connection, customer_id: int, tags: list[str], *, by: str, now: datetime) -> int:
    """Tag a customer by hand."""
    return task_repo.add_tags(conn, [(customer_id, t) for t in tags], source=f"user:{by}", at=now)


def untag(conn: Connection, customer_id: int, tags: list[str]) -> int:
    """Remove tags from a customer."""
    return task_repo.remove_tags(conn, [(customer_id, t) for t in tags])


def note(conn: Connection, task_id: int, text: str, *, by: str, now: datetime) -> None:
    """Keep a note (about the task's customer) in the task's history."""
    task_repo.log(conn, task_id, task_repo.NOTE, at=now, actor=by, detail={"text": text})


def customer_tags(session: Session, customer_id: int) -> list[str]:
    """A customer's tags (rules' and hand-made), sorted."""
    return task_repo.tags(session.connection(), customer_id)


def customer_notes(session: Session, customer_id: int) -> list[TaskEvent]:
    """The notes left on a customer's tasks, newest first."""
    return task_repo.customer_notes(session, customer_id)


def note_task(session: Session, customer_id: int) -> int | None:
    """The task a new note on the customer goes to: its open one, else its latest (None: it has none)."""
    return task_repo.note_task(session, customer_id)


T = TypeVar("T")


def commit_or_rollback(session: Session, work: Callable[[], T]) -> T:
    """Run a person's change `work` and commit, or roll back a refusal (TaskError) so it changes nothing."""
    try:
        result = work()
    except TaskError:
        session.rollback()
        raise
    session.commit()
    return result
