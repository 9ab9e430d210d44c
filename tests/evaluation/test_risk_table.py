"""Each customer's stored risk row depends on the open alerts, not on the order the database returns them."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from churnradar.alert.lifecycle import Policy
from churnradar.evaluation.assess import Assessment
from churnradar.evaluation.service import risk_table

AS_OF = date(2026, 11, 2)


def _state() -> pd.DataFrame:
    # Customer 1: five open alerts, four of them tied at orange, so the top three must be chosen by a rule.
    rows = [
        (1, "general", "a_rule", "orange", None),
        (1, "general", "b_rule", "orange", None),
        (1, "general", "c_rule", "yellow", None),
        (1, "retail", "d_rule", "orange", None),
        (1, "general", "e_rule", "orange", "capped"),
        (2, "general", "a_rule", "yellow", None),
        (2, "general", "b_rule", "yellow", "silenced"),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "template", "rule", "level", "muted"])
    return frame.assign(
        reason_en=[f"{r} holds" for r in frame["rule"]], reason_zh=[f"{r} 成立" for r in frame["rule"]]
    )


def _assessment() -> Assessment:
    table = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "health_score": [40.0, 70.0, 90.0],
            "health_level": ["orange", None, None],
            "churn_probability": [float("nan")] * 3,
        }
    )
    return Assessment(table, pd.DataFrame())


@pytest.mark.parametrize("seed", range(6))
def test_reasons_do_not_depend_on_the_order_of_open_alerts(seed: int) -> None:
    state = _state()
    shuffled = state.sample(frac=1, random_state=seed).reset_index(drop=True)
    previous = pd.Series({1: 45.0, 2: 70.0})
    expected = risk_table(_assessment(), state, AS_OF, Policy(), previous)
    got = risk_table(_assessment(), shuffled, AS_OF, Policy(), previous)
    pd.testing.assert_frame_equal(got, expected)
    first = expected.set_index("customer_id").loc[1]
    assert first["reasons_en"] == "a_rule holds; b_rule holds; e_rule holds"
    assert first["reasons_zh"] == "a_rule 成立；b_rule 成立；e_rule 成立"
    assert expected.set_index("customer_id").loc[2, "reasons_en"] == "a_rule holds"


def test_the_same_reason_of_two_rules_is_listed_once() -> None:
    # The general rule and its retail override say the same thing: one reason, and the third slot goes on.
    state = _state()
    state.loc[state["rule"] == "d_rule", ["reason_en", "reason_zh"]] = ["a_rule holds", "a_rule 成立"]
    state.loc[state["rule"] == "b_rule", ["reason_en", "reason_zh"]] = ["a_rule holds", "a_rule 成立"]
    table = risk_table(_assessment(), state, AS_OF, Policy(), pd.Series({1: 45.0, 2: 70.0}))
    first = table.set_index("customer_id").loc[1]
    assert first["reasons_en"] == "a_rule holds; e_rule holds; c_rule holds"
    assert first["reasons_zh"] == "a_rule 成立；e_rule 成立；c_rule 成立"
    assert first["open_alerts"] == 5  # every open alert still counts
