"""Reason codes: the features that push a customer's churn score up most, in words a salesperson reads.

Contributions are LightGBM's `pred_contrib` (exact tree SHAP values, in log-odds). A reason names the
feature with the indicator registry's words and says whether the value is high or low against the typical
(median) training value, e.g. "Days since last order is high (74)"; the Chinese comes from the catalog
(`churnradar.i18n`) and the indicator registry's Chinese names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from churnradar import i18n
from churnradar.i18n import N_
from churnradar.indicator import service as indicator_service
from churnradar.scoring.dataset import TENURE


@dataclass(frozen=True)
class Words:
    """How to name a feature and format its value, in both languages."""

    name_en: str
    name_zh: str
    unit: str = ""


TENURE_NAME = N_("Customer tenure in days")
NONE_RECORDED = N_("{feature}: none recorded")
HIGH, LOW = N_("{feature} is high ({value})"), N_("{feature} is low ({value})")


def extra_words() -> dict[str, Words]:
    """Words for the features the indicator registry does not name."""
    return {TENURE: Words(TENURE_NAME, i18n.translate(TENURE_NAME, "zh_CN"), "days")}


@cache
def _phrases() -> dict[str, tuple[str, str]]:
    """Each reason phrase in English and Chinese, looked up once (explain fills them for every customer)."""
    return {p: (i18n.translate(p, "en"), i18n.translate(p, "zh_CN")) for p in (NONE_RECORDED, HIGH, LOW)}


def feature_words(features: Sequence[str]) -> dict[str, Words]:
    """Words for each feature: the indicator registry's names, then our own extras, else the slug itself."""
    known = {i.slug: Words(i.name_en, i.name_zh, i.unit) for i in indicator_service.selected_indicators()}
    known |= extra_words()
    return {f: known.get(f, Words(f.replace("_", " ").capitalize(), f)) for f in features}


def format_value(value: float, unit: str) -> str:
    """A value as a person writes it: large or whole numbers without decimals, percentages with a % sign."""
    if math.isinf(value):
        return "∞"
    if unit == "%":
        return f"{value:,.0f}%"
    if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
        return f"{round(value):,}"
    return f"{value:,.2f}" if abs(value) < 1 else f"{value:,.1f}"


def reason(words: Words, value: float, median: float | None) -> tuple[str, str]:
    """One reason in English and Chinese (the catalog's phrase, filled with the feature's names)."""
    if math.isnan(value):
        en, zh = _phrases()[NONE_RECORDED]
        return en.format(feature=words.name_en), zh.format(feature=words.name_zh)
    shown = format_value(value, words.unit)
    high = median is None or math.isnan(median) or value >= median
    en, zh = _phrases()[HIGH if high else LOW]
    return en.format(feature=words.name_en, value=shown), zh.format(feature=words.name_zh, value=shown)


@dataclass(frozen=True)
class Explained:
    """Top reasons per row: joined texts in both languages and the contributions behind them."""

    reasons_en: list[str]
    reasons_zh: list[str]
    contributions: list[dict[str, float]]


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
    out_en, out_zh, out_c = [], [], []
    between_en, between_zh = i18n.separator("en"), i18n.separator("zh_CN")
    for row, picks in enumerate(order):
        en, zh, used = [], [], {}
        for j in picks:
            weight = float(contrib[row, j])
            if weight <= 0:
                break
            name = features[j]
            text_en, text_zh = reason(words[name], float(matrix[row, j]), medians.get(name))
            en.append(text_en)
            zh.append(text_zh)
            used[name] = round(weight, 4)
        out_en.append(between_en.join(en))
        out_zh.append(between_zh.join(zh))
        out_c.append(used)
    return Explained(out_en, out_zh, out_c)
