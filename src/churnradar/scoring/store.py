"""Stored models and customer scores: save a trained model as the active one, load it, score and explain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from churnradar.models import ChurnModel, CustomerScore
from churnradar.scoring.model import Calibrator, ChurnScorer, Floats, Trained
from churnradar.scoring.reasons import Explained, explain, feature_words

MODELS: Table = ChurnModel.__table__  # type: ignore[assignment]
SCORES: Table = CustomerScore.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ActiveModel:
    """The model `evaluate` scores with, and its version."""

    version: int
    scorer: ChurnScorer
    horizon_days: int = 90  # its probability is of churning within this many days
    # The health score's weights learned with it (template -> indicator -> weight); empty: the templates'.
    health_weights: dict[str, dict[str, float]] = field(default_factory=dict)


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
    with engine.begin() as conn:
        version = int(conn.execute(select(func.coalesce(func.max(MODELS.c.version), 0))).scalar_one()) + 1
        if activate:
            conn.execute(update(MODELS).where(MODELS.c.active.is_(True)).values(active=False))
        conn.execute(
            insert(MODELS).values(
                version=version,
                created_at=at,
                active=activate,
                train_from=min(trained.split.train),
                train_to=max(trained.split.test),
                horizon_days=horizon_days,
                inactivity_days=inactivity_days,
                features={"names": scorer.features, "medians": scorer.medians},
                metrics=metrics,
                booster=scorer.model_text(),
                calibrator=scorer.calibrator.as_dict(),
            )
        )
    return version


def _scorer(row: Any) -> ChurnScorer:
    features = row.features
    return ChurnScorer.load(
        row.booster, features["names"], features["medians"], Calibrator.from_dict(row.calibrator)
    )


def active_model(engine: Engine) -> ActiveModel | None:
    """The active model, or None before any is trained."""
    with engine.connect() as conn:
        row = conn.execute(select(MODELS).where(MODELS.c.active.is_(True))).first()
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
    columns = [c for c in MODELS.c if c.name not in ("booster", "calibrator")]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).order_by(MODELS.c.version.desc())).mappings().all()
    return [dict(r) for r in rows]


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
    conn.execute(delete(SCORES))
    rows = [
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
    if rows:
        conn.execute(insert(SCORES), rows)
