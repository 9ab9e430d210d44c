"""The alert domain's errors."""

from __future__ import annotations


class SilenceError(ValueError):
    """A silence refused: no matcher, an unknown customer or rule, a bad period, text too long or unreadable.

    `field` names the input at fault (customer, rule, starts_at, ends_at, by, reason), for located messages.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SilenceEndedError(SilenceError):
    """The silence is over already: ending it again changes nothing."""
