"""Refusals of the customer domain; the web maps each to an HTTP status once (web/errors.py)."""

from __future__ import annotations


class CustomerNotFoundError(LookupError):
    """No such customer, or not one the principal may see (the same answer either way)."""

    def __init__(self, key: str | int) -> None:
        super().__init__(f"no such customer: {key}")
        self.key = key


class OwnerChangeError(Exception):
    """A refused owner change: an English message id with its values (pages translate it), an HTTP status."""

    def __init__(self, msgid: str, status_code: int, **values: str) -> None:
        super().__init__(msgid % values)
        self.msgid = msgid
        self.values = values
        self.status_code = status_code

    @property
    def message(self) -> str:
        """The message in English (the API's language)."""
        return str(self)


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name for "mark, translate later")
    """Mark a message id for extraction; the web translates it where it is shown."""
    return message
