"""What really happened, for the backtest (CONTRACT §3): who was at risk at each date, who churned, and when.

A customer is at risk at D when it is still a customer (not churned before D) and, where churn is judged by
activity (no churned_at, no contracts), it had an order, payment or login in the `inactivity` days before D.
It churned within the horizon when its churn date falls in [D, D + horizon): `churned_at`; else the end of a
contract that was not renewed; else, judged by activity, when nothing follows within the horizon, with the
churn dated `inactivity` days after the last activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

ACTIVITY_KINDS = ("order", "payment", "login")
# A contract counts as renewed when another one of the customer's starts within this many days of its end.
RENEWAL_GRACE_DAYS = 30


def contract_churn_dates(contracts: pd.DataFrame) -> pd.Series:
    """The end date of each customer's first contract that was not renewed (by customer_id)."""
    if contracts.empty:
        return pd.Series(dtype="datetime64[ns]")
    frame = contracts[["customer_id", "start_date", "end_date"]].copy()
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column])
    pairs = frame.merge(frame, on="customer_id", suffixes=("", "_next"))
    renewal = (pairs["start_date_next"] > pairs["start_date"]) & (
        pairs["start_date_next"] <= pairs["end_date"] + pd.Timedelta(days=RENEWAL_GRACE_DAYS)
    )
    renewed = pairs[renewal].groupby(["customer_id", "start_date"]).size()
    frame = frame.set_index(["customer_id", "start_date"])
    lapsed = frame[~frame.index.isin(renewed.index)].reset_index()
    return lapsed.groupby("customer_id")["end_date"].min()


def label_snapshots(
    customers: pd.DataFrame,
    activity_days: pd.DataFrame,
    contracts: pd.DataFrame,
    dates: Sequence[date],
    *,
    horizon_days: int,
    inactivity_days: int,
) -> pd.DataFrame:
    """One row per (customer, as-of date) at risk: `customer_id, as_of, churned, churn_date`.

    `customers` has customer_id, signup_date, churned_at; `activity_days` has customer_id, day (a row per
    day with an order, payment or login); `contracts` has customer_id, start_date, end_date.
    """
    horizon, inactivity = pd.Timedelta(days=horizon_days), pd.Timedelta(days=inactivity_days)
    base = customers[["customer_id", "signup_date", "churned_at"]].copy()
    base["churned_at"] = pd.to_datetime(base["churned_at"])
    base["signup_date"] = pd.to_datetime(base["signup_date"])
    contract_end = contract_churn_dates(contracts)
    has_contract = base["customer_id"].isin(contracts["customer_id"]) if not contracts.empty else False
    base["contract_churn"] = (
        pd.to_datetime(base["customer_id"].map(contract_end))
        if len(contract_end)
        else pd.Series(pd.NaT, index=base.index)
    )
    base["by_activity"] = base["churned_at"].isna() & ~np.asarray(has_contract, dtype=bool)
    grid = base.merge(pd.DataFrame({"as_of": pd.to_datetime(list(dates))}), how="cross")
    grid = grid[(grid["signup_date"].isna() | (grid["signup_date"] < grid["as_of"]))]
    grid = grid[grid["churned_at"].isna() | (grid["churned_at"] >= grid["as_of"])]
    grid = grid[
        grid["contract_churn"].isna() | (grid["contract_churn"] >= grid["as_of"]) | grid["churned_at"].notna()
    ]
    grid = _with_activity(grid, activity_days)
    active_before = grid["last_before"].notna() & (grid["last_before"] >= grid["as_of"] - inactivity)
    grid = grid[~grid["by_activity"] | active_before].copy()
    silent_after = grid["first_after"].isna() | (grid["first_after"] >= grid["as_of"] + horizon)
    declared = grid["churned_at"].where(grid["churned_at"].notna(), grid["contract_churn"])
    # Judged by activity, a customer counts as lost once the inactivity period has passed since its last
    # order, payment or login: the day a salesperson would call it gone, which lead times count towards.
    activity_churn = grid["last_before"] + inactivity
    grid["churn_date"] = declared.where(~grid["by_activity"], activity_churn.where(silent_after))
    in_horizon = (grid["churn_date"] >= grid["as_of"]) & (grid["churn_date"] < grid["as_of"] + horizon)
    # Judged by activity, the silence within the horizon is the churn (its date may fall just after it).
    grid["churned"] = np.where(grid["by_activity"], silent_after, in_horizon)
    grid["as_of"] = grid["as_of"].dt.date
    return grid[["customer_id", "as_of", "churned", "churn_date"]].reset_index(drop=True)


def _with_activity(grid: pd.DataFrame, activity_days: pd.DataFrame) -> pd.DataFrame:
    # merge_asof wants keys of one resolution and type: dates arrive as s, ms or us and customer ids as
    # 32- or 64-bit integers depending on the source (PostgreSQL's integer ids come as int32).
    days = activity_days[["customer_id", "day"]].assign(
        day=lambda f: pd.to_datetime(f["day"]).astype("datetime64[us]"),
        customer_id=lambda f: f["customer_id"].astype("int64"),
    )
    days = days.sort_values("day")
    ordered = grid.assign(
        as_of=grid["as_of"].astype("datetime64[us]"), customer_id=grid["customer_id"].astype("int64")
    ).sort_values("as_of")
    before = pd.merge_asof(
        ordered,
        days.rename(columns={"day": "last_before"}),
        left_on="as_of",
        right_on="last_before",
        by="customer_id",
        direction="backward",
        allow_exact_matches=False,
    )
    after = pd.merge_asof(
        ordered[["customer_id", "as_of"]],
        days.rename(columns={"day": "first_after"}),
        left_on="as_of",
        right_on="first_after",
        by="customer_id",
        direction="forward",
    )
    before["first_after"] = after["first_after"].to_numpy()
    return before
