"""How the stored alerts did (the report's `warnings`): precision, recall and lead per level and per rule,
as the backtest counts.

The unit is the backtest's (CONTRACT §3): a customer at risk on an evaluation date (a customer-snapshot),
alerted when an alert of the level or rule in question was open for it that day, and a hit when it churned
within `horizon` days from that date. The open alerts of each stored evaluation date are read back from the
alerts' history (opened, level changes, resolved), so over the same dates, rules and data these figures are
the figures `churnradar backtest` gives (`evaluation.backtest.alert_figures` counts both).

An evaluation date is *judged* once its outcome window has passed (date + horizon <= `until`): only then is
it known whether a warned customer churned or stayed. Later dates are *pending*: their warnings are counted
beside the figures, never in them (counting only the churns already seen would make every rule look right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from churnradar.evaluation.backtest import alert_figures

ALERT_COLUMNS = ["alert_id", "customer_id", "rule", "opened_on", "resolved_on"]
LEVEL_COLUMNS = ["alert_id", "as_of", "level"]


@dataclass(frozen=True)
class ReviewPolicy:
    """When a rule is flagged for review: at least this many judged alerts, precision below this."""

    min_alerts: int = 50
    max_precision: float = 0.2


def open_at(alerts: pd.DataFrame, level_changes: pd.DataFrame, dates: Sequence[date]) -> pd.DataFrame:
    """The alerts open after each evaluation date: customer_id, rule, as_of, level (at that date).

    `alerts` has ALERT_COLUMNS; `level_changes` has LEVEL_COLUMNS in the order they happened (an alert's
    opening, escalations and de-escalations, each with the level it moved to).
    """
    changes = level_changes.assign(as_of=pd.to_datetime(level_changes["as_of"]))
    opened = pd.to_datetime(alerts["opened_on"])
    resolved = pd.to_datetime(alerts["resolved_on"])
    frames = []
    for day in dates:
        cut = pd.Timestamp(day)
        open_then = alerts[(opened <= cut) & (resolved.isna() | (resolved > cut))]
        level = changes[changes["as_of"] <= cut].groupby("alert_id")["level"].last()
        frames.append(
            open_then[["customer_id", "rule"]].assign(
                as_of=day, level=open_then["alert_id"].map(level).to_numpy()
            )
        )
    if not frames:
        return pd.DataFrame(columns=["customer_id", "rule", "as_of", "level"])
    return pd.concat(frames, ignore_index=True).dropna(subset=["level"])


def _customer_levels(open_rules: pd.DataFrame, levels: Sequence[str]) -> pd.Series:
    """Each (customer_id, as_of)'s level: the highest of its open alerts."""
    rank = open_rules["level"].map({level: i for i, level in enumerate(levels)})
    highest = rank.groupby([open_rules["customer_id"], open_rules["as_of"]]).max()
    return highest.map(dict(enumerate(levels)))


def _with_levels(labels: pd.DataFrame, open_rules: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    by_snapshot = _customer_levels(open_rules, levels).rename("level").reset_index()
    return labels.merge(by_snapshot, on=["customer_id", "as_of"], how="left")


def alert_outcomes(
    alerts: pd.DataFrame,
    level_changes: pd.DataFrame,
    labels: pd.DataFrame,
    dates: Sequence[date],
    levels: Sequence[str],
    *,
    horizon_days: int,
    until: date,
    review: ReviewPolicy | None = None,
) -> dict[str, Any]:
    """Overall, per level (lowest last) and per rule, judged dates only, with the pending count beside.

    `labels` are `evaluation.labels.label_snapshots` at `dates` (the stored evaluation dates): customer_id,
    as_of, churned, churn_date for every customer at risk on each date.
    """
    review = review or ReviewPolicy()
    judged_until = until - timedelta(days=horizon_days)
    judged = sorted(d for d in dates if d <= judged_until)
    pending = sorted(d for d in dates if d > judged_until)
    open_rules = open_at(alerts, level_changes, [*judged, *pending])
    rows = _with_levels(labels, open_rules, levels)
    is_judged = rows["as_of"].isin(judged)
    opened_on = pd.to_datetime(alerts["opened_on"]).dt.date
    first_level = (
        open_rules.drop_duplicates(["customer_id", "rule"])
        .groupby("rule")["level"]
        .agg(lambda found: found.mode().iloc[0])
    )
    figures = alert_figures(
        rows[is_judged],
        alerts[opened_on.isin(judged)],
        levels,
        {str(rule): str(level) for rule, level in first_level.items()},
        open_rules[open_rules["as_of"].isin(judged)],
    )
    waiting = rows[~is_judged]
    figures["overall"]["pending"] = int(waiting["level"].notna().sum())
    figures["overall"]["customer_snapshots"] = int(is_judged.sum())
    figures["overall"]["base_rate"] = (
        round(float(rows.loc[is_judged, "churned"].mean()), 4) if is_judged.any() else None
    )
    for row in figures["levels"]:
        row["pending"] = int((waiting["level"] == row["level"]).sum())
    pending_by_rule = alerts[opened_on.isin(pending)].groupby("rule").size()
    listed = {row["rule"] for row in figures["rules"]}
    for rule in sorted(set(pending_by_rule.index.astype(str)) - listed):
        empty = {"alerts": 0, "precision": None, "recall": None, "median_lead_days": None}
        figures["rules"].append({"rule": rule, "level": first_level.get(rule), **empty})
    for row in figures["rules"]:
        row["pending"] = int(pending_by_rule.get(row["rule"], 0))
        row["review"] = (
            row["alerts"] >= review.min_alerts and (row["precision"] or 0.0) < review.max_precision
        )
    return {
        **figures,
        "dates": {
            "judged": len(judged),
            "pending": len(pending),
            "first": judged[0].isoformat() if judged else None,
            "last_judged": judged[-1].isoformat() if judged else None,
            "first_pending": pending[0].isoformat() if pending else None,
            "next_judged_on": (pending[0] + timedelta(days=horizon_days)).isoformat() if pending else None,
            "judged_until": judged_until.isoformat(),
        },
        "review": {
            "min_alerts": review.min_alerts,
            "max_precision": review.max_precision,
            "flagged": [r["rule"] for r in figures["rules"] if r["review"]],
        },
    }
