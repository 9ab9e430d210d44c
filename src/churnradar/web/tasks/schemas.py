"""The task and follow-up shapes of the pages and the API (the list's filter is `intervention.schemas`')."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from churnradar.intervention.schemas import DueGroup, Outcome, TaskStatus
from churnradar.kit.levels import Level


class TaskRead(BaseModel):
    """One task as the list and the API show it; times are UTC."""

    id: int
    customer_id: str = Field(description="The customer's source-system id.")
    customer_pk: int = Field(description="The customer's internal id (links to the customer page).")
    customer_name: str | None
    rule: str
    reason_en: str | None = Field(description="Why: the alert's reason with the customer's own values.")
    reason_zh: str | None = Field(description="The same reason in Chinese.")
    level: Level
    status: TaskStatus
    assignee: str | None = Field(description="Login of the person the task is assigned to.")
    assignee_name: str | None
    assignee_id: int | None
    opened_at: datetime
    deadline_at: datetime
    due: DueGroup | None = Field(description="For open tasks: overdue, today or upcoming.")
    next_follow_up_at: datetime | None
    snoozed_until: datetime | None
    snooze_reason: str | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: Outcome | None
    close_note: str | None
    actions_en: list[str] = Field(description="The playbook's steps, in English.")
    actions_zh: list[str] = Field(description="The playbook's steps, in Chinese.")


class FollowUpRead(BaseModel):
    """One logged contact with the customer."""

    id: int
    task_id: int
    contacted_on: date
    channel: str
    notes: str
    next_step: str | None
    next_step_on: date | None
    actions_done: list[int]
    created_at: datetime
    created_by: str | None


class TaskDetail(TaskRead):
    """A task with its follow-ups, oldest first."""

    follow_ups: list[FollowUpRead]


class CloseIn(BaseModel):
    """How the task ended; the outcome is required."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: str | None = Field(default=None, max_length=10_000)


class SnoozeIn(BaseModel):
    """Hold the task until 09:00 local time on a day, and why (the customer asked to be called later...)."""

    model_config = ConfigDict(extra="forbid")

    until: date
    reason: str = Field(min_length=1, max_length=2_000)


class ReassignIn(BaseModel):
    """Who takes the task over: a login, or null to put it back in the team's queue."""

    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(max_length=200)


class NoteRead(BaseModel):
    """A note someone left on a customer's task."""

    task_id: int
    at: datetime
    author: str | None
    text: str
