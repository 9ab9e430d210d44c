"""The training set: indicator snapshots at past as-of dates joined to what happened after each (the labels).

No leakage by construction: features come from `compute_indicators`, which reads only data stamped before
each as-of instant, plus tenure from the signup date. `check_no_leakage` proves it for a date: the features
computed from the full source and from a source cut off at the as-of instant must be identical.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from churnradar.analytics.source import Source
from churnradar.indicator import service as indicator_service
from churnradar.indicator.compile import local_midnight_utc
from churnradar.scoring.exceptions import LeakageError

KEYS = ["customer_id", "as_of"]
TENURE = "tenure_days"
# Features a model may use beyond the indicators; each needs words for reasons (see scoring.reasons).
EXTRA_FEATURES = (TENURE,)
FeatureFn = Callable[[Source, Sequence[date]], pd.DataFrame]


def indicator_features(zone: ZoneInfo | str = "UTC") -> FeatureFn:
    """The default feature function: every built-in indicator at each date (wide, one row per customer)."""

    def features(source: Source, dates: Sequence[date]) -> pd.DataFrame:
        return indicator_service.compute_indicators(source, dates, zone=zone)

    return features


def with_tenure(wide: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """`wide` plus `tenure_days`: days from signup to the as-of date (NaN when the signup date is unknown)."""
    signup = wide["customer_id"].map(customers.set_index("customer_id")["signup_date"])
    as_of = pd.to_datetime(wide["as_of"])
    return wide.assign(**{TENURE: (as_of - pd.to_datetime(signup)).dt.days.astype("float64")})


def training_set(wide: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Labelled customer-snapshots: the at-risk rows of `labels` with their features (inner join on keys)."""
    frame = labels[[*KEYS, "churned"]].merge(wide, on=KEYS, how="inner")
    frame["churned"] = frame["churned"].astype(bool)
    return frame.sort_values(KEYS, ignore_index=True)


def closed_before(dates: Sequence[date], until: date | None, horizon_days: int) -> list[date]:
    """The as-of dates whose label window [D, D + horizon) has closed by `until` (all when None)."""
    if until is None:
        return list(dates)
    return [d for d in dates if d + timedelta(days=horizon_days) <= until]


def cut_off(source: Source, as_of: date, zone: ZoneInfo | str = "UTC") -> Source:
    """The source as it was known at the as-of instant: later events, contracts and invoices removed."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    instant = local_midnight_utc(as_of, zone)
    events, contracts, invoices = source.events, source.contracts, source.invoices
    # An invoice issued before D but paid later was unpaid at D: the payment is future knowledge.
    paid = (invoices.paid_at.notnull() & (invoices.paid_at < instant)).ifelse(invoices.paid_at, None)
    return dataclasses.replace(
        source,
        events=events.filter(events.ts < instant),
        contracts=contracts.filter(contracts.start_date < as_of),
        invoices=invoices.filter(invoices.issued_at.isnull() | (invoices.issued_at < instant)).mutate(
            paid_at=paid
        ),
    )


def leaked_features(full: pd.DataFrame, known: pd.DataFrame, *, tolerance: float = 1e-9) -> list[str]:
    """Feature columns whose values differ between the full source and the cut-off one (both wide)."""
    merged = full.merge(known, on=KEYS, how="outer", suffixes=("", "__known"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    leaks = []
    for column in [c for c in full.columns if c not in KEYS]:
        a = pd.to_numeric(both[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        b = pd.to_numeric(both[f"{column}__known"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=0.0, atol=tolerance)
        if not same.all():
            leaks.append(column)
    if (merged["_merge"] != "both").any():
        leaks.append("<rows>")  # a customer appears or vanishes depending on future data
    return leaks


def check_no_leakage(source: Source, features: FeatureFn, as_of: date, zone: ZoneInfo | str = "UTC") -> None:
    """Raise LeakageError when any feature at `as_of` depends on data from the as-of instant on."""
    full = features(source, [as_of])
    known = features(cut_off(source, as_of, zone), [as_of])
    leaks = leaked_features(full, known)
    if leaks:
        raise LeakageError(f"features computed as of {as_of} use later data: {', '.join(leaks)}")
