"""What the effectiveness report reads from the store: control-group draws, tasks and their follow-ups."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from churnradar.auth.schemas import Principal
from churnradar.customer.access import sees_all, visible_customers
from churnradar.db import table_of
from churnradar.effectiveness.alert_precision import ALERT_COLUMNS, LEVEL_COLUMNS
from churnradar.effectiveness.save_rate import HELD_OUT
from churnradar.effectiveness.tasks import TASK_COLUMNS
from churnradar.evaluation.frames import TEAMS
from churnradar.intervention.control import DRAW_CAUSE, INTERVENED
from churnradar.models import (
    Alert,
    AlertEvent,
    Customer,
    EvaluationRun,
    FollowUp,
    InterventionTask,
    StoredFigures,
    TaskEvent,
    User,
)
from churnradar.models.alert import RunStatus
from churnradar.models.people import Role

# The report joins the task and alert tables itself (read only): their handles, from the tables' models.
TASKS = table_of(InterventionTask)
TASK_EVENTS = table_of(TaskEvent)
FOLLOW_UPS = table_of(FollowUp)
USERS = table_of(User)

ALERTS = table_of(Alert)
ALERT_EVENTS = table_of(AlertEvent)
RUNS = table_of(EvaluationRun)
FIGURES = table_of(StoredFigures)
DRAW_COLUMNS = ["customer_id", "arm", "drawn_on"]


def draws(conn: Connection, *, until: date) -> pd.DataFrame:
    """Every control-group draw before `until`: customer_id, arm (intervened | held_out), drawn_on."""
    held = conn.execute(
        select(ALERTS.c.customer_id, ALERT_EVENTS.c.as_of)
        .join(ALERTS, ALERTS.c.id == ALERT_EVENTS.c.alert_id)
        .where(ALERT_EVENTS.c.cause == DRAW_CAUSE, ALERT_EVENTS.c.as_of < until)
        .distinct()
    ).all()
    created = conn.execute(
        select(TASKS.c.customer_id, TASK_EVENTS.c.detail)
        .join(TASKS, TASKS.c.id == TASK_EVENTS.c.task_id)
        .where(TASK_EVENTS.c.kind == "created")
    ).all()
    worked = [
        (int(customer_id), INTERVENED, date.fromisoformat(detail["as_of"]))
        for customer_id, detail in created
        if isinstance(detail, dict) and detail.get("arm") == INTERVENED
    ]
    rows = [(int(c), HELD_OUT, d) for c, d in held] + [r for r in worked if r[2] < until]
    return pd.DataFrame(rows, columns=DRAW_COLUMNS)


def tasks(conn: Connection, *, until: date) -> pd.DataFrame:
    """Tasks opened before `until`, with the assignee's login and the team's name (TASK_COLUMNS)."""
    query = (
        select(
            TASKS.c.id.label("task_id"),
            TASKS.c.customer_id,
            func.coalesce(USERS.c.display_name, USERS.c.login).label("owner"),
            TEAMS.c.name.label("team"),
            TASKS.c.status,
            TASKS.c.outcome,
            TASKS.c.opened_at,
            TASKS.c.deadline_at,
            TASKS.c.closed_at,
            TASKS.c.playbook,
        )
        .outerjoin(USERS, USERS.c.id == TASKS.c.assignee_id)
        .outerjoin(TEAMS, TEAMS.c.id == TASKS.c.team_id)
        .where(TASKS.c.opened_at < datetime.combine(until, datetime.min.time()))
    )
    return pd.DataFrame(conn.execute(query).all(), columns=TASK_COLUMNS)


def follow_ups(conn: Connection, *, until: date) -> pd.DataFrame:
    """task_id and actions_done of every follow-up logged before `until`."""
    query = select(FOLLOW_UPS.c.task_id, FOLLOW_UPS.c.actions_done).where(
        FOLLOW_UPS.c.created_at < datetime.combine(until, datetime.min.time())
    )
    return pd.DataFrame(conn.execute(query).all(), columns=["task_id", "actions_done"])


def evaluation_dates(conn: Connection, *, until: date) -> list[date]:
    """The as-of dates of the succeeded evaluations before `until`, oldest first."""
    query = (
        select(RUNS.c.as_of)
        .where(RUNS.c.status == RunStatus.SUCCEEDED.value, RUNS.c.as_of < until)
        .distinct()
        .order_by(RUNS.c.as_of)
    )
    return [day for (day,) in conn.execute(query)]


def alert_history(conn: Connection, *, until: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Alerts opened before `until` (ALERT_COLUMNS) and their level changes in order (LEVEL_COLUMNS)."""
    alerts = conn.execute(
        select(
            ALERTS.c.id, ALERTS.c.customer_id, ALERTS.c.rule, ALERTS.c.opened_on, ALERTS.c.resolved_on
        ).where(ALERTS.c.opened_on < until)
    ).all()
    changes = conn.execute(
        select(ALERT_EVENTS.c.alert_id, ALERT_EVENTS.c.as_of, ALERT_EVENTS.c.to_level)
        .where(ALERT_EVENTS.c.to_level.is_not(None), ALERT_EVENTS.c.as_of < until)
        .order_by(ALERT_EVENTS.c.as_of, ALERT_EVENTS.c.id)
    ).all()
    return pd.DataFrame(alerts, columns=ALERT_COLUMNS), pd.DataFrame(changes, columns=LEVEL_COLUMNS)


def managers(conn: Connection) -> list[tuple[int, str, int | None]]:
    """(id, login, team_id) of every manager: each sees their own team's figures."""
    query = select(USERS.c.id, USERS.c.login, USERS.c.team_id).where(USERS.c.role == Role.MANAGER.value)
    return [(int(i), login, team) for i, login, team in conn.execute(query.order_by(USERS.c.id))]


def save_figures(
    conn: Connection, name: str, as_of: date, bodies: dict[str, dict[str, Any]], *, now: datetime
) -> None:
    """Replace `name`'s figures of `as_of`, one body per scope key."""
    conn.execute(delete(FIGURES).where(FIGURES.c.name == name, FIGURES.c.as_of == as_of))
    if bodies:
        rows = [
            {"name": name, "as_of": as_of, "scope": scope, "computed_at": now, "body": body}
            for scope, body in bodies.items()
        ]
        conn.execute(insert(FIGURES), rows)


def stored_figures(conn: Connection, name: str, as_of: date, scope: str) -> dict[str, Any] | None:
    """`name`'s figures of `as_of` for one scope key, None when none were stored."""
    query = select(FIGURES.c.body).where(
        FIGURES.c.name == name, FIGURES.c.as_of == as_of, FIGURES.c.scope == scope
    )
    body: dict[str, Any] | None = conn.execute(query).scalar_one_or_none()
    return body


def task_deadlines(conn: Connection, *, until: date, principal: Principal) -> pd.DataFrame:
    """customer_id, status, deadline_at, closed_at of the tasks opened before `until` whose customer the
    principal may see (the deadline-compliance panel: four columns, scoped in the query)."""
    query = select(TASKS.c.customer_id, TASKS.c.status, TASKS.c.deadline_at, TASKS.c.closed_at).where(
        TASKS.c.opened_at < datetime.combine(until, datetime.min.time())
    )
    if not sees_all(principal):
        query = query.join(Customer, Customer.id == TASKS.c.customer_id).where(visible_customers(principal))
    columns = ["customer_id", "status", "deadline_at", "closed_at"]
    return pd.DataFrame(conn.execute(query).all(), columns=columns)
