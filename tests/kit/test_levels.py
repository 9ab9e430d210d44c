"""The one definition of the warning levels and their order."""

from __future__ import annotations

from churnradar.alert.lifecycle import Policy
from churnradar.kit.levels import DEFAULT_LEVELS, Level, level_rank, level_ranks


def test_the_levels_lowest_first_as_stored_strings() -> None:
    assert DEFAULT_LEVELS == ("yellow", "orange", "red")
    assert all(type(level) is str for level in DEFAULT_LEVELS)  # stored and rendered as plain text
    assert Policy().levels == DEFAULT_LEVELS


def test_rank_orders_levels_and_puts_unknown_ones_below() -> None:
    assert [Level(name).rank for name in DEFAULT_LEVELS] == [0, 1, 2]
    assert Level.RED.rank > Level.ORANGE.rank > Level.YELLOW.rank
    assert level_rank("purple") == -1
    assert level_rank("red", ("yellow", "red")) == 1
    assert level_ranks() == {"yellow": 0, "orange": 1, "red": 2}
