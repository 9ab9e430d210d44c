"""The indicator domain's errors."""

from __future__ import annotations


class DefinitionError(ValueError):
    """A definition file that cannot be read, or definitions that do not fit together."""


class IndicatorNotFoundError(LookupError):
    """No custom indicator of that name is stored."""


class IndicatorInUseError(ValueError):
    """A custom indicator that rules read cannot be removed; `rules` names them."""

    def __init__(self, name: str, rules: list[str]) -> None:
        self.rules = rules
        shown = ", ".join(rules[:20]) + (" ..." if len(rules) > 20 else "")
        super().__init__(f"indicator {name!r} is used by rules: {shown}; change or remove them first")
