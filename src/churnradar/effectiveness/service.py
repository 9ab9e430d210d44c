"""`churnradar report effectiveness`: are we keeping more customers, or just raising more alarms?

Churn rate per month before and after a go-live date, and how the stored warnings did per rule and level.
The save rate against a control group needs intervention outcomes and a holdout of alerts that get no task;
it is reported as not available until those exist (see `SAVE_RATE_NOTE`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import Policy
from churnradar.effectiveness.churn import (
    before_after,
    churn_dates,
    first_month_from,
    monthly_churn,
    months_back,
)
from churnradar.effectiveness.warnings import ReviewPolicy, warning_outcomes
from churnradar.evaluation.frames import activity_frame, all_customers
from churnradar.evaluation.labels import ACTIVITY_KINDS
from churnradar.indicator import service as indicator_service
from churnradar.models import Alert, AlertEvent

ALERTS: Table = Alert.__table__  # type: ignore[assignment]
EVENTS: Table = AlertEvent.__table__  # type: ignore[assignment]
SAVE_RATE_NOTE = (
    "Save rate needs intervention outcomes and a control group: a random, stable share of new alerts that "
    "is recorded but gets no task or notification. Without it, a retained customer may have stayed anyway, "
    "so no save rate is claimed."
)


def stored_alerts(engine: Engine, policy: Policy) -> pd.DataFrame:
    """Every alert ever opened: customer_id, rule, opened_on, and the highest level it reached."""
    reached = select(EVENTS.c.alert_id, EVENTS.c.to_level).where(EVENTS.c.to_level.is_not(None)).subquery()
    with engine.connect() as conn:
        alerts = pd.DataFrame(
            conn.execute(
                select(ALERTS.c.id, ALERTS.c.customer_id, ALERTS.c.rule, ALERTS.c.level, ALERTS.c.opened_on)
            ).all(),
            columns=["id", "customer_id", "rule", "level", "opened_on"],
        )
        levels = pd.DataFrame(conn.execute(select(reached)).all(), columns=["id", "level"])
    every = pd.concat([alerts[["id", "level"]], levels], ignore_index=True)
    every["rank"] = policy.rank(every["level"])
    highest = every.sort_values("rank").groupby("id")["level"].last()
    alerts["level"] = alerts["id"].map(highest)
    return alerts.drop(columns="id")


def _first_evaluation(engine: Engine) -> date | None:
    with engine.connect() as conn:
        first: date | None = conn.execute(select(func.min(ALERTS.c.opened_on))).scalar_one()
    return first


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
) -> dict[str, Any]:
    """The effectiveness report as of `until` (data strictly before it)."""
    policy = policy or Policy()
    with indicator_service.open_source(engine) as source:
        activity = activity_frame(source, ACTIVITY_KINDS)
        contracts = source.contracts.to_pyarrow().to_pandas()
    with engine.connect() as conn:
        customers = all_customers(conn)
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
    alerts = stored_alerts(engine, policy)
    since = _first_evaluation(engine)
    warnings = (
        warning_outcomes(
            alerts,
            dates["churn_date"],
            policy.levels,
            horizon_days=horizon_days,
            until=until,
            since=since,
            review=review,
        )
        if since is not None
        else None
    )
    return {
        "until": until.isoformat(),
        "horizon_days": horizon_days,
        "inactivity_days": inactivity_days,
        "churn_by_month": by_month,
        "before_after": before_after(by_month, go_live),
        "warnings": warnings,
        "warnings_since": since.isoformat() if since else None,
        "save_rate": {"available": False, "note": SAVE_RATE_NOTE},
        "judged_until": (until - timedelta(days=horizon_days)).isoformat(),
    }
