"""The intervention domain's errors."""

from __future__ import annotations


class TaskError(ValueError):
    """A task change that cannot be made (unknown task, already closed, unknown user, ...)."""
