"""Domain events: a domain says what happened, other domains react, in the same transaction.

A tiny in-process dispatcher. An event is a plain (frozen or not) dataclass named in the past tense
(`OwnersChanged`); a subscriber is a function of the open connection and the event. `publish` calls the
subscribers of the event's exact type in the order they subscribed, on the caller's connection, so their
writes commit or roll back with the change that raised the event; a subscriber's exception propagates to
the caller (and its transaction). Subscriptions are made in one place (`churnradar.reactions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

E = TypeVar("E")
Subscriber = Callable[[Connection, E], None]


class Dispatcher:
    """Which subscribers answer which event type; `publish` runs them synchronously, in order."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[Subscriber[Any]]] = {}

    def subscribe(self, kind: type[E], subscriber: Subscriber[E]) -> None:
        """Call `subscriber` for every published event of type `kind` (not its subclasses)."""
        self._subscribers.setdefault(kind, []).append(subscriber)

    def subscribers(self, kind: type[Any]) -> tuple[Subscriber[Any], ...]:
        """The subscribers of `kind`, in the order they will run."""
        return tuple(self._subscribers.get(kind, ()))

    def publish(self, conn: Connection, event: object) -> None:
        """Run every subscriber of the event's type on `conn` (the transaction of the change)."""
        for subscriber in self._subscribers.get(type(event), ()):
            subscriber(conn, event)
