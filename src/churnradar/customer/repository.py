"""Customer queries. Those that find customers filter by `visible_customers`: one out of scope does not exist.

The rest take a customer the caller has already found visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from churnradar.auth.schemas import Principal
from churnradar.customer.access import SEE_ALL, scoped, sees_all, visible_customers
from churnradar.customer.schemas import (
    ALL_LEVELS,
    ANY_LEVEL,
    CustomerFilter,
    CustomerRow,
    RiskFilter,
    RiskRow,
    RiskSort,
    SortKey,
)
from churnradar.intervention.schemas import TaskStatus
from churnradar.kit.levels import level_ranks
from churnradar.models import CustomerRisk, CustomerScore, CustomerTag, InterventionTask
from churnradar.models import OwnerChange as OwnerChangeRow
from churnradar.models.customer import Customer
from churnradar.models.ledger import Contract
from churnradar.models.people import Role, Team, User

Owner = aliased(User, name="owner")
AnySelect = TypeVar("AnySelect", bound="Select[*tuple[Any, ...]]")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, text: str) -> ColumnElement[bool]:
    """Customers whose name or source-system id contains `text` (LIKE wildcards in it taken literally)."""
    pattern = f"%{_escape_like(text)}%"
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE already ignores ASCII case; lower() on both sides would cost a third more per row.
        return or_(Customer.name.like(pattern, escape="\\"), Customer.external_id.like(pattern, escape="\\"))
    return or_(Customer.name.ilike(pattern, escape="\\"), Customer.external_id.ilike(pattern, escape="\\"))


FieldMatch = tuple[str, str]  # a custom field's slug and the text it holds (checked by the service)


def _conditions(
    session: Session, principal: Principal, flt: CustomerFilter | RiskFilter, match: FieldMatch | None = None
) -> list[ColumnElement[bool]]:
    """The customer-side filters of either list, within the principal's scope (none for see-all roles)."""
    conditions = [] if sees_all(principal) else [visible_customers(principal)]
    if match is not None:  # a bound value compared with the attribute's text: no SQL from user text
        conditions.append(Customer.attributes[match[0]].as_string() == match[1])
    if flt.owner is not None:
        conditions.append(Customer.owner_id == flt.owner)
    if flt.team is not None:
        conditions.append(Customer.team_id == flt.team)
    columns = [(Customer.segment, flt.segment), (Customer.industry, flt.industry)]
    if isinstance(flt, CustomerFilter):
        columns += [(Customer.tier, flt.tier), (Customer.status, flt.status)]
    for column, value in columns:
        if value is not None:
            conditions.append(column == value)
    if isinstance(flt, RiskFilter) and flt.tag is not None:
        conditions.append(exists().where(CustomerTag.customer_id == Customer.id, CustomerTag.tag == flt.tag))
    if flt.q:
        conditions.append(search(session, flt.q))
    return conditions


SORT_COLUMNS: dict[SortKey, Any] = {
    SortKey.NAME: Customer.name,
    SortKey.CUSTOMER_ID: Customer.external_id,
    SortKey.OWNER: Owner.login,
    SortKey.TEAM: Team.name,
    SortKey.SEGMENT: Customer.segment,
    SortKey.INDUSTRY: Customer.industry,
    SortKey.TIER: Customer.tier,
    SortKey.STATUS: Customer.status,
    SortKey.SIGNUP_DATE: Customer.signup_date,
}


def _row_columns() -> Select[Customer, str, str | None, str]:
    return (
        select(Customer, Owner.login, Owner.display_name, Team.name)
        .outerjoin(Owner, Owner.id == Customer.owner_id)
        .outerjoin(Team, Team.id == Customer.team_id)
    )


def _ordered(query: AnySelect, flt: CustomerFilter) -> AnySelect:
    column = SORT_COLUMNS[flt.sort]
    order = column.desc() if flt.desc else column.asc()
    # Nulls last on both databases, and the id as a tie-breaker so pages never overlap.
    return query.order_by(column.is_(None), order, Customer.id)


def _page_ids(
    session: Session, principal: Principal, flt: CustomerFilter, match: FieldMatch | None
) -> list[int]:
    query = select(Customer.id).where(*_conditions(session, principal, flt, match))
    if flt.sort == SortKey.OWNER:
        query = query.outerjoin(Owner, Owner.id == Customer.owner_id)
    elif flt.sort == SortKey.TEAM:
        query = query.outerjoin(Team, Team.id == Customer.team_id)
    query = _ordered(query, flt).offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
    return list(session.scalars(query))


def _listed(customer: Customer, login: str | None, display: str | None, team: str | None) -> dict[str, Any]:
    """What both lists show of a customer: ids, name, owner, team, segment and industry."""
    return {
        "id": customer.id,
        "customer_id": customer.external_id,
        "name": customer.name,
        "owner": login,
        "owner_name": display,
        "team": team,
        "segment": customer.segment,
        "industry": customer.industry,
    }


def _row(customer: Customer, login: str | None, display: str | None, team: str | None) -> CustomerRow:
    return CustomerRow(
        **_listed(customer, login, display, team),
        tier=customer.tier,
        status=customer.status,
        signup_date=customer.signup_date,
    )


def list_customers(
    session: Session, principal: Principal, flt: CustomerFilter, match: FieldMatch | None = None
) -> tuple[list[CustomerRow], int]:
    """One page of the customers this principal may see, and how many match in all."""
    conditions = _conditions(session, principal, flt, match)
    total = session.scalar(select(func.count()).select_from(Customer).where(*conditions))
    # Two steps: sort narrow (id, key) rows to find the page, then read the page's wide rows. Sorting whole
    # rows made an unfiltered list of 100k customers 8x slower on SQLite.
    ids = _page_ids(session, principal, flt, match)
    rows = {row[0].id: _row(*row) for row in session.execute(_row_columns().where(Customer.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows], int(total or 0)


def iter_customers(
    session: Session,
    principal: Principal,
    flt: CustomerFilter,
    *,
    limit: int,
    match: FieldMatch | None = None,
) -> Iterator[CustomerRow]:
    """Every matching customer in list order (for exports), at most `limit`."""
    query = _ordered(_row_columns().where(*_conditions(session, principal, flt, match)), flt).limit(limit)
    for row in session.execute(query.execution_options(yield_per=2_000)):
        yield _row(*row)


def get_customer(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    """The customer with this internal id, if the principal may see it."""
    return session.scalars(
        select(Customer).where(Customer.id == customer_id, visible_customers(principal))
    ).first()


def get_customer_by_external_id(session: Session, principal: Principal, external_id: str) -> Customer | None:
    """The customer with this source-system id, if the principal may see it."""
    return session.scalars(
        select(Customer).where(Customer.external_id == external_id, visible_customers(principal))
    ).first()


def visible_external_ids(session: Session, principal: Principal, external_ids: set[str]) -> set[str]:
    """Which of these source-system ids name customers the principal may see."""
    found: set[str] = set()
    ids = sorted(external_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            session.scalars(
                select(Customer.external_id).where(
                    Customer.external_id.in_(chunk), visible_customers(principal)
                )
            )
        )
    return found


def visible_ids(session: Session, principal: Principal) -> list[int]:
    """The internal ids of every customer the principal may see."""
    return list(session.scalars(select(Customer.id).where(visible_customers(principal))))


def owner_and_team(session: Session, customer: Customer) -> tuple[User | None, Team | None]:
    """The customer's owner and team rows."""
    owner = session.get(User, customer.owner_id) if customer.owner_id else None
    team = session.get(Team, customer.team_id) if customer.team_id else None
    return owner, team


def contracts(session: Session, customer_id: int) -> Sequence[Contract]:
    """A customer's contracts, latest end first."""
    return session.scalars(
        select(Contract).where(Contract.customer_id == customer_id).order_by(Contract.end_date.desc())
    ).all()


def facets(session: Session, principal: Principal) -> dict[str, list[Any]]:
    """The values the list filters offer, drawn from the customers this principal may see."""
    scope = visible_customers(principal)
    result: dict[str, list[Any]] = {}
    for name, column in (
        ("segment", Customer.segment),
        ("industry", Customer.industry),
        ("tier", Customer.tier),
        ("status", Customer.status),
    ):
        query = select(column).where(scope, column.is_not(None)).distinct().order_by(column).limit(500)
        result[name] = list(session.scalars(query))
    owners = select(Customer.owner_id).where(scope)
    result["owners"] = list(
        session.execute(
            select(User.id, User.login, User.display_name).where(User.id.in_(owners)).order_by(User.login)
        )
    )
    teams = select(Customer.team_id).where(scope)
    result["teams"] = list(
        session.execute(select(Team.id, Team.name).where(Team.id.in_(teams)).order_by(Team.name))
    )
    return result


def customers_by_ids(session: Session, principal: Principal, ids: Sequence[int]) -> list[Customer]:
    """The visible customers among these internal ids, in the order given."""
    found = {
        c.id: c
        for c in session.scalars(select(Customer).where(Customer.id.in_(ids), visible_customers(principal)))
    }
    return [found[i] for i in ids if i in found]


def assignable_users(session: Session, principal: Principal) -> list[User]:
    """Who this principal may give customers to: anyone active (admins, directors), their reps (managers)."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.login)
    if principal.role in SEE_ALL:
        return list(session.scalars(query.where(User.role.in_([Role.REP.value, Role.MANAGER.value]))))
    if principal.role != Role.MANAGER:
        return []
    # The same team as visible_customers gives the manager: their own team and those of the people they lead.
    teams = select(User.team_id).where(
        or_(User.id == principal.user_id, User.manager_id == principal.user_id), User.team_id.is_not(None)
    )
    team_reps = or_(User.manager_id == principal.user_id, User.team_id.in_(teams))
    return list(session.scalars(query.where(User.role == Role.REP.value, team_reps)))


def logins(session: Session, ids: set[int]) -> dict[int, str]:
    """The logins of these user ids (unknown ids left out)."""
    return {u.id: u.login for u in (session.get(User, i) for i in ids) if u is not None}


def add_owner_change(
    session: Session, customer: Customer, to_owner_id: int, *, at: datetime, source: str
) -> None:
    """Record a change of owner in the customer's owner history (unhandled until its reactions ran)."""
    session.add(
        OwnerChangeRow(
            customer_id=customer.id,
            from_owner_id=customer.owner_id,
            to_owner_id=to_owner_id,
            changed_at=at,
            source=source,
        )
    )


# The descriptive columns the overview counts customers by (an allow-list: nothing else reaches GROUP BY).
COUNTED_BY = {"industry": Customer.industry, "segment": Customer.segment, "status": Customer.status}


def customers_by(
    session: Session, principal: Principal, column_name: str, limit: int = 12
) -> list[tuple[Any, int]]:
    """Visible customers counted by one descriptive column, largest groups first."""
    column = COUNTED_BY[column_name]
    count = func.count()
    query = (
        select(column, count)
        .where(visible_customers(principal))
        .group_by(column)
        .order_by(count.desc(), column)
        .limit(limit)
    )
    return [(value, int(n)) for value, n in session.execute(query)]


def store_counts(session: Session, principal: Principal) -> dict[str, int]:
    """How many customers and contracts the principal's view holds (events and invoices are the lake's)."""
    scope = visible_customers(principal)
    customers = session.scalar(select(func.count()).select_from(Customer).where(scope)) or 0
    query = select(func.count()).select_from(Contract)
    if not sees_all(principal):
        query = query.where(Contract.customer_id.in_(select(Customer.id).where(scope)))
    return {"customers": customers, "contracts": session.scalar(query) or 0}


# The customers at risk: one row per customer in the current risk table, scoped like every list here.
# Worse levels rank higher; no level ranks below every level.
LEVEL_RANK = case({name: rank + 1 for name, rank in level_ranks().items()}, value=CustomerRisk.level, else_=0)
RISK_SORT_COLUMNS: dict[RiskSort, Any] = {
    RiskSort.LEVEL: LEVEL_RANK,
    RiskSort.SCORE: CustomerRisk.health_score,
    RiskSort.PROBABILITY: CustomerRisk.churn_probability,
    RiskSort.NAME: Customer.name,
    RiskSort.CHANGE: CustomerRisk.health_change,
}


def _risk_only_conditions(flt: RiskFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.level == ANY_LEVEL:
        conditions.append(CustomerRisk.level.is_not(None))
    elif flt.level is not None and flt.level != ALL_LEVELS:
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


def _risk_ordered(query: Select[Any], flt: RiskFilter) -> Select[Any]:
    column = RISK_SORT_COLUMNS[flt.sort]
    order = (column.desc() if flt.desc else column.asc()).nulls_last()
    # Nulls last on both databases (a plain NULLS LAST lets an index on the column give the order); then
    # the lowest health score; the id as a tie-breaker so pages never overlap.
    return query.order_by(order, CustomerRisk.health_score.asc().nulls_last(), CustomerRisk.customer_id)


def _risk_matching(
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
    customer_side = _conditions(session, principal, flt)
    query = select(*columns).select_from(CustomerRisk).where(*_risk_only_conditions(flt))
    if customer_side:
        # As a set of ids: the database finds the few matching customers first (a search, a rep's own)
        # instead of probing the customer of every risk row.
        query = query.where(CustomerRisk.customer_id.in_(select(Customer.id).where(*customer_side)))
    if wide or (flt.sort == RiskSort.NAME and not count):
        query = query.join(Customer, Customer.id == CustomerRisk.customer_id)
    return query


def _risk_wide(query: Select[Any]) -> Select[Any]:
    return (
        query.outerjoin(Owner, Owner.id == Customer.owner_id)
        .outerjoin(Team, Team.id == Customer.team_id)
        .outerjoin(CustomerScore, CustomerScore.customer_id == Customer.id)
    )


def _risk_row(row: Sequence[Any], deadline: datetime | None = None) -> RiskRow:
    customer, risk, login, display, team, model_en, model_zh = row
    return RiskRow(
        **_listed(customer, login, display, team),
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
        task_deadline=deadline,
    )


def _risk_wide_columns() -> tuple[Any, ...]:
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
    total = session.scalar(_risk_matching(session, principal, flt, func.count(), count=True))
    # Two steps, as the customer list does: sort narrow (id, key) rows to find the page, then read its rows.
    page = _risk_ordered(_risk_matching(session, principal, flt, CustomerRisk.customer_id), flt)
    ids = list(session.scalars(page.offset((flt.page - 1) * flt.per_page).limit(flt.per_page)))
    wide = _risk_wide(
        select(*_risk_wide_columns())
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
        if state == TaskStatus.OPEN
    }
    rows = {r[0].id: _risk_row(r, deadlines.get(r[0].id)) for r in session.execute(wide)}
    return [rows[i] for i in ids if i in rows], int(total or 0)


def iter_risk(session: Session, principal: Principal, flt: RiskFilter, *, limit: int) -> Iterator[RiskRow]:
    """Every matching customer in list order (for exports), at most `limit`."""
    query = _risk_ordered(
        _risk_wide(_risk_matching(session, principal, flt, *_risk_wide_columns(), wide=True)), flt
    ).limit(limit)
    for row in session.execute(query.execution_options(yield_per=2_000)):
        yield _risk_row(row)


def visible_tags(session: Session, principal: Principal, limit: int = 500) -> list[str]:
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


def model_score(session: Session, customer_id: int) -> CustomerScore | None:
    """The churn model's latest score of a customer, if one was stored."""
    return session.get(CustomerScore, customer_id)
