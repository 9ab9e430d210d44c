"""The health score: checked by hand, missing values, templates per customer, and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnradar.rule.schemas import HealthBand, HealthPart, Template
from churnradar.scoring.health import fit_weights, health_scores, learned_parts, reweighted, score

# a: higher is better; b: lower is better (good < bad); c: a ratio, good at 1.
PARTS = [
    HealthPart(indicator="a", weight=2, good=10, bad=0),
    HealthPart(indicator="b", weight=1, good=0, bad=60),
    HealthPart(indicator="c", weight=1, good=1, bad=0.5),
]
BANDS = [
    HealthBand(below=40, level="red"),
    HealthBand(below=55, level="orange"),
    HealthBand(below=70, level="yellow"),
]
GENERAL = Template(slug="general", name_en="General", name_zh="通用", health=PARTS, bands=BANDS)
ONLY_B = Template(
    slug="saas", name_en="SaaS", name_zh="SaaS", health=[PARTS[1]], bands=[HealthBand(below=50, level="red")]
)
TEMPLATES = {"general": GENERAL, "saas": ONLY_B}


def _frame(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"customer_id": cid, "a": a, "b": b, "c": c} for cid, (a, b, c) in rows.items()],
        columns=["customer_id", "a", "b", "c"],
    )


class TestByHand:
    @pytest.mark.parametrize(
        ("values", "expected", "level"),
        [
            # (2 * 0.5 + 1 * 0.75 + 1 * 0.8) / 4 = 0.6375
            pytest.param((5, 15, 0.9), 63.8, "yellow", id="all_present"),
            # b missing: (2 * 0.5 + 1 * 0.8) / 3 = 0.6
            pytest.param((5, math.nan, 0.9), 60.0, "yellow", id="renormalised"),
            # a above good, b beyond bad, c above good: (2 * 1 + 0 + 1) / 4 = 0.75
            pytest.param((25, 90, 1.4), 75.0, None, id="clipped"),
            # only b present, reversed (good < bad): 1 - 45 / 60 = 0.25
            pytest.param((math.nan, 45, math.nan), 25.0, "red", id="reversed_part_alone"),
            pytest.param((0, 60, 0.5), 0.0, "red", id="all_bad"),
            # (2 * 0.4 + 1 * 0.5 + 1 * 0.5) / 4 = 0.45
            pytest.param((4, 30, 0.75), 45.0, "orange", id="orange_band"),
            pytest.param((10, 0, 1), 100.0, None, id="all_good"),
            pytest.param((math.inf, -math.inf, math.inf), 100.0, None, id="infinite_is_far"),
        ],
    )
    def test_score_and_band(
        self, values: tuple[float, float, float], expected: float, level: str | None
    ) -> None:
        result = health_scores(_frame({"x": values}), pd.Series(dtype=object), TEMPLATES)
        assert result.to_dict("records") == [
            {"customer_id": "x", "health_score": expected, "health_level": level}
        ]

    def test_no_part_present_gives_null(self) -> None:
        result = health_scores(
            _frame({"x": (math.nan, math.nan, math.nan)}), pd.Series(dtype=object), TEMPLATES
        )
        assert math.isnan(result.loc[0, "health_score"])
        assert result.loc[0, "health_level"] is None

    def test_band_edge_is_exclusive(self) -> None:
        # Exactly 40 is not below 40: orange, not red. (2 * 0.4 + 0.4 + 0.4) / 4 = 0.4
        result = health_scores(_frame({"x": (4, 36, 0.7)}), pd.Series(dtype=object), TEMPLATES)
        assert result.loc[0, ["health_score", "health_level"]].tolist() == [40.0, "orange"]


class TestTemplates:
    def test_each_customer_scored_by_its_template_in_row_order(self) -> None:
        wide = _frame({"g": (5, 15, 0.9), "s": (5, 15, 0.9), "u": (5, 15, 0.9), "m": (5, 15, 0.9)})
        of_customer = pd.Series({"s": "saas", "u": "no_such_template", "zzz": "saas"})
        result = health_scores(wide, of_customer, TEMPLATES)
        assert result["customer_id"].tolist() == ["g", "s", "u", "m"]
        assert result["health_score"].tolist() == [63.8, 75.0, 63.8, 63.8]
        assert result["health_level"].tolist() == ["yellow", None, "yellow", "yellow"]

    def test_indicator_column_absent_counts_as_missing(self) -> None:
        wide = pd.DataFrame({"customer_id": ["x"], "a": [5.0]})
        result = health_scores(wide, pd.Series(dtype=object), TEMPLATES)
        assert result["health_score"].tolist() == [50.0]

    def test_template_without_parts_scores_null(self) -> None:
        empty = Template(slug="general", name_en="General", name_zh="通用")
        result = health_scores(_frame({"x": (5, 15, 0.9)}), pd.Series(dtype=object), {"general": empty})
        assert math.isnan(result.loc[0, "health_score"])
        assert result.loc[0, "health_level"] is None

    def test_empty_frame(self) -> None:
        result = health_scores(_frame({}), pd.Series(dtype=object), TEMPLATES)
        assert list(result.columns) == ["customer_id", "health_score", "health_level"]
        assert result.empty

    def test_nullable_columns(self) -> None:
        wide = pd.DataFrame({"customer_id": ["x", "y"], "a": pd.array([5.0, None], dtype="Float64")})
        result = health_scores(wide, pd.Series(dtype=object), TEMPLATES)
        assert result["health_score"].tolist()[0] == 50.0
        assert math.isnan(result["health_score"].tolist()[1])


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
value = st.one_of(finite, st.just(math.nan))


@st.composite
def parts_and_values(draw: st.DrawFn) -> tuple[list[HealthPart], list[float]]:
    n = draw(st.integers(min_value=1, max_value=6))
    parts = []
    for i in range(n):
        good, bad = draw(st.tuples(finite, finite).filter(lambda gb: gb[0] != gb[1]))
        weight = draw(st.floats(min_value=0.01, max_value=100))
        parts.append(HealthPart(indicator=f"p{i}", weight=weight, good=good, bad=bad))
    return parts, draw(st.lists(value, min_size=n, max_size=n))


@settings(max_examples=300, deadline=None)
@given(parts_and_values())
def test_score_within_range_and_null_only_without_values(case: tuple[list[HealthPart], list[float]]) -> None:
    parts, values = case
    result = score(np.array([values], dtype=np.float64), parts)[0]
    if all(math.isnan(v) for v in values):
        assert math.isnan(result)
    else:
        assert 0.0 <= result <= 100.0


@settings(max_examples=300, deadline=None)
@given(parts_and_values(), st.data())
def test_score_monotone_in_each_parts_direction(
    case: tuple[list[HealthPart], list[float]], data: st.DataObject
) -> None:
    parts, values = case
    j = data.draw(st.integers(min_value=0, max_value=len(parts) - 1))
    start = values[j] if not math.isnan(values[j]) else data.draw(finite)
    step = data.draw(st.floats(min_value=0, max_value=1e6))
    toward_good = 1.0 if parts[j].good > parts[j].bad else -1.0
    before = [*values[:j], start, *values[j + 1 :]]
    after = [*values[:j], start + toward_good * step, *values[j + 1 :]]
    scores = score(np.array([before, after], dtype=np.float64), parts)
    assert scores[1] >= scores[0]


def test_learned_weights_follow_the_outcomes_and_stay_monotone() -> None:
    rng = np.random.default_rng(5)
    n = 4_000
    a = rng.uniform(0, 10, n)  # its shortfall drives churn
    b = rng.uniform(0, 60, n)  # noise
    c = rng.uniform(0.5, 1.0, n)  # healthier c, *more* churn: a monotone score must not reward that
    shortfall_a, health_c = 1 - a / 10, (c - 0.5) / 0.5
    churned = rng.random(n) < 1 / (1 + np.exp(-(-3 + 4 * shortfall_a + 1.5 * health_c)))
    values = np.column_stack([a, b, c])
    values[rng.random(n) < 0.1, 0] = np.nan  # missing values count as the part's mean shortfall
    weights = fit_weights(values, PARTS, churned)
    assert weights.sum() == pytest.approx(sum(p.weight for p in PARTS))
    assert weights[0] > 0.8 * weights.sum()
    assert weights[2] == pytest.approx(0.0, abs=1e-6)
    kept = learned_parts(PARTS, weights)
    assert [p.indicator for p in kept] in (["a"], ["a", "b"])  # c left out, b kept only if it got some weight


def test_learned_weights_apply_only_to_templates_whose_parts_are_unchanged() -> None:
    learned = {
        "general": {"a": 3.0, "b": 1.0, "c": 0.0},
        "saas": {"a": 1.0, "b": 1.0},  # saas has only b now: edited since the fit, so its own weights stay
    }
    got = reweighted(TEMPLATES, learned)
    assert [(p.indicator, p.weight) for p in got["general"].health] == [("a", 3.0), ("b", 1.0)]
    assert got["general"].health[0].good == PARTS[0].good  # only the weights change
    assert got["saas"] == ONLY_B
    assert TEMPLATES["general"].health == PARTS  # the templates given are not touched
