"""Task storage: open tasks, customers and people for assignment, history rows, tags."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from churnradar.db import inserted_id, table_of
from churnradar.intervention.assignment import Person
from churnradar.intervention.schemas import TaskStatus
from churnradar.models import (
    Customer,
    CustomerTag,
    FollowUp,
    InterventionTask,
    TaskEvent,
    User,
)

TASKS = table_of(InterventionTask)
EVENTS = table_of(TaskEvent)
FOLLOW_UPS = table_of(FollowUp)
TAGS = table_of(CustomerTag)
CUSTOMERS = table_of(Customer)
USERS = table_of(User)


def people(conn: Connection) -> dict[int, Person]:
    """Every user, as assignment sees them."""
    query = select(USERS.c.id, USERS.c.role, USERS.c.team_id, USERS.c.manager_id, USERS.c.is_active)
    return {int(i): Person(int(i), r, t, m, bool(a)) for i, r, t, m, a in conn.execute(query)}


def customers(conn: Connection, ids: Collection[int]) -> dict[int, Any]:
    """id, source id, name, owner and team of the given customers."""
    query = select(
        CUSTOMERS.c.id, CUSTOMERS.c.external_id, CUSTOMERS.c.name, CUSTOMERS.c.owner_id, CUSTOMERS.c.team_id
    ).where(CUSTOMERS.c.id.in_(list(ids)))
    return {int(r.id): r for r in conn.execute(query)}


def open_tasks(conn: Connection, customer_ids: Collection[int] | None = None) -> dict[int, Row[Any]]:
    """Open task of each customer (all customers when none are given)."""
    query = select(TASKS).where(TASKS.c.status == TaskStatus.OPEN.value)
    if customer_ids is not None:
        query = query.where(TASKS.c.customer_id.in_(list(customer_ids)))
    return {int(r.customer_id): r for r in conn.execute(query)}


def open_counts(conn: Connection) -> dict[int, int]:
    """Open tasks per assignee, for balancing."""
    query = (
        select(TASKS.c.assignee_id, func.count())
        .where(TASKS.c.status == TaskStatus.OPEN.value, TASKS.c.assignee_id.is_not(None))
        .group_by(TASKS.c.assignee_id)
    )
    return {int(a): int(n) for a, n in conn.execute(query)}


def get(conn: Connection, task_id: int) -> Row[Any] | None:
    """One task."""
    return conn.execute(select(TASKS).where(TASKS.c.id == task_id)).first()


def create(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a task; returns its id."""
    result = conn.execute(insert(TASKS).values(values))
    return inserted_id(result)


def create_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert tasks (rows with the same keys) in one executemany; returns their ids in the given order."""
    if not rows:
        return []
    result = conn.execute(insert(TASKS).returning(TASKS.c.id, sort_by_parameter_order=True), list(rows))
    return [int(i) for i in result.scalars()]


def log_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append many history entries (task_id, kind, at, actor, detail) in one executemany."""
    if rows:
        conn.execute(insert(EVENTS), list(rows))


def change(conn: Connection, task_id: int, values: dict[str, Any]) -> None:
    """Update a task."""
    conn.execute(update(TASKS).where(TASKS.c.id == task_id).values(values))


def log(
    conn: Connection,
    task_id: int,
    kind: str,
    *,
    at: datetime,
    actor: str | None,
    detail: dict[str, Any] | None,
) -> None:
    """Append to a task's history."""
    conn.execute(insert(EVENTS).values(task_id=task_id, at=at, kind=kind, actor=actor, detail=detail))


def history(conn: Connection, task_id: int) -> list[Row[Any]]:
    """A task's history, in order."""
    return list(conn.execute(select(EVENTS).where(EVENTS.c.task_id == task_id).order_by(EVENTS.c.id)))


def add_follow_up(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a follow-up; returns its id."""
    result = conn.execute(insert(FOLLOW_UPS).values(values))
    return inserted_id(result)


def follow_ups(conn: Connection, task_id: int) -> list[Row[Any]]:
    """A task's follow-ups, in order."""
    return list(
        conn.execute(select(FOLLOW_UPS).where(FOLLOW_UPS.c.task_id == task_id).order_by(FOLLOW_UPS.c.id))
    )


def list_tasks(
    conn: Connection, *, status: str | None, assignee_id: int | None, limit: int
) -> list[Row[Any]]:
    """Tasks with their customer's name, soonest deadline first."""
    query = (
        select(TASKS, CUSTOMERS.c.name.label("customer_name"), USERS.c.login.label("assignee"))
        .join(CUSTOMERS, CUSTOMERS.c.id == TASKS.c.customer_id)
        .outerjoin(USERS, USERS.c.id == TASKS.c.assignee_id)
    )
    if status:
        query = query.where(TASKS.c.status == status)
    if assignee_id is not None:
        query = query.where(TASKS.c.assignee_id == assignee_id)
    return list(conn.execute(query.order_by(TASKS.c.deadline_at, TASKS.c.id).limit(limit)))


def tags(conn: Connection, customer_id: int) -> list[str]:
    """A customer's tags, sorted."""
    query = select(TAGS.c.tag).where(TAGS.c.customer_id == customer_id).order_by(TAGS.c.tag)
    return [str(t) for (t,) in conn.execute(query)]


def add_tags(
    conn: Connection, pairs: Sequence[tuple[int, str]], *, source: str | Sequence[str], at: datetime
) -> int:
    """Tag customers; a tag a customer already has stays as it is."""
    if not pairs:
        return 0
    sources = [source] * len(pairs) if isinstance(source, str) else list(source)
    existing = {
        (int(c), str(t))
        for c, t in conn.execute(
            select(TAGS.c.customer_id, TAGS.c.tag).where(TAGS.c.customer_id.in_({c for c, _ in pairs}))
        )
    }
    rows, seen = [], set(existing)
    for (customer_id, tag), src in zip(pairs, sources, strict=True):
        if (customer_id, tag) not in seen:
            seen.add((customer_id, tag))
            rows.append({"customer_id": customer_id, "tag": tag, "source": src, "created_at": at})
    if rows:
        conn.execute(insert(TAGS), rows)
    return len(rows)


def remove_tags(conn: Connection, pairs: Sequence[tuple[int, str]]) -> int:
    """Untag customers."""
    removed = 0
    for customer_id, tag in pairs:
        removed += conn.execute(
            delete(TAGS).where(TAGS.c.customer_id == customer_id, TAGS.c.tag == tag)
        ).rowcount
    return removed
