"""Task queries, each filtered by who may see the task: its customer is visible, or it is assigned to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from churnradar.auth.schemas import Principal
from churnradar.customer.access import SEE_ALL, visible_customers
from churnradar.models import Alert, Customer, FollowUp, InterventionTask, User
from churnradar.models.people import Role
from churnradar.web.tasks.schemas import DueGroup, StatusFilter, TaskFilter

Assignee = aliased(User, name="assignee")
NOTE = "note"
# task, customer id and name, assignee login and name, the alert's reason in English and Chinese
TaskRow = Row[InterventionTask, str, str | None, str | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class DueBounds:
    """Naive-UTC instants: open tasks due before `now` are overdue, before `tomorrow` due today."""

    now: datetime
    tomorrow: datetime


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
        conditions += [InterventionTask.status == StatusFilter.OPEN.value, _due(flt.due, bounds)]
    return conditions


def list_tasks(
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


def get_task(session: Session, principal: Principal, task_id: int) -> TaskRow | None:
    """One task, or None when it does not exist or the principal may not see it."""
    query = _rows().where(InterventionTask.id == task_id, visible_tasks(principal))
    return session.execute(query).first()


def customer_tasks(session: Session, customer_id: int) -> list[TaskRow]:
    """Every task of a customer (the caller has checked the customer is visible): open first, newest first."""
    query = (
        _rows()
        .where(InterventionTask.customer_id == customer_id)
        .order_by(
            InterventionTask.status.desc(), InterventionTask.opened_at.desc(), InterventionTask.id.desc()
        )
    )
    return list(session.execute(query))


def follow_ups(
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


def user_id(session: Session, login: str) -> int | None:
    """The id of the user with this login, if there is one."""
    found = session.scalar(select(User.id).where(User.login == login))
    return int(found) if found is not None else None
