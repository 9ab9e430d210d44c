"""The training set: indicator snapshots at past as-of dates joined to what happened after each (the labels).

No leakage by construction: features come from `compute_indicators`, which reads only data stamped before
each as-of instant, plus tenure from the signup date. `check_no_leakage` proves it for a date: the features
computed from the full source and from a source cut off at the as-of instant must be identical.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
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
# The key indicators whose change since four weeks earlier is a feature too: a customer sliding now says
# more than its level (+0.019 AUC on average over six demo stores, better on each; docs/model.md).
CHANGE_DAYS = 28
CHANGED = (
    "activity_30d", "login_days_30d", "orders_30d", "communications_30d", "features_used_30d",
    "balance_last", "tickets_90d", "complaints_90d", "order_amount_90d", "days_since_last_login",
    "days_since_last_order", "active_users_30d", "inbound_contacts_per_month", "survey_score_180d",
    "overdue_invoices", "competitor_signals_90d", "renewal_intent_last",
)  # fmt: skip
CHANGE_SUFFIX = "__change_4w"


def change_feature(slug: str) -> str:
    """The name of the feature holding an indicator's change since four weeks earlier."""
    return f"{slug}{CHANGE_SUFFIX}"


def changed_indicator(feature: str) -> str | None:
    """The indicator a change feature is about, or None for any other feature."""
    return feature.removesuffix(CHANGE_SUFFIX) if feature.endswith(CHANGE_SUFFIX) else None


def earlier_dates(dates: Sequence[date]) -> list[date]:
    """The dates four weeks before each of `dates`, which the change features compare with."""
    return [d - timedelta(days=CHANGE_DAYS) for d in dates]


def with_changes(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """`now` plus each key indicator's change (value now - value then) against `before`, 4 weeks earlier.

    Both are wide frames (customer_id, as_of, indicators); a customer missing from `before` (or a value
    missing at either date) has no change (NaN).
    """
    columns = [c for c in CHANGED if c in now.columns and c in before.columns]
    then = before[["customer_id", "as_of", *columns]].assign(
        as_of=[d + timedelta(days=CHANGE_DAYS) for d in before["as_of"]]
    )
    merged = now[["customer_id", "as_of", *columns]].merge(
        then, on=KEYS, how="left", suffixes=("", "__then"), validate="one_to_one"
    )
    changes = {
        change_feature(c): (merged[c].astype("float64") - merged[f"{c}__then"].astype("float64")).to_numpy()
        for c in columns
    }
    return now.assign(**changes)


def indicator_features(zone: ZoneInfo | str = "UTC") -> FeatureFn:
    """The default feature function: every built-in indicator at each date (wide, one row per customer) and
    the key ones' change since four weeks earlier."""

    def features(source: Source, dates: Sequence[date]) -> pd.DataFrame:
        now = indicator_service.compute_indicators(source, dates, zone=zone)
        # Four weeks back only the key indicators (and what they derive from): a third of the cost.
        registered = {i.slug for i in indicator_service.selected_indicators()}
        slugs = [s for s in CHANGED if s in registered]
        if not slugs:
            return now
        before = indicator_service.compute_indicators(source, earlier_dates(dates), slugs=slugs, zone=zone)
        return with_changes(now, before)

    return features


def feature_batches(
    source: Source, dates: Sequence[date], zone: ZoneInfo | str = "UTC", *, per_batch: int = 8
) -> Iterator[tuple[list[date], pd.DataFrame]]:
    """The model's features a batch of dates at a time, oldest first: (those dates, their wide frame)."""
    features = indicator_features(zone)
    days = sorted(set(dates))
    for k in range(0, len(days), per_batch):
        batch = days[k : k + per_batch]
        yield batch, features(source, batch)


def indicator_columns(wide: pd.DataFrame) -> pd.DataFrame:
    """`wide` without the change features: the indicator values alone, as the snapshot history keeps them."""
    return wide[[c for c in wide.columns if changed_indicator(str(c)) is None]]


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
