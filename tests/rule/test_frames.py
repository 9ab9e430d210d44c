"""The rule stage's declared frame: what fires is keyed by customer and rule, at a known level."""

from __future__ import annotations

import pandas as pd
import pytest
from pandera.errors import SchemaError

from churnradar.kit.frames import checked
from churnradar.rule.frames import FiredRules

COLUMNS = ["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"]


def frame(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame([(c, r, "general", level, "", "", None) for c, r, level in rows], columns=COLUMNS)


def test_fired_rules_pass_with_extra_columns_and_when_none_fire() -> None:
    fired = frame((1, "a", "red"), (1, "b", "yellow"), (2, "a", "orange")).assign(extra=1)
    assert checked(FiredRules, fired) is fired
    empty = pd.DataFrame(columns=COLUMNS)
    assert checked(FiredRules, empty) is empty


def test_a_rule_firing_twice_for_a_customer_or_an_unknown_level_fails() -> None:
    with pytest.raises(SchemaError, match="not unique"):
        checked(FiredRules, frame((1, "a", "red"), (1, "a", "yellow")))
    with pytest.raises(SchemaError, match=r"level.*amber"):
        checked(FiredRules, frame((1, "a", "amber")))
    with pytest.raises(SchemaError, match="rule"):
        checked(FiredRules, frame((1, "a", "red")).assign(rule=None))
