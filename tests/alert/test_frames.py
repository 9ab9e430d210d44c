"""The alert stage's declared frames: a real step's state and changes pass; a broken one fails, naming why."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from pandera.errors import SchemaError

from churnradar.alert.frames import AlertChanges, AlertState
from churnradar.alert.lifecycle import Policy, empty_state, step
from churnradar.kit.frames import checked

DAY0 = date(2024, 3, 4)


def fired(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c, r, "general", level, r, r, None) for c, r, level in rows],
        columns=["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"],
    )


def test_a_real_step_and_an_empty_one_pass_unchanged() -> None:
    first = step(empty_state(), fired((1, "a", "yellow"), (2, "b", "red")), as_of=DAY0, policy=Policy())
    second = step(first.state, fired((1, "a", "red")), as_of=DAY0 + timedelta(days=7), policy=Policy())
    for result in (first, second, step(empty_state(), fired(), as_of=DAY0, policy=Policy())):
        assert checked(AlertState, result.state) is result.state
        assert checked(AlertChanges, result.events) is result.events


def test_an_alert_open_twice_fails_on_its_key() -> None:
    state = step(empty_state(), fired((1, "a", "yellow")), as_of=DAY0, policy=Policy()).state
    with pytest.raises(SchemaError, match=r"customer_id.*rule.*not unique"):
        checked(AlertState, pd.concat([state, state], ignore_index=True))


def test_an_unknown_level_or_change_kind_or_mute_fails_naming_the_value() -> None:
    result = step(empty_state(), fired((1, "a", "yellow")), as_of=DAY0, policy=Policy())
    with pytest.raises(SchemaError, match=r"level.*purple"):
        checked(AlertState, result.state.assign(level="purple"))
    with pytest.raises(SchemaError, match=r"muted.*snoozed"):
        checked(AlertState, result.state.assign(muted="snoozed"))
    with pytest.raises(SchemaError, match=r"kind.*reopened"):
        checked(AlertChanges, result.events.assign(kind="reopened"))
    with pytest.raises(SchemaError, match="customer_id"):
        checked(AlertChanges, result.events.assign(customer_id="C-1"))
    with pytest.raises(SchemaError, match="cause"):
        checked(AlertChanges, result.events.drop(columns="cause"))
