"""When each customer churned, as known on a date, and the churn rate per calendar month.

Churn dates follow CONTRACT §3: `churned_at` where given; else the end of a contract that was not renewed;
else, judged by activity, `inactivity` days after the last order, payment or login, as the backtest's labels
date it (the day a salesperson would call the customer gone); a shorter silence is not a churn yet.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnradar.evaluation.labels import contract_churn_dates


def churn_dates(
    customers: pd.DataFrame,
    activity_days: pd.DataFrame,
    contracts: pd.DataFrame,
    *,
    until: date,
    inactivity_days: int,
) -> pd.DataFrame:
    """Per customer: `signup_date`, `first_active`, `churn_date` (NaT while a customer), by customer_id."""
    frame = customers[["customer_id", "signup_date", "churned_at"]].copy()
    frame["signup_date"] = pd.to_datetime(frame["signup_date"])
    declared = pd.to_datetime(frame["churned_at"])
    # Looked up by reindexing, not `map`: mapping through an empty datetime Series (an orders-only base with
    # no contracts) makes pandas cast datetimes to float and fail.
    ends = pd.to_datetime(contract_churn_dates(contracts))
    contract_end = pd.Series(ends.reindex(frame["customer_id"].to_numpy()).to_numpy(), index=frame.index)
    has_contract = frame["customer_id"].isin(contracts["customer_id"]) if len(contracts) else False
    days = pd.to_datetime(activity_days["day"])
    cut = pd.Timestamp(until)
    seen = activity_days.assign(day=days)[days < cut].groupby("customer_id")["day"].agg(["min", "max"])
    frame["first_active"] = frame["customer_id"].map(seen["min"])
    last = frame["customer_id"].map(seen["max"])
    by_activity = declared.isna() & ~np.asarray(has_contract, dtype=bool)
    churn = declared.where(declared.notna(), pd.to_datetime(contract_end))
    churn = churn.where(~by_activity, last + pd.Timedelta(days=inactivity_days))
    frame["churn_date"] = churn.where(churn < cut)
    return frame.set_index("customer_id")[["signup_date", "first_active", "churn_date"]]


def _month_starts(first: date, last: date) -> list[pd.Timestamp]:
    start = pd.Timestamp(first).to_period("M").to_timestamp()
    return list(pd.date_range(start, pd.Timestamp(last), freq="MS"))


def monthly_churn(dates: pd.DataFrame, *, start: date, until: date) -> list[dict[str, Any]]:
    """Churn rate per calendar month: customers lost in the month / customers active at its start.

    Active at the start: signed up (or first active) before it and not churned before it. A month is
    `complete` once it has ended by `until` (a churn is dated when it becomes known, so none can come later).
    """
    joined = dates["signup_date"].where(dates["signup_date"].notna(), dates["first_active"])
    churn = dates["churn_date"]
    out = []
    for month in _month_starts(start, until):
        end = month + pd.offsets.MonthBegin(1)
        if month >= pd.Timestamp(until):
            break
        active = joined.notna() & (joined < month) & (churn.isna() | (churn >= month))
        lost = active & churn.notna() & (churn < end)
        n_active, n_lost = int(active.sum()), int(lost.sum())
        out.append(
            {
                "month": month.strftime("%Y-%m"),
                "active_at_start": n_active,
                "lost": n_lost,
                "churn_rate": round(n_lost / n_active, 4) if n_active else None,
                "complete": bool(end <= pd.Timestamp(until)),
            }
        )
    return out


def before_after(months: list[dict[str, Any]], go_live: date | None) -> dict[str, Any] | None:
    """Pooled churn rate of complete months before the go-live month and from it on, and the change."""
    if go_live is None:
        return None
    cut = pd.Timestamp(go_live).strftime("%Y-%m")
    parts: dict[str, dict[str, Any]] = {}
    for name, chosen in (
        ("before", [m for m in months if m["month"] < cut and m["complete"]]),
        ("after", [m for m in months if m["month"] >= cut and m["complete"]]),
    ):
        active, lost = sum(m["active_at_start"] for m in chosen), sum(m["lost"] for m in chosen)
        parts[name] = {
            "months": len(chosen),
            "active_months": active,
            "lost": lost,
            "churn_rate": round(lost / active, 4) if active else None,
        }
    before, after = parts["before"]["churn_rate"], parts["after"]["churn_rate"]
    change = None if before is None or after is None else round(after - before, 4)
    return {"go_live": go_live.isoformat(), **parts, "change": change}


def first_month_from(day: date) -> date:
    """The first day of the first calendar month starting on or after `day`."""
    return day if day.day == 1 else (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_back(until: date, months: int) -> date:
    """The first day of the month `months` calendar months before `until`'s month."""
    first = until.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return first
