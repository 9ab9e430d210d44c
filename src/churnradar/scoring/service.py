"""What evaluation, training and the CLI call on scores: store a trained model as the active one, load it,
score and explain customers with it, keep each customer's current score.

Health scores (`health.py`) and the model itself (`model.py`, `reasons.py`) are pure; the stored models and
scores are read and written through `repository.py`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from churnradar.scoring import repository
from churnradar.scoring.model import Calibrator, ChurnScorer, Floats, Trained
from churnradar.scoring.reasons import Explained, explain, feature_words
from churnradar.scoring.schemas import ActiveModel, ScoreRow, StoredModel


def save_model(
    engine: Engine,
    trained: Trained,
    *,
    horizon_days: int,
    inactivity_days: int,
    metrics: dict[str, Any],
    at: datetime,
    activate: bool = True,
) -> int:
    """Store a trained model (booster text, calibrator numbers); returns its version."""
    scorer = trained.scorer
    values: StoredModel = {
        "created_at": at,
        "train_from": min(trained.split.train),
        "train_to": max(trained.split.test),
        "horizon_days": horizon_days,
        "inactivity_days": inactivity_days,
        "features": {"names": scorer.features, "medians": scorer.medians},
        "metrics": metrics,
        "booster": scorer.model_text(),
        "calibrator": scorer.calibrator.as_dict(),
    }
    return repository.insert_model(engine, values, activate=activate)


def _scorer(row: Any) -> ChurnScorer:
    features = row.features
    return ChurnScorer.load(
        row.booster, features["names"], features["medians"], Calibrator.from_dict(row.calibrator)
    )


def active_model(engine: Engine) -> ActiveModel | None:
    """The active model, or None before any is trained."""
    row = repository.active_model(engine)
    return (
        None
        if row is None
        else ActiveModel(
            int(row.version),
            _scorer(row),
            int(row.horizon_days),
            dict((row.metrics or {}).get("health", {}).get("weights", {})),
        )
    )


def model_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every stored model's version, window, activity and metrics (no booster), newest first."""
    return [dict(r) for r in repository.model_rows(engine)]


def explain_table(model: ActiveModel, table: pd.DataFrame, *, top: int = 3) -> tuple[Floats, Explained]:
    """Calibrated probability and the `top` reasons per row of `table` (feature columns, any others)."""
    scorer = model.scorer
    values = scorer.matrix(table)
    explained = explain(
        scorer.contributions(table), values, scorer.medians, feature_words(scorer.features), top=top
    )
    return scorer.predict(table), explained


def score_table(model: ActiveModel, table: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
    """Probability and top reasons per row of `table` (customer_id plus feature columns)."""
    probability, explained = explain_table(model, table, top=top)
    return pd.DataFrame(
        {
            "customer_id": table["customer_id"].to_numpy(),
            "churn_probability": probability,
            "reasons_en": explained.reasons_en,
            "reasons_zh": explained.reasons_zh,
            "contributions": explained.contributions,
        }
    )


def replace_scores(conn: Connection, scores: pd.DataFrame, *, as_of: date, version: int) -> None:
    """Each customer's current model score and reasons (the previous date's rows are replaced)."""
    rows: list[ScoreRow] = [
        {
            "customer_id": int(c),
            "as_of": as_of,
            "model_version": version,
            "churn_probability": round(float(p), 6),
            "reasons_en": en or None,
            "reasons_zh": zh or None,
            "contributions": used or None,
        }
        for c, p, en, zh, used in scores[
            ["customer_id", "churn_probability", "reasons_en", "reasons_zh", "contributions"]
        ].itertuples(index=False, name=None)
        if not np.isnan(p)
    ]
    repository.replace_scores(conn, rows)
