"""Risk queries, every one filtered by `visible_customers`: a customer out of scope does not exist."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select
from sqlalchemy.orm import Session

from churnradar.auth.access import SEE_ALL, visible_customers
from churnradar.auth.schemas import Principal
from churnradar.customer.repository import Owner, scoped, search
from churnradar.kit.levels import level_ranks
from churnradar.models import (
    Alert,
    AlertEvent,
    Customer,
    CustomerRisk,
    CustomerScore,
    CustomerTag,
    EvaluationRun,
    InterventionTask,
    Rule,
    Team,
)
from churnradar.web.risk.schemas import ANY_LEVEL, LEVELS, RiskFilter, RiskRow, RiskSort

# Worse levels rank higher; no level ranks below every level.
LEVEL_RANK = case(
    {name: rank + 1 for name, rank in level_ranks(LEVELS).items()}, value=CustomerRisk.level, else_=0
)
SORT_COLUMNS: dict[RiskSort, Any] = {
    RiskSort.LEVEL: LEVEL_RANK,
    RiskSort.SCORE: CustomerRisk.health_score,
    RiskSort.PROBABILITY: CustomerRisk.churn_probability,
    RiskSort.NAME: Customer.name,
    RiskSort.CHANGE: CustomerRisk.health_change,
}


def _risk_conditions(flt: RiskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.level == ANY_LEVEL:
        conditions.append(CustomerRisk.level.is_not(None))
    elif flt.level is not None:
        conditions.append(CustomerRisk.level == flt.level)
    for column, low, high in (
        (CustomerRisk.health_score, flt.score_min, flt.score_max),
        (CustomerRisk.churn_probability, flt.probability_min, flt.probability_max),
    ):
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    return conditions


def _customer_conditions(
    session: Session, principal: Principal, flt: RiskFilter
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if principal.role not in SEE_ALL:
        conditions.append(visible_customers(principal))
    if flt.owner is not None:
        conditions.append(Customer.owner_id == flt.owner)
    if flt.team is not None:
        conditions.append(Customer.team_id == flt.team)
    if flt.segment is not None:
        conditions.append(Customer.segment == flt.segment)
    if flt.industry is not None:
        conditions.append(Customer.industry == flt.industry)
    if flt.tag is not None:
        tagged = exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag == flt.tag)
        conditions.append(tagged)
    if flt.q:
        conditions.append(search(session, flt.q))
    return conditions


def _ordered(query: Select[Any], flt: RiskFilter) -> Select[Any]:
    column = SORT_COLUMNS[flt.sort]
    order = (column.desc() if flt.desc else column.asc()).nulls_last()
    # Nulls last on both databases (a plain NULLS LAST lets an index on the column give the order); then
    # the lowest health score; the id as a tie-breaker so pages never overlap.
    return query.order_by(order, CustomerRisk.health_score.asc().nulls_last(), CustomerRisk.customer_id)


def _matching(
    session: Session,
    principal: Principal,
    flt: RiskFilter,
    *columns: Any,
    wide: bool = False,
    count: bool = False,
) -> Select[Any]:
    """The risk rows the filter keeps; `customers` is joined only when the columns or the sort need it.

    Directors and admins see every customer: their unfiltered list sorts the narrow risk table alone, which
    is what keeps the list fast at 100k customers.
    """
    customer_side = _customer_conditions(session, principal, flt)
    query = select(*columns).select_from(CustomerRisk).where(*_risk_conditions(flt))
    if customer_side:
        # As a set of ids: the database finds the few matching customers first (a search, a rep's own)
        # instead of probing the customer of every risk row.
        query = query.where(CustomerRisk.customer_id.in_(select(Customer.id).where(*customer_side)))
    if wide or (flt.sort == RiskSort.NAME and not count):
        query = query.join(Customer, Customer.id == CustomerRisk.customer_id)
    return query


def _wide(query: Select[Any]) -> Select[Any]:
    return (
        query.outerjoin(Owner, Owner.id == Customer.owner_id)
        .outerjoin(Team, Team.id == Customer.team_id)
        .outerjoin(CustomerScore, CustomerScore.customer_id == Customer.id)
    )


def _row(row: Sequence[Any], deadline: datetime | None = None) -> RiskRow:
    customer, risk, login, display, team, model_en, model_zh = row
    return RiskRow(
        id=customer.id,
        customer_id=customer.external_id,
        name=customer.name,
        level=risk.level,
        health_score=risk.health_score,
        health_change=risk.health_change,
        churn_probability=risk.churn_probability,
        open_alerts=risk.open_alerts,
        reasons_en=risk.reasons_en or None,
        reasons_zh=risk.reasons_zh or None,
        model_reasons_en=model_en or None,
        model_reasons_zh=model_zh or None,
        as_of=risk.as_of,
        owner_id=customer.owner_id,
        owner=login,
        owner_name=display,
        team=team,
        segment=customer.segment,
        industry=customer.industry,
        task_deadline=deadline,
    )


def _wide_columns() -> tuple[Any, ...]:
    return (
        Customer,
        CustomerRisk,
        Owner.login,
        Owner.display_name,
        Team.name,
        CustomerScore.reasons_en,
        CustomerScore.reasons_zh,
    )


def list_risk(session: Session, principal: Principal, flt: RiskFilter) -> tuple[list[RiskRow], int]:
    """One page of the customers at risk this principal may see, and how many match in all."""
    total = session.scalar(_matching(session, principal, flt, func.count(), count=True))
    # Two steps, as the customer list does: sort narrow (id, key) rows to find the page, then read its rows.
    page = _ordered(_matching(session, principal, flt, CustomerRisk.customer_id), flt)
    ids = list(session.scalars(page.offset((flt.page - 1) * flt.per_page).limit(flt.per_page)))
    wide = _wide(
        select(*_wide_columns())
        .select_from(Customer)
        .join(CustomerRisk, CustomerRisk.customer_id == Customer.id)
        .where(Customer.id.in_(ids))
    )
    # By customer only (the status is checked here): with `status = 'open'` in SQL, SQLite walks every open
    # task by the status index instead of the page's fifty customers.
    tasks = select(InterventionTask.customer_id, InterventionTask.deadline_at, InterventionTask.status)
    deadlines = {
        customer: deadline
        for customer, deadline, state in session.execute(tasks.where(InterventionTask.customer_id.in_(ids)))
        if state == "open"
    }
    rows = {r[0].id: _row(r, deadlines.get(r[0].id)) for r in session.execute(wide)}
    return [rows[i] for i in ids if i in rows], int(total or 0)


def iter_risk(session: Session, principal: Principal, flt: RiskFilter, *, limit: int) -> Iterator[RiskRow]:
    """Every matching customer in list order (for exports), at most `limit`."""
    query = _ordered(_wide(_matching(session, principal, flt, *_wide_columns(), wide=True)), flt).limit(limit)
    for row in session.execute(query.execution_options(yield_per=2_000)):
        yield _row(row)


def tags(session: Session, principal: Principal, limit: int = 500) -> list[str]:
    """The tags on customers this principal may see (for the tag filter)."""
    query = (
        select(CustomerTag.tag)
        .join(Customer, Customer.id == CustomerTag.customer_id)
        .where(visible_customers(principal))
        .distinct()
        .order_by(CustomerTag.tag)
        .limit(limit)
    )
    return list(session.scalars(query))


def risk_of(session: Session, customer_id: int) -> tuple[CustomerRisk | None, CustomerScore | None]:
    """A customer's current risk row and model score (the caller has checked it is visible)."""
    return session.get(CustomerRisk, customer_id), session.get(CustomerScore, customer_id)


def alerts_of(session: Session, customer_id: int) -> tuple[Sequence[Alert], dict[int, list[AlertEvent]]]:
    """A customer's alerts (open first, then newest) and each one's changes, newest first."""
    alerts = session.scalars(
        select(Alert)
        .where(Alert.customer_id == customer_id)
        .order_by((Alert.status == "open").desc(), Alert.opened_on.desc(), Alert.id.desc())
        .limit(200)
    ).all()
    history: dict[int, list[AlertEvent]] = {a.id: [] for a in alerts}
    if alerts:
        changes = select(AlertEvent).where(AlertEvent.alert_id.in_(list(history)))
        for event in session.scalars(changes.order_by(AlertEvent.as_of.desc(), AlertEvent.id.desc())):
            history[event.alert_id].append(event)
    return alerts, history


def rule_names(session: Session) -> dict[tuple[str, str], tuple[str, str]]:
    """(template, slug) → (English name, Chinese name) of every stored rule."""
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for template, slug, definition in session.execute(select(Rule.template, Rule.slug, Rule.definition)):
        names[(template, slug)] = (str(definition.get("name_en", slug)), str(definition.get("name_zh", slug)))
    return names


def level_counts(session: Session, principal: Principal) -> tuple[dict[str | None, int], int]:
    """Visible customers per current level (None: no level), and how many visible customers there are."""
    query = scoped(
        select(CustomerRisk.level, func.count()).group_by(CustomerRisk.level),
        CustomerRisk.customer_id,
        principal,
    )
    counts = {level: int(n) for level, n in session.execute(query)}
    total = session.scalar(select(func.count()).select_from(Customer).where(visible_customers(principal)))
    return counts, int(total or 0)


def latest_run_day(session: Session) -> date | None:
    """The as-of date of the latest succeeded evaluation."""
    return session.scalar(select(func.max(EvaluationRun.as_of)).where(EvaluationRun.status == "succeeded"))


def run_summaries(session: Session, since: date) -> list[tuple[date, dict[str, Any]]]:
    """Each succeeded evaluation since `since`: its as-of date and summary (customers by level for all)."""
    query = (
        select(EvaluationRun.as_of, EvaluationRun.summary)
        .where(EvaluationRun.status == "succeeded", EvaluationRun.as_of >= since)
        .order_by(EvaluationRun.as_of, EvaluationRun.id)
    )
    return [(as_of, summary or {}) for as_of, summary in session.execute(query)]


def alert_spans(
    session: Session, principal: Principal, since: date
) -> list[tuple[int, str, date, date | None]]:
    """(customer, level, opened on, resolved on) of the visible alerts open at some time since `since`."""
    query = select(Alert.customer_id, Alert.level, Alert.opened_on, Alert.resolved_on).where(
        or_(Alert.resolved_on.is_(None), Alert.resolved_on > since), Alert.muted.is_distinct_from("silenced")
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
        .where(Alert.status == "open", Alert.muted.is_distinct_from("silenced"))
        .group_by(Alert.template, Alert.rule)
        .order_by(count.desc(), Alert.rule)
        .limit(limit)
    )
    return [(t, r, int(n)) for t, r, n in session.execute(scoped(query, Alert.customer_id, principal))]
