"""The scoring domain's errors."""

from __future__ import annotations


class LeakageError(AssertionError):
    """A feature whose value at an as-of date changes when data from that date on is removed."""


class NotEnoughHistoryError(ValueError):
    """Too few labelled as-of dates to train on some and validate on later ones."""
