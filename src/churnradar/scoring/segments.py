"""Segment-relative features: each key indicator against its segment's median on the same date.

`<slug>__vs_segment` is the customer's value minus the median of the customers of its `segment` who were
customers at that as-of date (signed up before it, not lost before it: the population `evaluate` judges). A
segment with fewer than MIN_SEGMENT_CUSTOMERS such customers, and a customer without a segment, is compared
with all of them instead. Only the indicators and who was a customer at the date enter, so the features use
no data from the as-of instant on (the indicators themselves are checked by `check_no_leakage`).

Training computes the medians date by date from its own frame, `evaluate` (and the backtest) from the table of
the customers it judges; `explain`, which reads one customer's events, takes them from the population's
stored indicator snapshot of that date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from churnradar.scoring.dataset import CHANGED

SEGMENT = "segment"
SEGMENT_SUFFIX = "__vs_segment"
# Fewer customers than this at a date and a segment's median says little: its customers are compared with all.
MIN_SEGMENT_CUSTOMERS = 20


def segment_feature(slug: str) -> str:
    """The name of the feature holding an indicator's difference from its segment's median."""
    return f"{slug}{SEGMENT_SUFFIX}"


def segment_indicator(feature: str) -> str | None:
    """The indicator a segment feature is about, or None for any other feature."""
    return feature.removesuffix(SEGMENT_SUFFIX) if feature.endswith(SEGMENT_SUFFIX) else None


def uses_segments(features: list[str]) -> bool:
    """Whether a model reads any segment feature (models trained before them do not)."""
    return any(segment_indicator(f) is not None for f in features)


@dataclass(frozen=True)
class SegmentMedians:
    """One date's medians of the key indicators: per segment large enough, and over everyone."""

    by_segment: pd.DataFrame  # index: segment; columns: key indicators
    everyone: pd.Series  # key indicator -> median over all customers of the date


def segment_medians(population: pd.DataFrame) -> SegmentMedians:
    """The medians of one date's customers (`segment` and the key indicators, a row per customer)."""
    keys = [c for c in CHANGED if c in population.columns]
    values = population[keys].astype("float64")
    named = population[SEGMENT].notna()
    sizes = population.loc[named, SEGMENT].value_counts()
    large = population[SEGMENT].isin(sizes.index[sizes >= MIN_SEGMENT_CUSTOMERS]) & named
    by_segment = values[large].groupby(population.loc[large, SEGMENT]).median()
    return SegmentMedians(by_segment, values.median())


def typical_values(frame: pd.DataFrame, medians: SegmentMedians) -> pd.DataFrame:
    """For each row of `frame` (with `segment`), the median its key indicators are compared with."""
    keys = [c for c in medians.everyone.index if c in frame.columns]
    known = frame[SEGMENT].isin(medians.by_segment.index).to_numpy() & frame[SEGMENT].notna().to_numpy()
    segments = frame[SEGMENT].where(known, None)
    typical = medians.by_segment.reindex(columns=keys).reindex(segments.to_numpy())
    # Rows of a small or unnamed segment (all NaN after reindex), and a segment without any value: everyone's.
    return typical.fillna(medians.everyone[keys]).set_axis(frame.index)


def with_segment_features(frame: pd.DataFrame, medians: SegmentMedians) -> pd.DataFrame:
    """`frame` (one date: `segment`, key indicators) plus each key indicator minus its segment's median."""
    typical = typical_values(frame, medians)
    columns = {
        segment_feature(str(c)): (frame[c].astype("float64") - typical[c]).to_numpy(np.float64)
        for c in typical.columns
    }
    return frame.assign(**columns)


def present_at(frame: pd.DataFrame, customers: pd.DataFrame) -> pd.Series:
    """Whether each row's customer (`customer_id`, `as_of`) was a customer at its date: signed up before it
    (or signup unknown) and not lost before it, by `customers`' `signup_date` and `churned_at`."""
    info = customers.set_index("customer_id")
    day = pd.to_datetime(frame["as_of"])
    signup = pd.to_datetime(frame["customer_id"].map(info["signup_date"]))
    lost = pd.to_datetime(frame["customer_id"].map(info["churned_at"]))
    return (signup.isna() | (signup < day)) & ~(lost.notna() & (lost < day))


def segment_features_by_date(wide: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """`wide` (customer_id, as_of, indicators; many dates) plus the segment features, each date's medians
    over the customers it had (training's frame)."""
    framed = wide.assign(**{SEGMENT: wide["customer_id"].map(customers.set_index("customer_id")[SEGMENT])})
    present = present_at(framed, customers)
    parts = [
        with_segment_features(rows, segment_medians(rows[present.loc[rows.index]]))
        for _, rows in framed.groupby("as_of", sort=False)
    ]
    if not parts:
        return wide
    return pd.concat(parts).loc[wide.index].drop(columns=[SEGMENT])
