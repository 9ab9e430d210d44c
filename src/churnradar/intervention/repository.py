"""Task storage: open tasks, people for assignment, history rows, tags; the task list people read."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from churnradar.auth.schemas import Principal
from churnradar.customer.access import SEE_ALL, visible_customers
from churnradar.db import inserted_id, table_of
from churnradar.intervention.assignment import Person
from churnradar.intervention.schemas import DueBounds, DueGroup, StatusFilter, TaskFilter, TaskRow, TaskStatus
from churnradar.models import (
    Alert,
    Customer,
    CustomerTag,
    FollowUp,
    InterventionTask,
    StoredPlaybook,
    TaskEvent,
    Team,
    User,
)
from churnradar.models.people import Role

NOTE = "note"  # the task event kind of a note left on a customer
TASKS = table_of(InterventionTask)
EVENTS = table_of(TaskEvent)
FOLLOW_UPS = table_of(FollowUp)
TAGS = table_of(CustomerTag)
CUSTOMERS = table_of(Customer)
USERS = table_of(User)
PLAYBOOKS = table_of(StoredPlaybook)
TEAMS = table_of(Team)


def people(conn: Connection) -> dict[int, Person]:
    """Every user, as assignment sees them."""
    query = select(USERS.c.id, USERS.c.role, USERS.c.team_id, USERS.c.manager_id, USERS.c.is_active)
    return {int(i): Person(int(i), r, t, m, bool(a)) for i, r, t, m, a in conn.execute(query)}


def display_names(conn: Connection, logins: Collection[str]) -> dict[str, str]:
    """The display name (else the login) of each of these logins that is a user."""
    if not logins:
        return {}
    query = select(USERS.c.login, USERS.c.display_name).where(USERS.c.login.in_(sorted(logins)))
    return {login: name or login for login, name in conn.execute(query)}


def customers(conn: Connection, ids: Collection[int]) -> dict[int, Any]:
    """id, source id, name, owner, team, segment, tier and industry of the given customers."""
    c = CUSTOMERS.c
    query = select(c.id, c.external_id, c.name, c.owner_id, c.team_id, c.segment, c.tier, c.industry).where(
        c.id.in_(list(ids))
    )
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
    conn: Connection, *, status: TaskStatus | None, assignee_id: int | None, limit: int
) -> list[Row[Any]]:
    """Tasks with their customer's name, soonest deadline first."""
    query = (
        select(TASKS, CUSTOMERS.c.name.label("customer_name"), USERS.c.login.label("assignee"))
        .join(CUSTOMERS, CUSTOMERS.c.id == TASKS.c.customer_id)
        .outerjoin(USERS, USERS.c.id == TASKS.c.assignee_id)
    )
    if status is not None:
        query = query.where(TASKS.c.status == status.value)
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


# The task list people read (pages and the API): ORM rows, each query scoped by who may see the task.
Assignee = aliased(User, name="assignee")


def visible_tasks(principal: Principal) -> ColumnElement[bool]:
    """Tasks whose customer the principal may see, and tasks assigned to the principal."""
    return or_(visible_customers(principal), InterventionTask.assignee_id == principal.user_id)


def _rows() -> Select[InterventionTask, str, str | None, str | None, str | None, str | None, str | None]:
    return (
        select(
            InterventionTask,
            Customer.external_id,
            Customer.name,
            Assignee.login,
            Assignee.display_name,
            Alert.reason_en,
            Alert.reason_zh,
        )
        .join(Customer, Customer.id == InterventionTask.customer_id)
        .outerjoin(Assignee, Assignee.id == InterventionTask.assignee_id)
        .outerjoin(Alert, Alert.id == InterventionTask.alert_id)
    )


def _due(due: DueGroup, bounds: DueBounds) -> ColumnElement[bool]:
    deadline = InterventionTask.deadline_at
    if due == DueGroup.OVERDUE:
        return deadline <= bounds.now
    if due == DueGroup.TODAY:
        return (deadline > bounds.now) & (deadline < bounds.tomorrow)
    return deadline >= bounds.tomorrow


def _conditions(principal: Principal, flt: TaskFilter, bounds: DueBounds) -> list[ColumnElement[bool]]:
    conditions = [visible_tasks(principal)]
    if flt.status != StatusFilter.ALL:
        conditions.append(InterventionTask.status == flt.status.value)
    if flt.level is not None:
        conditions.append(InterventionTask.level == flt.level)
    if flt.owner is not None:
        conditions.append(InterventionTask.assignee_id == flt.owner)
    if flt.due is not None:
        conditions += [InterventionTask.status == TaskStatus.OPEN.value, _due(flt.due, bounds)]
    return conditions


def list_visible_tasks(
    session: Session, principal: Principal, flt: TaskFilter, bounds: DueBounds
) -> tuple[list[TaskRow], int]:
    """One page of the tasks this principal may see (soonest deadline first; closed ones latest first)."""
    conditions = _conditions(principal, flt, bounds)
    count = select(func.count()).select_from(InterventionTask).join(Customer).where(*conditions)
    total = int(session.scalar(count) or 0)
    order: list[ColumnElement[Any]]
    if flt.status == StatusFilter.CLOSED:
        order = [InterventionTask.closed_at.desc(), InterventionTask.id.desc()]
    else:
        order = [
            InterventionTask.status.desc(),
            InterventionTask.deadline_at.asc(),
            InterventionTask.id.asc(),
        ]
    query = _rows().where(*conditions).order_by(*order)
    query = query.offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
    return list(session.execute(query)), total


def get_visible_task(session: Session, principal: Principal, task_id: int) -> TaskRow | None:
    """One task, or None when it does not exist or the principal may not see it."""
    query = _rows().where(InterventionTask.id == task_id, visible_tasks(principal))
    return session.execute(query).first()


def customer_task_rows(session: Session, customer_id: int) -> list[TaskRow]:
    """Every task of a customer (the caller has checked the customer is visible): open first, newest first."""
    query = (
        _rows()
        .where(InterventionTask.customer_id == customer_id)
        .order_by(
            InterventionTask.status.desc(), InterventionTask.opened_at.desc(), InterventionTask.id.desc()
        )
    )
    return list(session.execute(query))


def customer_notes(session: Session, customer_id: int) -> list[TaskEvent]:
    """Notes left on a customer's tasks, newest first."""
    query = (
        select(TaskEvent)
        .join(InterventionTask, InterventionTask.id == TaskEvent.task_id)
        .where(InterventionTask.customer_id == customer_id, TaskEvent.kind == NOTE)
        .order_by(TaskEvent.id.desc())
    )
    return list(session.scalars(query))


def note_task(session: Session, customer_id: int) -> int | None:
    """The task a new note on the customer goes to: the open one, else the latest."""
    query = (
        select(InterventionTask.id)
        .where(InterventionTask.customer_id == customer_id)
        .order_by(
            InterventionTask.status.desc(), InterventionTask.opened_at.desc(), InterventionTask.id.desc()
        )
        .limit(1)
    )
    found = session.scalar(query)
    return int(found) if found is not None else None


def follow_up_records(
    session: Session, *, task_id: int | None = None, customer_id: int | None = None
) -> list[FollowUp]:
    """Follow-ups of one task (oldest first) or of one customer (newest first)."""
    if task_id is not None:
        query = select(FollowUp).where(FollowUp.task_id == task_id).order_by(FollowUp.id)
    else:
        query = (
            select(FollowUp)
            .where(FollowUp.customer_id == customer_id)
            .order_by(FollowUp.contacted_on.desc(), FollowUp.id.desc())
        )
    return list(session.scalars(query))


def assignable(session: Session, principal: Principal) -> Sequence[User]:
    """Active people the principal may give tasks to: everyone for admins and directors; for a manager,
    themselves, the people they manage and their team; nobody for a rep."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.login)
    if principal.role in SEE_ALL:
        return session.scalars(query).all()
    if principal.role != Role.MANAGER:
        return []
    mine = [User.id == principal.user_id, User.manager_id == principal.user_id]
    if principal.team_id is not None:
        mine.append(User.team_id == principal.team_id)
    return session.scalars(query.where(or_(*mine))).all()


def user_id(session: Session | Connection, login: str) -> int | None:
    """The id of the user with exactly this login, if there is one."""
    found = session.scalar(select(User.id).where(User.login == login))
    return int(found) if found is not None else None


def stored_playbooks(conn: Connection | Session) -> dict[tuple[str, str], dict[str, Any]]:
    """The admins' playbooks by (template, level), each as stored JSON."""
    rows = conn.execute(select(PLAYBOOKS.c.template, PLAYBOOKS.c.level, PLAYBOOKS.c.body))
    return {(str(t), str(lv)): dict(body) for t, lv, body in rows}


def save_playbook(
    conn: Connection | Session,
    template: str,
    level: str,
    body: dict[str, Any],
    *,
    at: datetime,
    by: str | None,
) -> None:
    """Insert or replace the playbook of one template and level."""
    key = (PLAYBOOKS.c.template == template) & (PLAYBOOKS.c.level == level)
    conn.execute(delete(PLAYBOOKS).where(key))
    values = {"template": template, "level": level, "body": body, "updated_at": at, "updated_by": by}
    conn.execute(insert(PLAYBOOKS).values(**values))


def remove_playbook(conn: Connection | Session, template: str, level: str) -> bool:
    """Drop an admin's playbook (the template's own applies again); whether there was one."""
    key = (PLAYBOOKS.c.template == template) & (PLAYBOOKS.c.level == level)
    found = conn.execute(select(func.count()).select_from(PLAYBOOKS).where(key)).scalar_one()
    conn.execute(delete(PLAYBOOKS).where(key))
    return bool(found)


def team_ids(conn: Connection | Session) -> dict[str, int]:
    """Every team's id by name."""
    return {str(name): int(i) for i, name in conn.execute(select(TEAMS.c.id, TEAMS.c.name))}
