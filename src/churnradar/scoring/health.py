"""The health score: 0-100 per customer from its template's weighted indicator sub-scores, and its band.

Pure and vectorised: one numpy pass per template over the customers that use it, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from churnradar.rule.schemas import HealthBand, HealthPart, Template

GENERAL = "general"
COLUMNS = ["customer_id", "health_score", "health_level"]
Floats = npt.NDArray[np.float64]


def part_scores(values: Floats, parts: Sequence[HealthPart]) -> tuple[Floats, Floats]:
    """Sub-scores in 0..1 (NaN where the value is missing) and the weights present, one row per customer."""
    good = np.array([p.good for p in parts], dtype=np.float64)
    bad = np.array([p.bad for p in parts], dtype=np.float64)
    weight = np.array([p.weight for p in parts], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        # An infinite value (a ratio over a tiny baseline) is far on one side and clips to 0 or 1.
        sub = np.clip((values - bad) / (good - bad), 0.0, 1.0)
    present = ~np.isnan(values)
    return np.where(present, sub, np.nan), np.where(present, weight, 0.0)


def score(values: Floats, parts: Sequence[HealthPart]) -> Floats:
    """Weighted mean of the present sub-scores times 100, one decimal; NaN when no part is present."""
    if not parts:
        return np.full(values.shape[0], np.nan)
    sub, weight = part_scores(values, parts)
    total = weight.sum(axis=1)
    weighted = np.where(weight > 0, np.nan_to_num(sub) * weight, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(total > 0, weighted / total * 100.0, np.nan)
    # Half up, after removing float noise: 63.75 shows as 63.8, as a person computing by hand expects.
    rounded: Floats = np.floor(np.round(result * 10.0, 6) + 0.5) / 10.0
    return rounded


def band_levels(scores: Floats, bands: Sequence[HealthBand]) -> npt.NDArray[np.object_]:
    """Each score's band level: the band with the lowest `below` the score is under, else None."""
    ordered = sorted(bands, key=lambda b: b.below)
    none = np.full(len(scores), None, dtype=object)
    if not ordered:
        return none
    # np.select takes the first true condition: bands ascend, so the lowest applicable one wins.
    conditions = [scores < band.below for band in ordered]
    choices = [np.full(len(scores), band.level, dtype=object) for band in ordered]
    return np.select(conditions, choices, default=none)


def part_values(wide: pd.DataFrame, parts: Sequence[HealthPart]) -> Floats:
    """Each part's indicator value per row of `wide` (NaN where missing or not a column)."""
    return _values(wide, np.arange(len(wide)), parts)


def _values(wide: pd.DataFrame, rows: npt.NDArray[np.intp], parts: Sequence[HealthPart]) -> Floats:
    values = np.full((len(rows), len(parts)), np.nan)
    for j, part in enumerate(parts):
        if part.indicator in wide.columns:
            column = pd.to_numeric(wide[part.indicator].iloc[rows], errors="coerce")
            values[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def health_scores(
    wide: pd.DataFrame, template_of_customer: pd.Series, templates: Mapping[str, Template]
) -> pd.DataFrame:
    """`customer_id, health_score, health_level` for each row of `wide`, in its order.

    `wide` holds `customer_id` and a float column per indicator; `template_of_customer` maps customer_id
    (its index) to a template slug. Customers it does not list, or lists with an unknown slug, use general.
    """
    ids = wide["customer_id"]
    slugs = ids.map(template_of_customer).where(lambda s: s.isin(list(templates)), GENERAL)
    scores = np.full(len(wide), np.nan)
    levels = np.full(len(wide), None, dtype=object)
    for slug in pd.unique(slugs):
        template = templates[str(slug)]
        rows = np.flatnonzero((slugs == slug).to_numpy())
        scores[rows] = score(_values(wide, rows, template.health), template.health)
        levels[rows] = band_levels(scores[rows], template.bands)
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "health_score": scores,
            "health_level": pd.Series(levels, dtype=object),
        },
        columns=COLUMNS,
    )


def _logistic_loss(params: Floats, bad: Floats, truth: Floats, l2: float) -> tuple[float, Floats]:
    """Mean log-loss of sigmoid(b + bad @ w) and its gradient; params = (b, w...)."""
    z = params[0] + bad @ params[1:]
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    eps = 1e-12
    loss = -np.mean(truth * np.log(p + eps) + (1 - truth) * np.log(1 - p + eps))
    residual = (p - truth) / len(truth)
    grad = np.concatenate([[residual.sum()], bad.T @ residual + 2 * l2 * params[1:]])
    return float(loss + l2 * float(params[1:] @ params[1:])), np.asarray(grad, dtype=np.float64)


def fit_weights(values: Floats, parts: Sequence[HealthPart], churned: npt.NDArray[np.bool_]) -> Floats:
    """Weights for `parts` learned from outcomes: a logistic model of churn on each part's shortfall
    (1 - sub-score), its coefficients held non-negative so a healthier part never raises the risk (the score
    stays monotone in every indicator), scaled to the template's total weight. A missing value counts as the
    part's mean shortfall, as the score's weighted mean of the present parts treats it."""
    from scipy.optimize import minimize

    sub, _ = part_scores(values, parts)
    shortfall = 1.0 - sub
    means = np.nanmean(np.where(np.isnan(shortfall).all(axis=0), 0.0, shortfall), axis=0)
    filled = np.where(np.isnan(shortfall), means, shortfall)
    truth = churned.astype(np.float64)
    start = np.zeros(len(parts) + 1)
    bounds = [(None, None)] + [(0.0, None)] * len(parts)
    result = minimize(
        _logistic_loss, start, args=(filled, truth, 1e-3), jac=True, method="L-BFGS-B", bounds=bounds
    )
    learned = np.asarray(result.x[1:], dtype=np.float64)
    total = sum(p.weight for p in parts)
    if learned.sum() <= 0:
        return np.array([p.weight for p in parts], dtype=np.float64)
    return np.asarray(learned / learned.sum() * total, dtype=np.float64)


def learned_parts(parts: Sequence[HealthPart], weights: Floats) -> list[HealthPart]:
    """`parts` with learned weights; parts given (almost) no weight are left out, one is always kept."""
    floor = 0.01 * float(weights.sum())
    kept = [
        p.model_copy(update={"weight": float(w)}) for p, w in zip(parts, weights, strict=True) if w > floor
    ]
    return kept or list(parts)


def reweighted(
    templates: Mapping[str, Template], weights: Mapping[str, Mapping[str, float]]
) -> dict[str, Template]:
    """`templates` with the health weights a model learned (by template, then indicator) where it learned
    them for exactly the parts a template has now; a template whose parts changed since keeps its own."""
    out = dict(templates)
    for slug, template in templates.items():
        learned = weights.get(slug)
        if not learned or {p.indicator for p in template.health} != set(learned):
            continue
        vector = np.array([learned[p.indicator] for p in template.health], dtype=np.float64)
        out[slug] = template.model_copy(update={"health": learned_parts(template.health, vector)})
    return out
