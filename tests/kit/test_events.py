"""The in-process domain event dispatcher: subscribers by exact type, in order, on the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest
from sqlalchemy.engine import Connection

from churnradar.kit.events import Dispatcher

CONN = cast(Connection, object())  # the dispatcher only hands the connection on


@dataclass
class Happened:
    what: str


@dataclass
class AlsoHappened(Happened):
    pass


def test_subscribers_run_in_order_with_the_connection_and_the_event() -> None:
    seen: list[tuple[str, Any, str]] = []
    events = Dispatcher()
    events.subscribe(Happened, lambda conn, e: seen.append(("first", conn, e.what)))
    events.subscribe(Happened, lambda conn, e: seen.append(("second", conn, e.what)))
    events.publish(CONN, Happened("x"))
    assert seen == [("first", CONN, "x"), ("second", CONN, "x")]
    assert len(events.subscribers(Happened)) == 2


def test_an_event_nobody_answers_is_fine_and_types_match_exactly() -> None:
    seen: list[str] = []
    events = Dispatcher()
    events.subscribe(Happened, lambda _conn, e: seen.append(e.what))
    events.publish(CONN, AlsoHappened("subclass"))
    events.publish(CONN, "not an event anyone subscribed to")
    assert seen == []
    assert events.subscribers(AlsoHappened) == ()


def test_a_failing_subscriber_stops_the_rest_and_reaches_the_caller() -> None:
    seen: list[str] = []

    def fail(_conn: Connection, _event: Happened) -> None:
        raise RuntimeError("refused")

    events = Dispatcher()
    events.subscribe(Happened, fail)
    events.subscribe(Happened, lambda _conn, e: seen.append(e.what))
    with pytest.raises(RuntimeError, match="refused"):
        events.publish(CONN, Happened("x"))
    assert seen == []  # the caller's transaction rolls back the whole change
