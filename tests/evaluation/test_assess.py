"""Reasons rendered rule by rule say exactly what rendering each fired customer's whole row says, a
backtest's assessment without reasons fires the same rules, and the risk table shows the worst reasons."""

from __future__ import annotations

import json
import math

import pandas as pd
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import Policy
from churnradar.evaluation.assess import Assessment, assess
from churnradar.evaluation.service import risk_table
from churnradar.rule.language import FieldType
from churnradar.rule.reasons import render_reason
from tests.evaluation.conftest import AS_OF, judged


def _plain_number(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else round(number, 4)


def test_reasons_match_rendering_each_whole_row(db: Engine) -> None:
    book, wide, customers, assessment = judged(db)
    fired = assessment.fired
    assert len(fired) > 20
    assert fired["rule"].nunique() > 3
    rows = assessment.table.set_index("customer_id")
    for item in fired.itertuples(index=False):
        row = rows.loc[item.customer_id]
        definition = book.rule(item.template, item.rule)
        assert item.reason_en == render_reason(definition.reason_en, row)
        assert item.reason_zh == render_reason(definition.reason_zh, row)
        (compiled,) = [c for c in book.compiled if (c.template, c.rule.slug) == (item.template, item.rule)]
        expected = {
            n: _plain_number(row[n]) if book.fields[n] is FieldType.NUMBER else row[n]
            for n in sorted(compiled.names)
        }
        assert json.loads(item.values) == expected

    quiet = assess(wide, customers, book, reasons=False).fired
    key = ["customer_id", "rule", "template", "level"]
    assert quiet[key].sort_values(key).values.tolist() == fired[key].sort_values(key).values.tolist()
    assert set(quiet["reason_en"]) == {""}


def test_risk_table_shows_the_three_worst_unsilenced_reasons() -> None:
    table = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "health_score": [40.0, 80.0, 55.0],
            "health_level": ["orange", None, "yellow"],
            "churn_probability": [float("nan")] * 3,
        }
    )
    state = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 3, 3],
            "rule": ["a", "b", "c", "d", "a", "e"],
            "level": ["yellow", "red", "orange", "yellow", "yellow", "red"],
            "muted": [None, None, None, None, None, "silenced"],
            "reason_en": ["A", "B", "C", "D", "A3", "E3"],
            "reason_zh": ["甲", "乙", "丙", "丁", "甲3", "戊3"],
        }
    )
    assessment = Assessment(table, pd.DataFrame())
    risk = risk_table(assessment, state, AS_OF, Policy(), pd.Series({1: 50.0, 2: 80.0})).set_index(
        "customer_id"
    )
    assert risk.loc[1, "reasons_en"].split("; ")[:2] == ["B", "C"]  # red, then orange, then one yellow
    assert risk.loc[1, "reasons_en"].split("; ")[2] == "A"  # ties go by rule
    assert risk.loc[1, "reasons_zh"].count("；") == 2
    assert risk.loc[3, "reasons_en"] == "A3"  # the silenced red alert is not shown
    assert pd.isna(risk.loc[2, "reasons_en"])
    assert risk["open_alerts"].to_dict() == {1: 4, 2: 0, 3: 1}
    assert (risk.loc[1, "level"], risk.loc[3, "level"]) == ("red", "yellow")  # muted: no level
    assert risk.loc[1, "health_change"] == -10.0
    assert pd.isna(risk.loc[3, "health_change"])
