"""The field domain's errors."""

from __future__ import annotations


class FieldDefinitionError(ValueError):
    """Field or entry type definitions that are wrong or do not fit together; the message locates it."""


class FieldNotFoundError(LookupError):
    """No custom field or entry type of that name is stored."""


class FieldInUseError(ValueError):
    """A field that rules (or entry forms) read cannot be removed or retyped; `users` names them."""

    def __init__(self, name: str, users: list[str]) -> None:
        self.rules = users
        shown = ", ".join(users[:20]) + (" ..." if len(users) > 20 else "")
        super().__init__(f"field {name!r} is used by: {shown}; change or remove them first")


class FieldValueError(ValueError):
    """A value that does not fit its field; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}"[:500])


class FieldPermissionError(PermissionError):
    """The user's role may not edit (or see) this field."""
