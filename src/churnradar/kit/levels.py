"""The warning levels and their order: the one definition every layer, from settings to pages, uses."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class Level(StrEnum):
    """The warning levels, lowest first: the order of the members is the order of severity.

    The one definition rules, playbooks, bands, drafts, alerts, tasks and pages use. Levels are stored and
    passed as their plain string values; `DEFAULT_LEVELS` is that order as strings, and the helpers below
    rank a level within it (or within the levels a caller was given, such as `alert.lifecycle.Policy`'s).
    """

    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 for the lowest level; higher is worse."""
        return level_rank(self)


# The levels as the plain strings stored in the database, lowest first.
DEFAULT_LEVELS: tuple[str, ...] = tuple(level.value for level in Level)


def level_ranks(levels: Sequence[str] = DEFAULT_LEVELS) -> dict[str, int]:
    """Each level's position in `levels`, lowest first: higher is worse."""
    return {level: i for i, level in enumerate(levels)}


def level_rank(level: str, levels: Sequence[str] = DEFAULT_LEVELS) -> int:
    """The position of `level` in `levels` (higher is worse); -1 for a level that is not one of them."""
    return level_ranks(levels).get(level, -1)
