"""How the stored warnings did: precision, coverage and lead time per rule and per level.

An alert *hit* when its customer churned within `horizon` days from the day it opened. An alert is judged
once that window has passed (or the churn happened); younger alerts are counted as pending. A churn was
*covered* when an alert (of the rule or level in question) opened in the `horizon` days up to the churn;
its lead is the days from the earliest such alert to the churn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ReviewPolicy:
    """When a rule is flagged for review: at least this many judged alerts, precision below this."""

    min_alerts: int = 50
    max_precision: float = 0.2


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _group(
    alerts: pd.DataFrame, churns: pd.Series, *, horizon_days: int, until: date, since: date
) -> dict[str, Any]:
    horizon, cut = pd.Timedelta(days=horizon_days), pd.Timestamp(until)
    opened = pd.to_datetime(alerts["opened_on"])
    churn = pd.to_datetime(alerts["customer_id"].map(churns))
    hit = churn.notna() & (churn >= opened) & (churn < opened + horizon)
    judged = hit | (opened + horizon <= cut)
    lost = churns[churns.notna() & (churns >= pd.Timestamp(since))]
    pairs = alerts.assign(opened=opened, churn=churn)[hit]
    first = pairs.groupby("customer_id")["opened"].min()
    leads = (lost.reindex(first.index) - first).dt.days.dropna()
    return {
        "alerts": int(judged.sum()),
        "pending": int((~judged).sum()),
        "hits": int((hit & judged).sum()),
        "precision": _ratio(int((hit & judged).sum()), int(judged.sum())),
        "churned": len(lost),
        "covered": len(leads),
        "coverage": _ratio(len(leads), len(lost)),
        "median_lead_days": float(leads.median()) if len(leads) else None,
    }


def warning_outcomes(
    alerts: pd.DataFrame,
    churns: pd.Series,
    levels: Sequence[str],
    *,
    horizon_days: int,
    until: date,
    since: date,
    review: ReviewPolicy | None = None,
) -> dict[str, Any]:
    """Overall, per level (the highest an alert reached) and per rule, with rules flagged for review.

    `alerts`: customer_id, rule, level, opened_on; `churns`: churn date by customer_id (NaT if none).
    """
    review = review or ReviewPolicy()

    def stats(frame: pd.DataFrame) -> dict[str, Any]:
        return _group(frame, churns, horizon_days=horizon_days, until=until, since=since)

    by_level = [{"level": level, **stats(alerts[alerts["level"] == level])} for level in reversed(levels)]
    by_rule = []
    for rule, group in alerts.groupby("rule"):
        found = stats(group)
        flagged = found["alerts"] >= review.min_alerts and (found["precision"] or 0.0) < review.max_precision
        by_rule.append({"rule": str(rule), **found, "review": flagged})
    return {
        "overall": stats(alerts),
        "levels": by_level,
        "rules": sorted(by_rule, key=lambda r: (-r["alerts"], r["rule"])),
        "review": {
            "min_alerts": review.min_alerts,
            "max_precision": review.max_precision,
            "flagged": [r["rule"] for r in by_rule if r["review"]],
        },
    }
