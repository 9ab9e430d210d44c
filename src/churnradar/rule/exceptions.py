"""The rule domain's errors: conditions, reason templates, template files."""

from __future__ import annotations

from collections.abc import Sequence


class RuleSyntaxError(ValueError):
    """A condition that cannot be accepted; `column` is 1-based where known."""

    def __init__(self, message: str, column: int | None = None, hint: str = "") -> None:
        message, hint = message[:300], hint[:200]  # names quoted from the text are bounded with it
        super().__init__((f"{message} at column {column}" if column else message) + hint)
        self.reason = message
        self.column = column


class ReasonError(ValueError):
    """A reason template that cannot be accepted."""


class TemplateError(ValueError):
    """A template file that cannot be read, or a template that fails its checks; `errors` lists each one."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


class TemplateSettingsError(ValueError):
    """A template clone or template choice that cannot be stored: the place and field named."""
