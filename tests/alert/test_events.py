"""`AlertsChanged` reads a lifecycle step as typed records: each opened, escalated and resolved alert once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from churnradar.alert.events import AlertEscalated, AlertOpened, AlertResolved, AlertsChanged
from churnradar.alert.lifecycle import SILENCED, Policy, empty_state, step
from churnradar.kit.levels import Level

DAY0 = date(2024, 3, 4)
WEEK = timedelta(days=7)
AT = datetime(2024, 3, 4, 6, 0)


def fired(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c, r, "saas", level, f"{r} fired", f"{r} 触发", None) for c, r, level in rows],
        columns=["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"],
    )


def test_a_step_reads_as_opened_escalated_and_resolved_records() -> None:
    first = step(
        empty_state(), fired((1, "logins", "yellow"), (2, "tickets", "orange")), as_of=DAY0, policy=Policy()
    )
    opened = AlertsChanged(as_of=DAY0, at=AT, step=first)
    assert sorted(opened.opened, key=lambda a: a.customer_id) == [
        AlertOpened(1, "logins", "saas", Level.YELLOW, None),
        AlertOpened(2, "tickets", "saas", Level.ORANGE, None),
    ]
    assert opened.escalated == ()
    assert opened.resolved == ()

    policy = Policy(auto_resolve_after=1)
    second = step(first.state, fired((1, "logins", "red")), as_of=DAY0 + WEEK, policy=policy)
    changed = AlertsChanged(as_of=DAY0 + WEEK, at=AT, step=second)
    assert changed.opened == ()
    assert changed.escalated == (AlertEscalated(1, "logins", "saas", Level.YELLOW, Level.RED, None),)
    assert changed.resolved == (AlertResolved(2, "tickets", Level.ORANGE, DAY0 + WEEK),)
    assert all(isinstance(a.to_level, Level) for a in changed.escalated)


def test_an_alert_opened_under_a_silence_says_it_is_muted() -> None:
    silences = pd.DataFrame({"customer_id": [3], "rule": [None]})
    result = step(empty_state(), fired((3, "logins", "red")), as_of=DAY0, policy=Policy(), silences=silences)
    assert AlertsChanged(as_of=DAY0, at=AT, step=result).opened == (
        AlertOpened(3, "logins", "saas", Level.RED, SILENCED),
    )


def test_a_step_without_changes_has_no_records() -> None:
    result = step(empty_state(), fired(), as_of=DAY0, policy=Policy())
    event = AlertsChanged(as_of=DAY0, at=AT, step=result)
    assert (event.opened, event.escalated, event.resolved) == ((), (), ())
