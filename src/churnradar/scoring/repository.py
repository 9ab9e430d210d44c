"""Stored churn models and customer scores: the scoring domain's tables, read and written here only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, RowMapping, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from churnradar.db import table_of
from churnradar.models import ChurnModel, CustomerScore
from churnradar.scoring.schemas import ScoreRow, StoredModel

MODELS = table_of(ChurnModel)
SCORES = table_of(CustomerScore)


def insert_model(engine: Engine, values: StoredModel, *, activate: bool) -> int:
    """Store a model as the next version (the active one when `activate`), in its own transaction; its
    version."""
    with engine.begin() as conn:
        version = int(conn.execute(select(func.coalesce(func.max(MODELS.c.version), 0))).scalar_one()) + 1
        if activate:
            conn.execute(update(MODELS).where(MODELS.c.active.is_(True)).values(active=False))
        conn.execute(insert(MODELS).values(version=version, active=activate, **values))
    return version


def active_model(engine: Engine) -> Row[Any] | None:
    """The active model's row, or None before any is trained."""
    with engine.connect() as conn:
        return conn.execute(select(MODELS).where(MODELS.c.active.is_(True))).first()


def model_rows(engine: Engine) -> list[RowMapping]:
    """Every stored model's version, window, activity and metrics (no booster), newest first."""
    columns = [c for c in MODELS.c if c.name not in ("booster", "calibrator")]
    with engine.connect() as conn:
        return list(conn.execute(select(*columns).order_by(MODELS.c.version.desc())).mappings().all())


def replace_scores(conn: Connection, rows: list[ScoreRow]) -> None:
    """Replace every customer's current score row, in the caller's transaction."""
    conn.execute(delete(SCORES))
    if rows:
        conn.execute(insert(SCORES), rows)
