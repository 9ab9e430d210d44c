"""The indicator domain's errors."""

from __future__ import annotations


class DefinitionError(ValueError):
    """A definition file that cannot be read, or definitions that do not fit together."""
