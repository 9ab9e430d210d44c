"""The intervention domain's errors."""

from __future__ import annotations

from churnradar import i18n


class TaskError(ValueError):
    """A task change that cannot be made (unknown task, already closed, unknown user, ...)."""


class PlaybookError(TaskError):
    """A playbook that cannot be stored: its template, level, team or a field named in the message.

    `text` is the refusal to show in the reader's language (the exception's own text is English)."""

    def __init__(self, text: str | i18n.Message) -> None:
        super().__init__(i18n.render(text, "en"))
        self.text = text


class RoutingError(PlaybookError):
    """Task routes that cannot be stored: each wrong route named by its position and field."""
