"""Errors raised while importing; each message names the file, row or key at fault."""

from __future__ import annotations


class IngestError(Exception):
    """Base class for import problems reported to the user."""


class MappingError(IngestError):
    """The mapping YAML is unreadable or malformed."""


class FileFormatError(IngestError):
    """The file cannot be read as the format its name says (encoding, not CSV at all, empty, ...)."""

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row
