"""The one subscription list: an owner change reaches the intervention handover, whose counts come back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import pytest
from sqlalchemy.engine import Connection

from churnradar import reactions
from churnradar.config import Settings
from churnradar.customer.events import OwnersChanged

NOW = datetime(2026, 3, 2, 9, 0)


def test_owner_changes_are_answered_by_the_handover(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any, datetime]] = []

    def handover(conn: Connection, *, settings: Settings, now: datetime) -> dict[str, int]:
        calls.append((conn, settings, now))
        return {"task moved": 2, "no open task": 1}

    monkeypatch.setattr(reactions, "follow_owner_changes", handover)
    settings = Settings()
    conn = cast(Connection, object())
    event = OwnersChanged(at=NOW, customer_ids=(7,))
    reactions.dispatcher(settings).publish(conn, event)
    assert calls == [(conn, settings, NOW)]
    assert event.outcomes == {"task moved": 2, "no open task": 1}


def test_each_event_type_has_its_subscribers_listed_once() -> None:
    events = reactions.dispatcher(Settings())
    assert len(events.subscribers(OwnersChanged)) == 1


def test_outcomes_add_up_across_subscribers() -> None:
    event = OwnersChanged(at=NOW)
    event.count({"task moved": 1})
    event.count({"task moved": 2, "task kept": 1})
    assert event.outcomes == {"task moved": 3, "task kept": 1}
