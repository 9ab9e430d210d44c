"""`churnradar report effectiveness`: are we keeping more customers, or just raising more alarms?

Churn rate per month before and after a go-live date, how the stored warnings did per rule and level, the
save rate against the control group, and what the intervention tasks achieved (by playbook action, owner and
team, with deadline compliance). With `scope`, every figure covers only those customers (a manager's team).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import Policy
from churnradar.auth.schemas import Principal
from churnradar.customer import service as customer_service
from churnradar.customer.access import sees_all
from churnradar.db import session_scope
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
from churnradar.models.people import Role

# The deadlines of the tasks a viewer may see, for the deadline-compliance panel (read through here).
task_deadlines = repository.task_deadlines


@dataclass(frozen=True)
class ReportInputs:
    """What the report reads, loaded once for every scope it is computed for."""

    customers: pd.DataFrame
    activity: pd.DataFrame
    contracts: pd.DataFrame
    draws: pd.DataFrame
    tasks: pd.DataFrame
    follow_ups: pd.DataFrame
    dates: list[date]
    alerts: pd.DataFrame
    level_changes: pd.DataFrame


def load_inputs(engine: Engine, *, until: date) -> ReportInputs:
    """Customers, activity, contracts, draws, tasks and stored warnings: data strictly before `until`."""
    with indicator_service.open_source(engine) as source:
        activity = activity_frame(source, ACTIVITY_KINDS)
        contracts = source.contracts.to_pyarrow().to_pandas()
    with engine.connect() as conn:
        customers = all_customers(conn)
        draws = repository.draws(conn, until=until)
        tasks = repository.tasks(conn, until=until)
        follow_ups = repository.follow_ups(conn, until=until)
        dates = repository.evaluation_dates(conn, until=until)
        alerts, level_changes = repository.alert_history(conn, until=until)
    return ReportInputs(
        customers, activity, contracts, draws, tasks, follow_ups, dates, alerts, level_changes
    )


def _alert_precision(
    inputs: ReportInputs,
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
    alerts, level_changes, dates = inputs.alerts, inputs.level_changes, inputs.dates
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
    return report_from(
        load_inputs(engine, until=until),
        until=until,
        go_live=go_live,
        months=months,
        horizon_days=horizon_days,
        inactivity_days=inactivity_days,
        policy=policy,
        review=review,
        min_per_arm=min_per_arm,
        scope=scope,
    )


def report_from(
    inputs: ReportInputs,
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
    """The report from inputs loaded with the same `until`, over `scope`'s customers if given."""
    policy = policy or Policy()
    customers, activity, contracts, draws, tasks = (
        inputs.customers,
        inputs.activity,
        inputs.contracts,
        inputs.draws,
        inputs.tasks,
    )
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
        inputs,
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
        "tasks": task_outcomes(tasks, inputs.follow_ups, until=until),
        "judged_until": (until - timedelta(days=horizon_days)).isoformat(),
    }


# The page's figures, computed after each evaluation for the day it ran (`store_figures`) and read back by the
# page (`stored_report`): per scope key, "all" (admins, directors) or "user:<id>" (a manager's customers).
FIGURES = "effectiveness"
EVERYONE = "all"


def scope_key(principal: Principal) -> str:
    """Which stored figures a viewer reads: everyone's, or their own customers'."""
    return EVERYONE if sees_all(principal) else f"user:{principal.user_id}"


def _viewer_scopes(engine: Engine) -> dict[str, list[int] | None]:
    """Each scope the page is shown in: everyone's customers and each manager's."""
    scopes: dict[str, list[int] | None] = {EVERYONE: None}
    with engine.connect() as conn:
        managers = repository.managers(conn)
    with session_scope(engine) as session:
        for user_id, login, team_id in managers:
            viewer = Principal(user_id=user_id, login=login, role=Role.MANAGER, team_id=team_id)
            scopes[scope_key(viewer)] = customer_service.visible_ids(session, viewer)
    return scopes


def store_figures(engine: Engine, *, as_of: date, now: datetime) -> int:
    """Compute the report the page shows on `as_of` (data up to that day) for every viewer scope and store it,
    replacing what that day had; how many scopes were stored."""
    until = as_of + timedelta(days=1)
    inputs = load_inputs(engine, until=until)
    bodies = {
        key: json_safe(report_from(inputs, until=until, scope=scope))
        for key, scope in _viewer_scopes(engine).items()
    }
    with engine.begin() as conn:
        repository.save_figures(conn, FIGURES, as_of, bodies, now=now)
    return len(bodies)


def stored_report(
    engine: Engine, *, until: date, key: str, scope: Collection[int] | None
) -> dict[str, Any] | None:
    """The page's report as stored for the day before `until`, its task figures computed now (tasks are
    closed and followed up between evaluations); None when that day's figures were not stored."""
    with engine.connect() as conn:
        body = repository.stored_figures(conn, FIGURES, until - timedelta(days=1), key)
        if body is None:
            return None
        tasks = repository.tasks(conn, until=until)
        follow_ups = repository.follow_ups(conn, until=until)
    if scope is not None:
        tasks = tasks[tasks["customer_id"].isin(set(scope))]
    return {**body, "tasks": json_safe(task_outcomes(tasks, follow_ups, until=until))}


def json_safe(value: Any) -> Any:
    """`value` as JSON reads it back (tuples as lists, keys as text), so stored and live figures compare."""
    return json.loads(json.dumps(value, default=str))
