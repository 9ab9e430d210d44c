"""Typed values the scoring domain takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict

from churnradar.scoring.model import CalibratorNumbers, ChurnScorer


class ModelFeatures(TypedDict):
    """The features a stored model reads, and the medians that stand in for missing values."""

    names: list[str]
    medians: dict[str, float]


class StoredModel(TypedDict):
    """A trained model as stored (besides its version and whether it is active)."""

    created_at: datetime
    train_from: date
    train_to: date
    horizon_days: int
    inactivity_days: int
    features: ModelFeatures
    metrics: dict[str, Any]
    booster: str
    calibrator: CalibratorNumbers


class ScoreRow(TypedDict):
    """A customer's current model score and its reasons, as stored."""

    customer_id: int
    as_of: date
    model_version: int
    churn_probability: float
    reasons_en: str | None
    reasons_zh: str | None
    contributions: Any


@dataclass(frozen=True)
class ActiveModel:
    """The model `evaluate` scores with, and its version."""

    version: int
    scorer: ChurnScorer
    horizon_days: int = 90  # its probability is of churning within this many days
    # The health score's weights learned with it (template -> indicator -> weight); empty: the templates'.
    health_weights: dict[str, dict[str, float]] = field(default_factory=dict)
