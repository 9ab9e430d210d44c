"""The alert and evaluation-run figures of the overview, scoped by `customer.access`. Still web's own query
module: they are to move to the alert and evaluation domains' services (a customer's alerts and the rules'
names moved: `alert.service.customer_alerts`, `rule.service.rule_names`; the risk list is the customer
domain's, `customer.repository`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from churnradar.alert.lifecycle import SILENCED
from churnradar.auth.schemas import Principal
from churnradar.customer.access import scoped
from churnradar.models import (
    Alert,
    AlertStatus,
    EvaluationRun,
    RunStatus,
)


def latest_run_day(session: Session) -> date | None:
    """The as-of date of the latest succeeded evaluation."""
    return session.scalar(
        select(func.max(EvaluationRun.as_of)).where(EvaluationRun.status == RunStatus.SUCCEEDED.value)
    )


def run_summaries(session: Session, since: date) -> list[tuple[date, dict[str, Any]]]:
    """Each succeeded evaluation since `since`: its as-of date and summary (customers by level for all)."""
    query = (
        select(EvaluationRun.as_of, EvaluationRun.summary)
        .where(EvaluationRun.status == RunStatus.SUCCEEDED.value, EvaluationRun.as_of >= since)
        .order_by(EvaluationRun.as_of, EvaluationRun.id)
    )
    return [(as_of, summary or {}) for as_of, summary in session.execute(query)]


def alert_spans(
    session: Session, principal: Principal, since: date
) -> list[tuple[int, str, date, date | None]]:
    """(customer, level, opened on, resolved on) of the visible alerts open at some time since `since`."""
    query = select(Alert.customer_id, Alert.level, Alert.opened_on, Alert.resolved_on).where(
        or_(Alert.resolved_on.is_(None), Alert.resolved_on > since), Alert.muted.is_distinct_from(SILENCED)
    )
    return [
        (int(c), str(lv), o, r)
        for c, lv, o, r in session.execute(scoped(query, Alert.customer_id, principal))
    ]


def alerts_per_day(session: Session, principal: Principal, since: date) -> tuple[list[Any], list[Any]]:
    """(day, count) of visible alerts opened, and of those resolved, on each day since `since`."""
    opened = select(Alert.opened_on, func.count()).where(Alert.opened_on >= since).group_by(Alert.opened_on)
    resolved = (
        select(Alert.resolved_on, func.count()).where(Alert.resolved_on >= since).group_by(Alert.resolved_on)
    )
    return (
        list(session.execute(scoped(opened, Alert.customer_id, principal))),
        list(session.execute(scoped(resolved, Alert.customer_id, principal))),
    )


def open_alerts_by_rule(
    session: Session, principal: Principal, limit: int = 10
) -> list[tuple[str, str, int]]:
    """(template, rule, open alerts) of the rules behind most open visible alerts."""
    count = func.count()
    query = (
        select(Alert.template, Alert.rule, count)
        .where(Alert.status == AlertStatus.OPEN.value, Alert.muted.is_distinct_from(SILENCED))
        .group_by(Alert.template, Alert.rule)
        .order_by(count.desc(), Alert.rule)
        .limit(limit)
    )
    return [(t, r, int(n)) for t, r, n in session.execute(scoped(query, Alert.customer_id, principal))]
