"""Errors of connected sources; each message names the source and, where known, the page, row and field."""

from __future__ import annotations


class SourceError(Exception):
    """Base class for source problems reported to the user."""


class SourceNotFoundError(SourceError):
    """No source has that name."""


class SourceDefinitionError(SourceError):
    """A source definition (YAML, API, CLI or the form) is malformed: the message names the key, and
    `problems` locates each one by its dotted path in the definition (`options.endpoints.events.path`)."""

    def __init__(self, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class SecretsUnreadableError(SourceError):
    """Stored secrets cannot be decrypted with the current key (the key changed)."""


class ConnectorError(SourceError):
    """Reading from the source failed: unreachable, refused credentials, a query error, a bad page."""
