"""Pure feed checks: from daily event counts per kind, judge each feed fresh, stale or anomalous.

A feed is *stale* when nothing arrived for longer than its usual gap allows, *anomalous* when its most
recent full day carries far less than its trailing median, *new* when there is too little history to know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd


class FeedState(StrEnum):
    """How an event feed looks at the as-of date."""

    OK = "ok"
    STALE = "stale"
    ANOMALOUS = "anomalous"
    NEW = "new"


@dataclass(frozen=True)
class FeedPolicy:
    """Thresholds; the defaults suit daily business feeds."""

    history_days: int = 56
    min_active_days: int = 10  # fewer days with data than this: too new to judge
    stale_factor: float = 3.0  # stale after this many usual gaps without data...
    min_stale_days: int = 3  # ...and never sooner than this (weekends, holidays)
    volume_ratio: float = 0.25  # anomalous when the last full day is below this share of the usual day
    volume_days: int = 3  # the share is judged over this many last days, against the weekdays' median


@dataclass(frozen=True)
class FeedHealth:
    """One kind of event as of a date: last arrival, usual gap and volume, and the verdict with its reason."""

    kind: str
    state: FeedState
    last_day: date | None
    usual_gap_days: float | None
    recent_per_day: float | None
    usual_per_day: float | None
    reason: str


def judge_feeds(daily: pd.DataFrame, as_of: date, policy: FeedPolicy | None = None) -> list[FeedHealth]:
    """Verdicts per kind from `daily` (kind, day, events) for the days before `as_of`."""
    policy = policy or FeedPolicy()
    start = pd.Timestamp(as_of - timedelta(days=policy.history_days))
    end = pd.Timestamp(as_of)
    out = []
    for kind, group in daily.assign(day=pd.to_datetime(daily["day"])).groupby("kind"):
        days = group[(group["day"] >= start) & (group["day"] < end)].set_index("day")["events"].sort_index()
        out.append(_judge(str(kind), days, as_of, policy))
    return sorted(out, key=lambda f: f.kind)


def _judge(kind: str, days: pd.Series, as_of: date, policy: FeedPolicy) -> FeedHealth:
    if len(days) < policy.min_active_days:
        last = days.index.max().date() if len(days) else None
        return FeedHealth(
            kind,
            FeedState.NEW,
            last,
            None,
            None,
            None,
            f"only {len(days)} days with data in the last {policy.history_days}",
        )
    gaps = np.diff(days.index.to_numpy()).astype("timedelta64[D]").astype(float)
    usual_gap = float(np.median(gaps)) if len(gaps) else 1.0
    last = days.index.max().date()
    silent = (as_of - last).days - 1  # whole days without data before the as-of date
    allowed = max(policy.stale_factor * usual_gap, policy.min_stale_days)
    calendar = pd.Series(0.0, index=pd.date_range(days.index.min(), pd.Timestamp(as_of - timedelta(days=1))))
    calendar.loc[days.index] = days.to_numpy(dtype=float)
    usual = float(calendar.iloc[: -policy.volume_days][calendar.iloc[: -policy.volume_days] > 0].median())
    recent = float(calendar.iloc[-policy.volume_days :].mean())
    if silent > allowed:
        return FeedHealth(
            kind,
            FeedState.STALE,
            last,
            usual_gap,
            recent,
            usual,
            f"no {kind} events for {silent} days; usually every {usual_gap:g} days",
        )
    if usual_gap <= 1.5 and usual > 0 and recent < policy.volume_ratio * usual:
        return FeedHealth(
            kind,
            FeedState.ANOMALOUS,
            last,
            usual_gap,
            recent,
            usual,
            f"{kind} events fell to {recent:.0f} a day over the last {policy.volume_days} days; "
            f"usually {usual:.0f}",
        )
    return FeedHealth(kind, FeedState.OK, last, usual_gap, recent, usual, "arriving as usual")


def affected_indicators(
    kinds_of: Mapping[str, Iterable[str]], depends_on: Mapping[str, Iterable[str]], bad_kinds: set[str]
) -> set[str]:
    """Indicators that read a bad feed, directly or through the indicators they are derived from."""
    hit = {slug for slug, kinds in kinds_of.items() if bad_kinds & set(kinds)}
    changed = True
    while changed:
        changed = False
        for slug, parents in depends_on.items():
            if slug not in hit and hit & set(parents):
                hit.add(slug)
                changed = True
    return hit
