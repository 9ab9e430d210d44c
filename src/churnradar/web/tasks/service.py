"""Task views and the changes people make from the web, through the intervention domain's own service.

Every change checks that the principal may see the task (or the customer), calls `churnradar.intervention`,
writes an audit entry, and commits; a refused change (`TaskError`) rolls back and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.customer import service as customer_service
from churnradar.intervention import service as intervention
from churnradar.intervention.exceptions import TaskError
from churnradar.intervention.schemas import (
    DueBounds,
    DueGroup,
    FollowUpCreate,
    Outcome,
    TaskFilter,
    TaskRow,
    TaskStatus,
)
from churnradar.models import Customer, FollowUp
from churnradar.models.people import Role
from churnradar.web.tasks.schemas import CloseIn, FollowUpRead, NoteRead, TaskDetail, TaskRead

UTC_ZONE = ZoneInfo("UTC")
MANAGERS = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})
T = TypeVar("T")


class TaskNotFoundError(LookupError):
    """No such task, or not one the principal may see (the same answer either way)."""


class NotAllowedError(PermissionError):
    """The principal's role may not make this change."""


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """Today's date in `zone` at the naive-UTC instant `now`."""
    return now.replace(tzinfo=UTC_ZONE).astimezone(zone).date()


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC_ZONE).replace(tzinfo=None)


def due_bounds(now: datetime, zone: ZoneInfo) -> DueBounds:
    """`now` and the start of tomorrow in `zone`, both as naive UTC."""
    tomorrow = datetime.combine(local_today(now, zone) + timedelta(days=1), time.min, tzinfo=zone)
    return DueBounds(now, _utc(tomorrow))


def assignable_choices(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """(id, name) of the people the principal may give tasks to, for the reassign and owner selects."""
    return [
        (user.id, user.display_name or user.login) for user in intervention.assignable(session, principal)
    ]


def due_group(deadline: datetime, bounds: DueBounds) -> DueGroup:
    """Overdue once the deadline has passed, today until local midnight, upcoming after."""
    if deadline <= bounds.now:
        return DueGroup.OVERDUE
    return DueGroup.TODAY if deadline < bounds.tomorrow else DueGroup.UPCOMING


def task_read(row: TaskRow, bounds: DueBounds) -> TaskRead:
    """A task row (task, customer id and name, assignee login and name, alert reason) as pages and the API
    show it."""
    task, external_id, name, login, display, reason_en, reason_zh = row
    playbook = task.playbook or {}
    return TaskRead(
        id=task.id,
        customer_id=external_id,
        customer_pk=task.customer_id,
        customer_name=name,
        rule=task.rule,
        reason_en=reason_en,
        reason_zh=reason_zh,
        level=task.level,
        status=task.status,
        assignee=login,
        assignee_name=display,
        assignee_id=task.assignee_id,
        opened_at=task.opened_at,
        deadline_at=task.deadline_at,
        due=due_group(task.deadline_at, bounds) if task.status == TaskStatus.OPEN else None,
        next_follow_up_at=task.next_follow_up_at,
        snoozed_until=task.snoozed_until,
        snooze_reason=task.snooze_reason,
        closed_at=task.closed_at,
        closed_by=task.closed_by,
        outcome=Outcome(task.outcome) if task.outcome else None,
        close_note=task.close_note,
        actions_en=[str(a) for a in playbook.get("actions_en", [])],
        actions_zh=[str(a) for a in playbook.get("actions_zh", [])],
    )


def follow_up_read(follow_up: FollowUp) -> FollowUpRead:
    """A follow-up as pages and the API show it."""
    return FollowUpRead.model_validate(follow_up, from_attributes=True)


def grouped(tasks: Iterable[TaskRead]) -> list[tuple[str, list[TaskRead]]]:
    """Tasks in the order people work them: overdue, due today, upcoming, closed; empty groups left out."""
    closed = TaskStatus.CLOSED.value
    order = [DueGroup.OVERDUE.value, DueGroup.TODAY.value, DueGroup.UPCOMING.value, closed]
    groups: dict[str, list[TaskRead]] = {key: [] for key in order}
    for task in tasks:
        groups[task.due.value if task.due else closed].append(task)
    return [(key, groups[key]) for key in order if groups[key]]


def list_tasks(
    session: Session, principal: Principal, flt: TaskFilter, bounds: DueBounds
) -> tuple[list[TaskRead], int]:
    """One page of the tasks the principal may see, as shown, and how many match in all."""
    rows, total = intervention.list_visible_tasks(session, principal, flt, bounds)
    return [task_read(row, bounds) for row in rows], total


def user_id(session: Session, login: str) -> int | None:
    """The id of the user with this login, if there is one."""
    return intervention.user_id(session, login)


def visible_task(session: Session, principal: Principal, task_id: int, bounds: DueBounds) -> TaskRead:
    """A task the principal may see, as shown (TaskNotFoundError otherwise)."""
    row = intervention.visible_task(session, principal, task_id)
    if row is None:
        raise TaskNotFoundError(task_id)
    return task_read(row, bounds)


def detail(session: Session, principal: Principal, task_id: int, bounds: DueBounds) -> TaskDetail:
    """A visible task with its follow-ups."""
    row = intervention.visible_task(session, principal, task_id)
    if row is None:
        raise TaskNotFoundError(task_id)
    follow_ups = [follow_up_read(f) for f in intervention.follow_up_records(session, task_id=task_id)]
    return TaskDetail(**task_read(row, bounds).model_dump(), follow_ups=follow_ups)


def history(session: Session, task_id: int) -> list[dict[str, Any]]:
    """A task's events, oldest first: at, kind, actor by display name (the caller checked the task is
    visible)."""
    found = intervention.task_detail(session.connection(), task_id)
    events = [] if found is None else found.history
    names = intervention.display_names(session, {e.actor for e in events if e.actor})
    return [{"at": e.at, "kind": e.kind, "actor": names.get(e.actor, e.actor)} for e in events]


def author_names(session: Session, follow_ups: Iterable[FollowUpRead]) -> dict[str, str]:
    """Display names of the people who logged these follow-ups, by login."""
    return intervention.display_names(session, {f.created_by for f in follow_ups if f.created_by})


def _change(session: Session, principal: Principal, task_id: int, work: Callable[[], T]) -> T:
    """Run `work` on a task the principal may see, committing it, or rolling back a refusal."""
    if intervention.visible_task(session, principal, task_id) is None:
        raise TaskNotFoundError(task_id)
    return intervention.commit_or_rollback(session, work)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: int,
    now: datetime,
    **details: Any,
) -> None:
    auth_service.record(session, principal, action, entity, entity_id, details or None, at=now)


def log_follow_up(
    session: Session,
    principal: Principal,
    task_id: int,
    follow_up: FollowUpCreate,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> int:
    """Record a contact on the task."""

    def work() -> int:
        conn = session.connection()
        created = intervention.log_follow_up(conn, task_id, follow_up, by=principal.login, now=now, zone=zone)
        _audit(session, principal, "task.follow_up", "task", task_id, now, follow_up_id=created)
        return created

    return _change(session, principal, task_id, work)


def close(session: Session, principal: Principal, task_id: int, close_in: CloseIn, *, now: datetime) -> None:
    """Close the task with its outcome."""

    def work() -> None:
        note = close_in.note.strip() if close_in.note and close_in.note.strip() else None
        intervention.close(
            session.connection(), task_id, outcome=close_in.outcome, note=note, by=principal.login, now=now
        )
        _audit(session, principal, "task.close", "task", task_id, now, outcome=close_in.outcome.value)

    _change(session, principal, task_id, work)


def snooze(
    session: Session,
    principal: Principal,
    task_id: int,
    *,
    until: date,
    reason: str,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    """Hold the task until 09:00 local time on `until`."""
    until_at = _utc(datetime.combine(until, time(9), tzinfo=zone))

    def work() -> None:
        intervention.snooze(
            session.connection(), task_id, until=until_at, reason=reason.strip(), by=principal.login, now=now
        )
        _audit(session, principal, "task.snooze", "task", task_id, now, until=until_at.isoformat())

    _change(session, principal, task_id, work)


def reassign(
    session: Session,
    principal: Principal,
    task_id: int,
    assignee_id: int | None,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Give the task to someone the principal manages (managers, directors and admins only)."""
    if principal.role not in MANAGERS:
        raise NotAllowedError("only managers, directors and admins reassign tasks")

    def work() -> None:
        allowed = {user.id for user in intervention.assignable(session, principal)}
        if assignee_id is not None and assignee_id not in allowed:
            raise TaskError(f"user {assignee_id} is not someone you can assign tasks to")
        conn = session.connection()
        intervention.reassign(
            conn, task_id, assignee_id=assignee_id, by=principal.login, now=now, settings=settings
        )
        _audit(session, principal, "task.reassign", "task", task_id, now, to=assignee_id)

    _change(session, principal, task_id, work)


def customer_context(session: Session, customer: Customer, bounds: DueBounds) -> dict[str, Any]:
    """What the customer 360 section shows: tasks, follow-ups timeline, notes and tags."""
    tasks = [task_read(row, bounds) for row in intervention.customer_tasks(session, customer.id)]
    notes = [
        NoteRead(task_id=task_id, at=at, author=author, text=text)
        for task_id, at, author, text in customer_service.notes(session, customer)
    ]
    return {
        "customer_id": customer.id,
        "tasks": tasks,
        "follow_ups": [
            follow_up_read(f) for f in intervention.follow_up_records(session, customer_id=customer.id)
        ],
        "notes": notes,
        "tags": customer_service.tags(session, customer),
        "can_note": bool(tasks),
    }
