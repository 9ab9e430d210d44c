"""Task states and outcomes, the inputs people give (follow-ups), and the task list's filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Row

from churnradar.kit.listing import ListFilter
from churnradar.models import InterventionTask


class TaskStatus(StrEnum):
    """Open until a person closes it, whatever its alert does."""

    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    """How an intervention ended; the raw material of the effectiveness report."""

    RETAINED = "retained"
    CHURNED = "churned"
    FALSE_ALARM = "false_alarm"
    UNREACHABLE = "unreachable"


class ContactChannel(StrEnum):
    """How the customer was contacted."""

    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    CHAT = "chat"
    MEETING = "meeting"
    OTHER = "other"


class FollowUpCreate(BaseModel):
    """One logged contact; `actions_done` are positions (0-based) in the task's playbook checklist."""

    model_config = ConfigDict(extra="forbid")

    contacted_on: date
    channel: ContactChannel
    notes: Annotated[str, Field(min_length=1, max_length=10_000)]
    next_step: str | None = None
    next_step_on: date | None = None
    actions_done: list[Annotated[int, Field(ge=0)]] = []


# The task list people read: which tasks, and where each open one stands against its deadline.
class DueGroup(StrEnum):
    """Where an open task stands against its deadline, in the reader's time zone."""

    OVERDUE = "overdue"
    TODAY = "today"
    UPCOMING = "upcoming"


class StatusFilter(StrEnum):
    """Which tasks the list holds."""

    OPEN = TaskStatus.OPEN.value
    CLOSED = TaskStatus.CLOSED.value
    ALL = "all"


class TaskFilter(ListFilter):
    """What the task list shows: status, level, due group, assignee (managers and up), and the page."""

    status: StatusFilter = StatusFilter.OPEN
    level: str | None = Field(default=None, max_length=32, description="yellow, orange or red.")
    due: DueGroup | None = Field(default=None, description="Open tasks overdue, due today, or later.")
    owner: int | None = Field(default=None, description="Assignee's user id.")
    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: int = Field(default=50, ge=1, le=500)

    @field_validator("status", mode="before")
    @classmethod
    def _blank_status_is_open(cls, value: Any) -> Any:
        return value or StatusFilter.OPEN


@dataclass(frozen=True)
class DueBounds:
    """Naive-UTC instants: open tasks due before `now` are overdue, before `tomorrow` due today."""

    now: datetime
    tomorrow: datetime


# task, customer id and name, assignee login and name, the alert's reason in English and Chinese
TaskRow = Row[InterventionTask, str, str | None, str | None, str | None, str | None, str | None]
