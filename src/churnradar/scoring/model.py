"""The churn model: LightGBM on labelled snapshots, split by time, calibrated, measured on later dates.

Dates, not rows, are split: the earliest as-of dates train the booster, the latest quarter is held out. The
training dates end a horizon before the first held-out date, so no training label looks into the held-out
period. The first half of the held-out dates fits the calibrator (and stops boosting early); the second half,
never seen, gives the metrics. The calibrator is kept as plain numbers, so nothing is unpickled from the
database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypedDict

# OpenMP threads spin while they wait; on a busy 2-core machine that made training 50x slower. The policy
# is read when LightGBM's OpenMP runtime loads, so it is set before the import (a user's choice is kept).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from churnradar.scoring.exceptions import NotEnoughHistoryError

Floats = npt.NDArray[np.float64]
PARAMS: dict[str, Any] = {
    "objective": "binary",
    # Few positives (3-9 % of snapshots) and weak signals: 7-leaf trees at 0.02 calibrate better on later
    # dates than 31 leaves at 0.05 did; AUC moved within noise (docs/model.md has the comparison).
    "learning_rate": 0.02,
    "num_leaves": 7,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    # OpenMP's default counts the host's cores, not this process's share: 2 of them ran 6x slower.
    "num_threads": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
    "seed": 7,
}
MAX_ROUNDS = 1_000
EARLY_STOP = 30
# Isotonic regression needs enough held-out rows to be smooth; fewer get Platt's two numbers.
ISOTONIC_MIN_ROWS = 2_000
# Isotonic regression's end steps can hold a handful of rows (all churned: probability 1.0); the lowest and
# highest steps are pooled with their neighbours until each holds at least this many calibration rows.
ISOTONIC_MIN_END_ROWS = 100


@dataclass(frozen=True)
class DateSplit:
    """Training, calibration and test as-of dates, in time order."""

    train: list[date]
    calibrate: list[date]
    test: list[date]


def split_dates(dates: Sequence[date], horizon_days: int, *, holdout_share: float = 0.25) -> DateSplit:
    """Hold out the latest dates; train on dates whose label window closes before the first held-out one."""
    ordered = sorted(set(dates))
    held = max(2, round(len(ordered) * holdout_share))
    holdout = ordered[-held:]
    train = [d for d in ordered[:-held] if d + timedelta(days=horizon_days) <= holdout[0]]
    if not train:
        raise NotEnoughHistoryError(
            f"{len(ordered)} labelled as-of dates: none ends its {horizon_days}-day label window before the "
            f"held-out dates from {holdout[0]}; more history (or a shorter horizon) is needed"
        )
    half = len(holdout) // 2
    return DateSplit(train, holdout[:half], holdout[half:])


class CalibratorNumbers(TypedDict):
    """A calibrator as stored: its method and the numbers it needs."""

    method: str
    x: list[float]
    y: list[float]
    a: float
    b: float


@dataclass(frozen=True)
class Calibrator:
    """Raw probability to calibrated probability: isotonic steps or Platt's sigmoid on the raw log-odds."""

    method: str
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0

    def apply(self, raw: Floats) -> Floats:
        """Calibrated probabilities for raw ones."""
        if self.method == "isotonic":
            return np.interp(raw, self.x, self.y)
        if self.method == "platt":
            return 1.0 / (1.0 + np.exp(-(self.a * _logit(raw) + self.b)))
        return raw

    def as_dict(self) -> CalibratorNumbers:
        """The numbers to store."""
        return {"method": self.method, "x": self.x, "y": self.y, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        """The calibrator stored by `as_dict`."""
        return cls(
            str(data["method"]),
            [float(v) for v in data.get("x", [])],
            [float(v) for v in data.get("y", [])],
            float(data.get("a", 1.0)),
            float(data.get("b", 0.0)),
        )


def _logit(p: Floats) -> Floats:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


def fit_calibrator(raw: Floats, truth: npt.NDArray[np.bool_]) -> Calibrator:
    """Isotonic on enough rows, else Platt scaling; identity when the held-out rows hold one class only."""
    if truth.all() or not truth.any():
        return Calibrator("identity")
    if len(raw) >= ISOTONIC_MIN_ROWS:
        return _isotonic(raw, truth)
    platt = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), truth)
    return Calibrator("platt", a=float(platt.coef_[0, 0]), b=float(platt.intercept_[0]))


def _isotonic(raw: Floats, truth: npt.NDArray[np.bool_]) -> Calibrator:
    """Isotonic steps, the end ones pooled to ISOTONIC_MIN_END_ROWS rows; each step spans its raw range."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, truth)
    steps = (
        pd.DataFrame({"raw": raw, "churned": truth.astype(np.float64), "level": iso.predict(raw)})
        .groupby("level", sort=True)
        .agg(lo=("raw", "min"), hi=("raw", "max"), rows=("raw", "size"), churned=("churned", "sum"))
    )
    blocks: list[list[float]] = steps[["lo", "hi", "rows", "churned"]].to_numpy(np.float64).tolist()

    def pooled(a: list[float], b: list[float]) -> list[float]:
        return [min(a[0], b[0]), max(a[1], b[1]), a[2] + b[2], a[3] + b[3]]

    while len(blocks) > 1 and blocks[0][2] < ISOTONIC_MIN_END_ROWS:
        blocks[:2] = [pooled(blocks[0], blocks[1])]
    while len(blocks) > 1 and blocks[-1][2] < ISOTONIC_MIN_END_ROWS:
        blocks[-2:] = [pooled(blocks[-2], blocks[-1])]
    x: list[float] = []
    y: list[float] = []
    for lo, hi, rows, churned in blocks:
        ends = [lo] if lo == hi else [lo, hi]
        x.extend(ends)
        y.extend([churned / rows] * len(ends))
    return Calibrator("isotonic", x, y)


@dataclass(frozen=True)
class ChurnScorer:
    """A trained booster, its features with their typical values, and its calibrator."""

    booster: lgb.Booster
    features: list[str]
    medians: dict[str, float]
    calibrator: Calibrator

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns in training order (missing ones as NaN), as float64."""
        return frame.reindex(columns=self.features).astype("float64")

    def raw(self, frame: pd.DataFrame) -> Floats:
        """Uncalibrated probabilities."""
        return np.asarray(self.booster.predict(self.matrix(frame)), dtype=np.float64)

    def predict(self, frame: pd.DataFrame) -> Floats:
        """Calibrated churn probabilities within the horizon."""
        return self.calibrator.apply(self.raw(frame))

    def contributions(self, frame: pd.DataFrame) -> Floats:
        """Per-feature log-odds contributions (SHAP), one column per feature plus the bias last."""
        return np.asarray(self.booster.predict(self.matrix(frame), pred_contrib=True), dtype=np.float64)

    def model_text(self) -> str:
        """LightGBM's own text format, to store."""
        return str(self.booster.model_to_string())

    @classmethod
    def load(
        cls, text: str, features: Sequence[str], medians: Mapping[str, float], calibrator: Calibrator
    ) -> ChurnScorer:
        """A scorer from stored text and numbers."""
        return cls(lgb.Booster(model_str=text), list(features), dict(medians), calibrator)


def metrics(truth: npt.NDArray[np.bool_], risk: Floats) -> dict[str, float | int | None]:
    """AUC, PR-AUC, Brier score (for probabilities), lift in the top decile, base rate and row count."""
    out: dict[str, float | int | None] = {
        "rows": len(truth),
        "base_rate": round(float(truth.mean()), 4) if len(truth) else None,
    }
    if truth.all() or not truth.any():
        return out | {"auc": None, "pr_auc": None, "brier": None, "lift_top_decile": None}
    top = np.argsort(-risk, kind="stable")[: max(len(risk) // 10, 1)]
    in_unit = bool((risk >= 0).all() and (risk <= 1).all())
    return out | {
        "auc": round(float(roc_auc_score(truth, risk)), 4),
        "pr_auc": round(float(average_precision_score(truth, risk)), 4),
        "brier": round(float(brier_score_loss(truth, risk)), 5) if in_unit else None,
        "lift_top_decile": round(float(truth[top].mean() / truth.mean()), 3),
    }


def calibration_table(
    truth: npt.NDArray[np.bool_], probability: Floats, bins: int = 10
) -> list[dict[str, float]]:
    """Mean predicted vs observed churn rate and row count per probability quantile (the calibration curve).

    Bins are quantiles of the probabilities, as scikit-learn's `calibration_curve(strategy="quantile")` cuts
    them; tied probabilities (isotonic steps) can merge bins, and empty ones are left out.
    """
    if truth.all() or not truth.any():
        return []
    edges = np.quantile(probability, np.linspace(0.0, 1.0, bins + 1))
    which = np.searchsorted(edges[1:-1], probability)
    rows = np.bincount(which, minlength=bins)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=truth.astype(np.float64), minlength=bins)
    return [
        {
            "predicted": round(float(predicted[b] / n), 4),
            "observed": round(float(observed[b] / n), 4),
            "rows": int(n),
        }
        for b, n in enumerate(rows)
        if n
    ]


@dataclass(frozen=True)
class Trained:
    """The scorer, its date split and its held-out measurements."""

    scorer: ChurnScorer
    split: DateSplit
    metrics: dict[str, Any]
    test_rows: pd.DataFrame  # customer_id, as_of, churned, probability, raw: for baselines side by side


def train(
    data: pd.DataFrame, features: Sequence[str], horizon_days: int, *, params: Mapping[str, Any] | None = None
) -> Trained:
    """Train on the earliest dates, stop early and calibrate on the next, measure on the latest."""
    split = split_dates(list(data["as_of"].unique()), horizon_days)
    parts = {name: data[data["as_of"].isin(getattr(split, name))] for name in ("train", "calibrate", "test")}
    columns = list(features)
    x_train = parts["train"][columns]
    truth = {name: part["churned"].to_numpy(bool) for name, part in parts.items()}
    train_set = lgb.Dataset(x_train, label=truth["train"], free_raw_data=True)
    valid_set = lgb.Dataset(parts["calibrate"][columns], label=truth["calibrate"], reference=train_set)
    booster = lgb.train(
        {**PARAMS, **(params or {})},
        train_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    medians = {str(c): float(v) for c, v in x_train.median().items() if not np.isnan(v)}
    scorer = ChurnScorer(booster, columns, medians, Calibrator("identity"))
    scorer = ChurnScorer(
        booster, columns, medians, fit_calibrator(scorer.raw(parts["calibrate"]), truth["calibrate"])
    )
    test = parts["test"]
    raw, probability = scorer.raw(test), scorer.predict(test)
    measured = {
        "model": metrics(truth["test"], probability),
        "model_uncalibrated": metrics(truth["test"], raw),
        "calibration_curve": calibration_table(truth["test"], probability),
        "calibration_method": scorer.calibrator.method,
        "rounds": int(booster.best_iteration or booster.current_iteration()),
        "rows": {name: len(part) for name, part in parts.items()},
        "dates": {name: [d.isoformat() for d in (min(v), max(v))] for name, v in vars(split).items()},
        "importance": _importance(booster, columns),
    }
    rows = test[["customer_id", "as_of", "churned"]].assign(probability=probability, raw=raw)
    return Trained(scorer, split, measured, rows.reset_index(drop=True))


def _importance(booster: lgb.Booster, columns: Sequence[str], top: int = 10) -> dict[str, float]:
    gain = np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    share = gain / gain.sum() if gain.sum() else gain
    order = np.argsort(-share)[:top]
    return {columns[i]: round(float(share[i]), 4) for i in order if share[i] > 0}
