"""REST API for tasks: list (filters, pages), get, log a follow-up, close, reassign; scoped tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from churnradar.auth.schemas import Principal, Scope
from churnradar.config import Settings
from churnradar.intervention.schemas import FollowUpCreate, TaskFilter
from churnradar.kit.clock import SystemClock
from churnradar.web.deps import ReadPrincipal, SessionDep, api_principal
from churnradar.web.schemas import Page
from churnradar.web.tasks import service
from churnradar.web.tasks.schemas import (
    CloseIn,
    FollowUpRead,
    ReassignIn,
    SnoozeIn,
    TaskDetail,
    TaskRead,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])
WritePrincipal = Annotated[Principal, Depends(api_principal(Scope.WRITE))]
clock = SystemClock()
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such task, or not one this token's user may see."},
    422: {"description": "The change cannot be made (closed task, bad input); nothing was changed."},
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _detail(request: Request, session: SessionDep, principal: Principal, task_id: int) -> TaskDetail:
    bounds = service.due_bounds(clock.now(), _settings(request).zone)
    return service.detail(session, principal, task_id, bounds)


@router.get("", response_model=Page[TaskRead], summary="List tasks")
def list_tasks(
    request: Request, principal: ReadPrincipal, session: SessionDep, flt: Annotated[TaskFilter, Query()]
) -> Page[TaskRead]:
    """Tasks the token's user may see (their customers', or assigned to them), soonest deadline first.

    `due` splits open tasks by the configured time zone: overdue, due today, upcoming.
    """
    bounds = service.due_bounds(clock.now(), _settings(request).zone)
    items, total = service.list_tasks(session, principal, flt, bounds)
    return Page[TaskRead].of(items, total=total, page=flt.page, per_page=flt.per_page)


@router.get("/{task_id}", response_model=TaskDetail, responses=NOT_FOUND, summary="Get a task")
def get_task(request: Request, principal: ReadPrincipal, session: SessionDep, task_id: int) -> TaskDetail:
    """One task with its playbook and follow-ups."""
    return _detail(request, session, principal, task_id)


@router.post(
    "/{task_id}/follow-ups",
    response_model=FollowUpRead,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
    summary="Log a follow-up",
)
def log_follow_up(
    request: Request, principal: WritePrincipal, session: SessionDep, task_id: int, body: FollowUpCreate
) -> FollowUpRead:
    """Record a contact with the customer (needs the `write` scope); a next-step date becomes the task's
    next follow-up, at 09:00 in the configured time zone."""
    zone = _settings(request).zone
    created = service.log_follow_up(session, principal, task_id, body, now=clock.now(), zone=zone)
    return next(f for f in _detail(request, session, principal, task_id).follow_ups if f.id == created)


@router.post("/{task_id}/close", response_model=TaskDetail, responses=NOT_FOUND, summary="Close a task")
def close_task(
    request: Request, principal: WritePrincipal, session: SessionDep, task_id: int, body: CloseIn
) -> TaskDetail:
    """Close the task with its outcome (retained, churned, false_alarm, unreachable); needs `write`."""
    service.close(session, principal, task_id, body, now=clock.now())
    return _detail(request, session, principal, task_id)


@router.post("/{task_id}/snooze", response_model=TaskDetail, responses=NOT_FOUND, summary="Snooze a task")
def snooze_task(
    request: Request, principal: WritePrincipal, session: SessionDep, task_id: int, body: SnoozeIn
) -> TaskDetail:
    """Hold the task until 09:00 (configured time zone) on `until`, with a reason; needs `write`."""
    zone = _settings(request).zone
    reason, now = body.reason.strip(), clock.now()
    service.snooze(session, principal, task_id, until=body.until, reason=reason, now=now, zone=zone)
    return _detail(request, session, principal, task_id)


@router.post(
    "/{task_id}/reassign",
    response_model=TaskDetail,
    responses={**NOT_FOUND, 403: {"description": "Only managers, directors and admins reassign."}},
    summary="Reassign a task",
)
def reassign_task(
    request: Request, principal: WritePrincipal, session: SessionDep, task_id: int, body: ReassignIn
) -> TaskDetail:
    """Give the task to another person by login, or null for the team's queue; needs `write` and a
    manager's, director's or admin's token."""
    assignee_id = None
    if body.assignee is not None:
        assignee_id = service.user_id(session, body.assignee)
        if assignee_id is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no user {body.assignee!r}")
    service.reassign(session, principal, task_id, assignee_id, now=clock.now(), settings=_settings(request))
    return _detail(request, session, principal, task_id)
