"""Trained churn models (booster text and calibrator numbers, never pickles) and customers' model scores."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from churnradar.db import Base


class ChurnModel(Base):
    """One trained model: what it was trained on, how well it did, and everything needed to score with it."""

    __tablename__ = "churn_models"
    __table_args__ = (
        # At most one active model: the one `evaluate` scores with.
        Index(
            "uq_churn_models_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    active: Mapped[bool]
    train_from: Mapped[date]
    train_to: Mapped[date]
    horizon_days: Mapped[int]
    inactivity_days: Mapped[int]
    features: Mapped[dict[str, Any]]  # {"names": [...], "medians": {...}}
    metrics: Mapped[dict[str, Any]]  # held-out metrics, calibration curve, baselines
    booster: Mapped[str] = mapped_column(Text)  # LightGBM's own model text format
    calibrator: Mapped[dict[str, Any]]  # {"method": "isotonic", "x": [...], "y": [...]} or Platt a, b


class CustomerScore(Base):
    """Each customer's current churn probability from the active model, with its top reasons in words."""

    __tablename__ = "customer_scores"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    as_of: Mapped[date]
    model_version: Mapped[int]
    churn_probability: Mapped[float]
    reasons_en: Mapped[str | None] = mapped_column(Text)
    reasons_zh: Mapped[str | None] = mapped_column(Text)
    contributions: Mapped[dict[str, Any] | None]  # {feature: log-odds contribution} of the top reasons
