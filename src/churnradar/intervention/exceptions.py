"""The intervention domain's errors."""

from __future__ import annotations


class TaskError(ValueError):
    """A task change that cannot be made (unknown task, already closed, unknown user, ...)."""


class PlaybookError(TaskError):
    """A playbook that cannot be stored: its template, level, team or a field named in the message."""


class RoutingError(TaskError):
    """Task routes that cannot be stored: each wrong route named by its position and field."""
