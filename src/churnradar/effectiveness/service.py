"""`churnradar report effectiveness`: are we keeping more customers, or just raising more alarms?

Churn rate per month before and after a go-live date, how the stored warnings did per rule and level, the
save rate against the control group, and what the intervention tasks achieved (by playbook action, owner and
team, with deadline compliance). With `scope`, every figure covers only those customers (a manager's team).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import Policy
from churnradar.effectiveness import repository
from churnradar.effectiveness.alert_precision import ReviewPolicy, alert_outcomes
from churnradar.effectiveness.churn import (
    before_after,
    churn_dates,
    first_month_from,
    monthly_churn,
    months_back,
)
from churnradar.effectiveness.save_rate import first_draws, save_rate
from churnradar.effectiveness.tasks import task_outcomes
from churnradar.evaluation.frames import activity_frame, all_customers
from churnradar.evaluation.labels import ACTIVITY_KINDS, label_snapshots
from churnradar.indicator import service as indicator_service

# Tasks opened before a date, for the deadline-compliance panel (read through here, never the repository).
tasks_until = repository.tasks


def _alert_precision(
    engine: Engine,
    customers: pd.DataFrame,
    activity: pd.DataFrame,
    contracts: pd.DataFrame,
    *,
    until: date,
    horizon_days: int,
    inactivity_days: int,
    policy: Policy,
    review: ReviewPolicy | None,
    scope: Collection[int] | None,
) -> dict[str, Any] | None:
    """How the warnings of the stored evaluation dates did (None before the first evaluation)."""
    with engine.connect() as conn:
        dates = repository.evaluation_dates(conn, until=until)
        alerts, level_changes = repository.alert_history(conn, until=until)
    if not dates:
        return None
    if scope is not None:
        alerts = alerts[alerts["customer_id"].isin(set(scope))]
        level_changes = level_changes[level_changes["alert_id"].isin(alerts["alert_id"])]
    labels = label_snapshots(
        customers, activity, contracts, dates, horizon_days=horizon_days, inactivity_days=inactivity_days
    )
    return alert_outcomes(
        alerts,
        level_changes,
        labels,
        dates,
        policy.levels,
        horizon_days=horizon_days,
        until=until,
        review=review,
    )


def _save_rate(
    draws: pd.DataFrame,
    customers: pd.DataFrame,
    activity: pd.DataFrame,
    contracts: pd.DataFrame,
    *,
    until: date,
    horizon_days: int,
    inactivity_days: int,
    min_per_arm: int,
) -> dict[str, Any]:
    """The save rate of each customer's first draw, labelled at the draw date as the backtest labels."""
    draws = first_draws(draws)
    days = sorted({pd.Timestamp(d).date() for d in draws["drawn_on"]})
    labels = pd.DataFrame(columns=["customer_id", "as_of", "churned"])
    if days:
        before = activity[pd.to_datetime(activity["day"]) < pd.Timestamp(until)]
        labels = label_snapshots(
            customers, before, contracts, days, horizon_days=horizon_days, inactivity_days=inactivity_days
        )
    return save_rate(draws, labels, until=until, horizon_days=horizon_days, min_per_arm=min_per_arm)


def effectiveness_report(
    engine: Engine,
    *,
    until: date,
    go_live: date | None = None,
    months: int = 24,
    horizon_days: int = 90,
    inactivity_days: int = 90,
    policy: Policy | None = None,
    review: ReviewPolicy | None = None,
    min_per_arm: int = 30,
    scope: Collection[int] | None = None,
) -> dict[str, Any]:
    """The effectiveness report as of `until` (data strictly before it), over `scope`'s customers if given."""
    policy = policy or Policy()
    with indicator_service.open_source(engine) as source:
        activity = activity_frame(source, ACTIVITY_KINDS)
        contracts = source.contracts.to_pyarrow().to_pandas()
    with engine.connect() as conn:
        customers = all_customers(conn)
        draws = repository.draws(conn, until=until)
        tasks = repository.tasks(conn, until=until)
        follow_ups = repository.follow_ups(conn, until=until)
    if scope is not None:
        chosen = set(scope)
        customers, activity, contracts, draws, tasks = (
            frame[frame["customer_id"].isin(chosen)]
            for frame in (customers, activity, contracts, draws, tasks)
        )
    dates = churn_dates(customers, activity, contracts, until=until, inactivity_days=inactivity_days)
    start = months_back(until, months)
    if go_live is not None:
        start = min(start, months_back(go_live, 12))
    if len(activity):
        # A churn judged by activity is dated `inactivity` days after the last activity: earlier months would
        # miss those whose last activity precedes the data, so they start that long after the first record.
        seen = pd.to_datetime(activity["day"]).min().date() + timedelta(days=inactivity_days)
        start = max(start, first_month_from(seen))
    by_month = monthly_churn(dates, start=start, until=until)
    warnings = _alert_precision(
        engine,
        customers,
        activity,
        contracts,
        until=until,
        horizon_days=horizon_days,
        inactivity_days=inactivity_days,
        policy=policy,
        review=review,
        scope=scope,
    )
    return {
        "until": until.isoformat(),
        "horizon_days": horizon_days,
        "inactivity_days": inactivity_days,
        "churn_by_month": by_month,
        "before_after": before_after(by_month, go_live),
        "warnings": warnings,
        "save_rate": _save_rate(
            draws,
            customers,
            activity,
            contracts,
            until=until,
            horizon_days=horizon_days,
            inactivity_days=inactivity_days,
            min_per_arm=min_per_arm,
        ),
        "tasks": task_outcomes(tasks, follow_ups, until=until),
        "judged_until": (until - timedelta(days=horizon_days)).isoformat(),
    }
