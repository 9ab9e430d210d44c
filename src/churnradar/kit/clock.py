"""An injectable clock, so that "now" can be frozen in tests and replayed in backtests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in naive UTC as stored in the database."""

    def now(self) -> datetime:
        """The current UTC time without tzinfo."""
        return datetime.now(UTC).replace(tzinfo=None)


class FrozenClock:
    """A clock that stays where it is set; tests move it by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        """The frozen time."""
        return self.at
