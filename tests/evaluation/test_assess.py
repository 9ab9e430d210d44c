"""Reasons rendered rule by rule say exactly what rendering each fired customer's whole row says, and a
backtest's assessment without reasons fires the same rules."""

from __future__ import annotations

import json
import math

from sqlalchemy.engine import Engine

from churnradar.evaluation.assess import assess
from churnradar.rule.language import FieldType
from churnradar.rule.reasons import render_reason
from tests.evaluation.conftest import judged


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
