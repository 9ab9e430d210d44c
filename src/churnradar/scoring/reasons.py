"""Reason codes: the features that push a customer's churn score up most, in words a salesperson reads.

Contributions are LightGBM's `pred_contrib` (exact tree SHAP values, in log-odds). A reason names the
feature with the indicator registry's words and says how its value stands: a change against the customer's
own baseline as "down 60% against usual" ("Orders last 30 days vs monthly baseline: down 60% against
usual"), any other value next to the typical (median) training value ("Days since last order: 74, typically
12"). The Chinese comes from the catalog (`churnradar.i18n`) and the indicator registry's Chinese names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from churnradar import i18n
from churnradar.i18n import N_
from churnradar.indicator import service as indicator_service
from churnradar.indicator.schemas import GapVsMedian, Indicator, PctChange, Ratio, WindowAgg
from churnradar.scoring.dataset import TENURE, change_feature
from churnradar.scoring.segments import segment_feature, segment_indicator

# How a value reads: a level (next to the typical value), a ratio to the customer's baseline (1 = usual),
# a percent change against it, or a percent drop (positive = down).
# delta: the change since four weeks earlier; segment: the difference from the segment's median.
Shape = Literal["level", "ratio", "pct", "drop", "delta", "segment"]


@dataclass(frozen=True)
class Words:
    """How to name a feature and read its value, in both languages."""

    name_en: str
    name_zh: str
    unit: str = ""
    shape: Shape = "level"


TENURE_NAME = N_("Days as a customer")
NONE_RECORDED = N_("{feature}: none recorded")
DOWN = N_("{feature}: down {percent} against usual")
UP = N_("{feature}: up {percent} against usual")
AGAINST = N_("{feature}: {value}, typically {typical}")
PLAIN = N_("{feature}: {value}")
FELL = N_("{feature}: down {amount} in 4 weeks")
ROSE = N_("{feature}: up {amount} in 4 weeks")
STEADY = N_("{feature}: unchanged in 4 weeks")
BELOW_SEGMENT = N_("{feature}: {percent} below its segment's usual")
ABOVE_SEGMENT = N_("{feature}: {percent} above its segment's usual")
AGAINST_SEGMENT = N_("{feature}: {value}, its segment's usual {typical}")
PHRASES = (
    NONE_RECORDED,
    DOWN,
    UP,
    AGAINST,
    PLAIN,
    FELL,
    ROSE,
    STEADY,
    BELOW_SEGMENT,
    ABOVE_SEGMENT,
    AGAINST_SEGMENT,
)


def extra_words() -> dict[str, Words]:
    """Words for the features the indicator registry does not name."""
    return {TENURE: Words(TENURE_NAME, i18n.translate(TENURE_NAME, "zh_CN"), "days")}


@cache
def _phrases() -> dict[str, tuple[str, str]]:
    """Each reason phrase in English and Chinese, looked up once (explain fills them for every customer)."""
    return {p: (i18n.translate(p, "en"), i18n.translate(p, "zh_CN")) for p in PHRASES}


def shape_of(indicator: Indicator, by_slug: Mapping[str, Indicator]) -> Shape:
    """How an indicator's value reads: against the customer's own baseline (a change, a ratio to an earlier
    period or to its usual gap) or as a level (next to the typical customer's value)."""
    params = indicator.params
    if isinstance(params, PctChange):
        return "drop" if params.drop else "pct"
    if isinstance(params, GapVsMedian):
        return "ratio"
    if isinstance(params, Ratio):
        base = by_slug.get(params.denominator)
        # Against an earlier period or a per-month baseline of the customer's own, not any other quantity.
        earlier = base is not None and isinstance(base.params, WindowAgg) and base.params.offset_days > 0
        per_month = (
            base is not None and isinstance(base.params, WindowAgg) and base.params.per_days is not None
        )
        if earlier or per_month:
            return "ratio"
    return "level"


def indicator_words(indicator: Indicator, by_slug: Mapping[str, Indicator]) -> Words:
    """An indicator's words, from the registry."""
    return Words(indicator.name_en, indicator.name_zh, indicator.unit, shape_of(indicator, by_slug))


def feature_words(features: Sequence[str]) -> dict[str, Words]:
    """Words for each feature: the indicator registry's names, then our own extras, else the slug itself."""
    indicators = indicator_service.selected_indicators()
    by_slug = {i.slug: i for i in indicators}
    known = {i.slug: indicator_words(i, by_slug) for i in indicators}
    known |= {
        change_feature(i.slug): Words(i.name_en, i.name_zh, i.unit, "delta")
        for i in indicators
        if change_feature(i.slug) in features
    }
    known |= {
        segment_feature(i.slug): Words(i.name_en, i.name_zh, i.unit, "segment")
        for i in indicators
        if segment_feature(i.slug) in features
    }
    known |= extra_words()
    return {f: known.get(f, Words(f.replace("_", " ").capitalize(), f)) for f in features}


def format_value(value: float, unit: str) -> str:
    """A value as a person writes it: large or whole numbers without decimals, percentages with a % sign."""
    if math.isinf(value):
        return "∞"
    if unit == "%":
        return f"{value:,.0f}%"
    if unit == "share":
        return f"{value:.0%}"
    if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
        return f"{round(value):,}"
    return f"{value:,.2f}" if abs(value) < 1 else f"{value:,.1f}"


def _change(words: Words, value: float) -> float | None:
    """The value as a percent change against the customer's usual (negative: down), None for a level."""
    if words.shape == "ratio":
        return (value - 1.0) * 100.0
    if words.shape == "pct":
        return value
    if words.shape == "drop":
        return -value
    return None


def _fill(phrase: str, words: Words, **values: str) -> tuple[str, str]:
    en, zh = _phrases()[phrase]
    return en.format(feature=words.name_en, **values), zh.format(feature=words.name_zh, **values)


def _delta(words: Words, value: float) -> tuple[str, str]:
    """A change since four weeks earlier: "Orders in the last 30 days: down 4 in 4 weeks"."""
    amount = format_value(abs(value), words.unit)
    if amount in ("0", "0%"):
        return _fill(STEADY, words)
    return _fill(FELL if value < 0 else ROSE, words, amount=amount)


def _against_segment(words: Words, gap: float, typical: float | None) -> tuple[str, str]:
    """A gap from the segment's median: "Orders in the last 30 days: 60% below its segment's usual"."""
    if typical is None or math.isnan(typical):
        return _fill(PLAIN, words, value=format_value(gap, words.unit))
    percent = gap / abs(typical) * 100.0 if typical else math.inf
    if not math.isinf(percent) and round(percent) != 0:
        phrase = BELOW_SEGMENT if percent < 0 else ABOVE_SEGMENT
        return _fill(phrase, words, percent=f"{abs(percent):,.0f}%")
    shown, usual = format_value(typical + gap, words.unit), format_value(typical, words.unit)
    return _fill(AGAINST_SEGMENT, words, value=shown, typical=usual)


def reason(words: Words, value: float, median: float | None) -> tuple[str, str]:
    """One reason in English and Chinese (the catalog's phrase, filled with the feature's names).

    For a segment feature `value` is the gap from the segment's median and `median` that segment's median.
    """
    if math.isnan(value):
        return _fill(NONE_RECORDED, words)
    if words.shape == "delta":
        return _delta(words, value)
    if words.shape == "segment":
        return _against_segment(words, value, median)
    change = _change(words, value)
    if change is not None and not math.isinf(change) and round(change) != 0:
        return _fill(DOWN if change < 0 else UP, words, percent=f"{abs(change):,.0f}%")
    shown = format_value(value, words.unit)
    if median is None or math.isnan(median) or change is not None:
        return _fill(PLAIN, words, value=shown)
    return _fill(AGAINST, words, value=shown, typical=format_value(median, words.unit))


@dataclass(frozen=True)
class Reason:
    """One feature raising a customer's risk: its value, the typical one, its contribution and its words."""

    feature: str
    value: float | None
    typical: float | None
    contribution: float  # log-odds
    text_en: str
    text_zh: str


@dataclass(frozen=True)
class Explained:
    """Top reasons per row: joined texts in both languages, the contributions behind them, and the items."""

    reasons_en: list[str]
    reasons_zh: list[str]
    contributions: list[dict[str, float]]
    items: list[list[Reason]]


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def explain(
    contributions: npt.NDArray[np.float64],
    values: pd.DataFrame,
    medians: Mapping[str, float],
    words: Mapping[str, Words],
    *,
    top: int = 3,
) -> Explained:
    """The `top` features raising each row's risk (positive contributions only), as words."""
    features = list(values.columns)
    contrib = contributions[:, : len(features)]  # the last column is the bias (expected value)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    matrix = values.to_numpy(dtype=np.float64, na_value=np.nan)
    column = {f: j for j, f in enumerate(features)}
    # A segment feature's typical value is its segment's median: the indicator's value minus the gap.
    base = {j: column.get(segment_indicator(f) or "") for j, f in enumerate(features) if segment_indicator(f)}
    out_en, out_zh, out_c, out_items = [], [], [], []
    between_en, between_zh = i18n.separator("en"), i18n.separator("zh_CN")
    for row, picks in enumerate(order):
        items = []
        for j in picks:
            weight = float(contrib[row, j])
            if weight <= 0:
                break
            name = features[j]
            value, typical = float(matrix[row, j]), medians.get(name)
            if j in base:
                at = base[j]
                typical = None if at is None else float(matrix[row, at]) - value
            text_en, text_zh = reason(words[name], value, typical)
            items.append(Reason(name, _finite(value), _finite(typical), round(weight, 4), text_en, text_zh))
        out_en.append(between_en.join(r.text_en for r in items))
        out_zh.append(between_zh.join(r.text_zh for r in items))
        out_c.append({r.feature: r.contribution for r in items})
        out_items.append(items)
    return Explained(out_en, out_zh, out_c, out_items)
