"""Task states and outcomes, and the inputs people give (follow-ups)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Raised by the intervention service; kept importable here for web/tasks/customer_router.py.
from churnradar.intervention.exceptions import TaskError as TaskError


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
