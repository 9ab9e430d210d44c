"""`churnradar explain CUSTOMER`: one customer's churn probability as of a date and the reasons behind it.

The same features as `evaluate` (the registry's indicators and tenure, computed from data before the as-of
date) scored with the active model, for that customer only: its events alone are read. Its segment's medians
(for the segment features) come from the population's stored snapshot of the date, as `evaluate` stored it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from churnradar.analytics.source import Source
from churnradar.config import Settings
from churnradar.evaluation.exceptions import ExplainError
from churnradar.evaluation.frames import all_customers
from churnradar.indicator import service as indicator_service
from churnradar.scoring import service as scoring_service
from churnradar.scoring.dataset import CHANGED, indicator_features, with_tenure
from churnradar.scoring.reasons import Reason
from churnradar.scoring.segments import (
    SEGMENT,
    SegmentMedians,
    present_at,
    segment_medians,
    uses_segments,
    with_segment_features,
)

TOP_REASONS = 5


@dataclass(frozen=True)
class Explanation:
    """A customer's probability of churning within the model's horizon, and what raises it most."""

    customer_id: str
    name: str | None
    as_of: date
    model_version: int
    horizon_days: int
    churn_probability: float
    reasons: list[Reason]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "as_of": self.as_of.isoformat(),
            "model_version": self.model_version,
            "horizon_days": self.horizon_days,
            "churn_probability": round(self.churn_probability, 4),
            "reasons": [dataclasses.asdict(r) for r in self.reasons],
        }


def only_customer(source: Source, store_id: int, external_id: str) -> Source:
    """The source narrowed to one customer (by the id its tables are keyed with)."""
    key: int | str = store_id if source.keyed_by == "store_id" else external_id

    def mine(table: Any) -> Any:
        return table.filter(table.customer_id == key)

    return dataclasses.replace(
        source,
        customers=mine(source.customers),
        events=mine(source.events),
        contracts=mine(source.contracts),
        invoices=mine(source.invoices),
    )


def population_medians(engine: Engine, source: Source, as_of: date, settings: Settings) -> SegmentMedians:
    """The segment medians `evaluate` compares with on `as_of`: over the customers of that date, from the
    stored indicator snapshot of the date (what `evaluate` computed), else computed from `source`."""
    with engine.connect() as conn:
        customers = all_customers(conn)
    keys = [s for s in CHANGED if s in {i.slug for i in indicator_service.selected_indicators()}]
    stored = indicator_service.stored_wide(engine, as_of, keys)
    if stored.empty or not set(keys) <= set(stored.columns):
        stored = source.for_store(
            indicator_service.compute_indicators(source, [as_of], slugs=keys, zone=settings.zone)
        )
    population = customers[["customer_id", SEGMENT]].merge(
        stored[["customer_id", *keys]], on="customer_id", how="left"
    )
    population = population[present_at(population.assign(as_of=as_of), customers).to_numpy()]
    return segment_medians(population)


def explain_customer(
    engine: Engine, settings: Settings, external_id: str, as_of: date, *, top: int = TOP_REASONS
) -> Explanation:
    """Score one customer (by its source-system id) as of `as_of` with the active model and explain it."""
    model = scoring_service.active_model(engine)
    if model is None:
        raise ExplainError("no churn model yet: run `churnradar model train`")
    with engine.connect() as conn:
        found = all_customers(conn, external_id=external_id)
    if found.empty:
        raise ExplainError(f"no customer with id {external_id[:200]!r}")
    customer = found.iloc[0]
    signup = customer["signup_date"]
    if pd.notna(signup) and signup >= pd.Timestamp(as_of):
        raise ExplainError(f"customer {external_id[:200]!r} signed up on {signup.date()}, after {as_of}")
    store_id = int(customer["customer_id"])
    with indicator_service.open_source(engine, analytics=settings.analytics) as source:
        narrowed = only_customer(source, store_id, external_id)
        wide = source.for_store(indicator_features(settings.zone)(narrowed, [as_of]))
        if wide.empty:  # a customer without any data still has a row of features: all missing
            wide = pd.DataFrame({"customer_id": [store_id], "as_of": [as_of]})
        if uses_segments(model.scorer.features):
            medians = population_medians(engine, source, as_of, settings)
            wide = with_segment_features(wide.assign(segment=customer["segment"]), medians)
    table = with_tenure(wide, found)
    probability, explained = scoring_service.explain_table(model, table, top=top)
    return Explanation(
        customer_id=external_id,
        name=None if pd.isna(customer["name"]) else str(customer["name"]),
        as_of=as_of,
        model_version=model.version,
        horizon_days=model.horizon_days,
        churn_probability=float(probability[0]),
        reasons=explained.items[0],
    )
