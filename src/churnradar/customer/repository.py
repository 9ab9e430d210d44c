"""Customer queries. Those that find customers filter by `visible_customers`: one out of scope does not exist.

The rest take a customer the caller has already found visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from churnradar.auth.access import SEE_ALL, visible_customers
from churnradar.auth.schemas import Principal
from churnradar.customer.schemas import CustomerFilter, CustomerRow, SortKey
from churnradar.indicator import repository as indicator_repo
from churnradar.lake import timeline as timeline_reader
from churnradar.lake.invoices import StoredInvoice, customer_invoices
from churnradar.lake.service import lake_for
from churnradar.models import CustomerScore, CustomerTag, InterventionTask, TaskEvent
from churnradar.models import OwnerChange as OwnerChangeRow
from churnradar.models.customer import Customer
from churnradar.models.ledger import Contract
from churnradar.models.people import Role, Team, User

Owner = aliased(User, name="owner")
NOTE = "note"  # the task event kind of a note left on a customer
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


def _conditions(session: Session, principal: Principal, flt: CustomerFilter) -> list[ColumnElement[bool]]:
    conditions = [visible_customers(principal)]
    if flt.owner is not None:
        conditions.append(Customer.owner_id == flt.owner)
    if flt.team is not None:
        conditions.append(Customer.team_id == flt.team)
    for column, value in (
        (Customer.segment, flt.segment),
        (Customer.industry, flt.industry),
        (Customer.tier, flt.tier),
        (Customer.status, flt.status),
    ):
        if value is not None:
            conditions.append(column == value)
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


def _page_ids(session: Session, principal: Principal, flt: CustomerFilter) -> list[int]:
    query = select(Customer.id).where(*_conditions(session, principal, flt))
    if flt.sort == SortKey.OWNER:
        query = query.outerjoin(Owner, Owner.id == Customer.owner_id)
    elif flt.sort == SortKey.TEAM:
        query = query.outerjoin(Team, Team.id == Customer.team_id)
    query = _ordered(query, flt).offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
    return list(session.scalars(query))


def _row(customer: Customer, login: str | None, display: str | None, team: str | None) -> CustomerRow:
    return CustomerRow(
        id=customer.id,
        customer_id=customer.external_id,
        name=customer.name,
        owner=login,
        owner_name=display,
        team=team,
        segment=customer.segment,
        industry=customer.industry,
        tier=customer.tier,
        status=customer.status,
        signup_date=customer.signup_date,
    )


def list_customers(
    session: Session, principal: Principal, flt: CustomerFilter
) -> tuple[list[CustomerRow], int]:
    """One page of the customers this principal may see, and how many match in all."""
    conditions = _conditions(session, principal, flt)
    total = session.scalar(select(func.count()).select_from(Customer).where(*conditions))
    # Two steps: sort narrow (id, key) rows to find the page, then read the page's wide rows. Sorting whole
    # rows made an unfiltered list of 100k customers 8x slower on SQLite.
    ids = _page_ids(session, principal, flt)
    rows = {row[0].id: _row(*row) for row in session.execute(_row_columns().where(Customer.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows], int(total or 0)


def iter_customers(
    session: Session, principal: Principal, flt: CustomerFilter, *, limit: int
) -> Iterator[CustomerRow]:
    """Every matching customer in list order (for exports), at most `limit`."""
    query = _ordered(_row_columns().where(*_conditions(session, principal, flt)), flt).limit(limit)
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


def invoices(session: Session, customer_id: int, limit: int = 50) -> list[StoredInvoice]:
    """A customer's latest invoices (the lake's)."""
    return customer_invoices(lake_for(_engine(session)), customer_id, limit=limit)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def timeline(
    session: Session, customer_id: int, *, page: int, per_page: int, kind: str | None = None
) -> timeline_reader.Timeline:
    """One page of a customer's events from the lake (newest first), their total, and the customer's kinds."""
    return timeline_reader.customer_timeline(
        lake_for(_engine(session)), customer_id, offset=(page - 1) * per_page, limit=per_page, kind=kind
    )


def events(
    session: Session, customer_id: int, *, page: int, per_page: int, kind: str | None = None
) -> tuple[list[timeline_reader.StoredEvent], int]:
    """One page of a customer's events, newest first, and their total count."""
    found = timeline(session, customer_id, page=page, per_page=per_page, kind=kind)
    return found.events, found.total


def indicator_history(
    session: Session, customer_id: int, *, snapshots: int = 104
) -> dict[str, list[tuple[Any, float | None]]]:
    """Each indicator's values over the latest `snapshots` as-of dates, oldest first."""
    series: dict[str, list[tuple[Any, float | None]]] = {}
    rows = indicator_repo.customer_history(session.connection(), customer_id, snapshots=snapshots)
    for indicator, as_of, value in rows:
        series.setdefault(indicator, []).append((as_of, value))
    return series


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


def scoped(query: AnySelect, column: Any, principal: Principal) -> AnySelect:
    """Limit a query on a customer-keyed table to the principal's customers (no join for see-all roles)."""
    if principal.role in SEE_ALL:
        return query
    return query.where(column.in_(select(Customer.id).where(visible_customers(principal))))


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


def tags(session: Session, customer_id: int) -> list[str]:
    """A customer's tags, sorted."""
    query = select(CustomerTag.tag).where(CustomerTag.customer_id == customer_id).order_by(CustomerTag.tag)
    return [str(t) for t in session.scalars(query)]


def notes(session: Session, customer_id: int) -> list[TaskEvent]:
    """Notes left on a customer's tasks, newest first."""
    query = (
        select(TaskEvent)
        .join(InterventionTask, InterventionTask.id == TaskEvent.task_id)
        .where(InterventionTask.customer_id == customer_id, TaskEvent.kind == NOTE)
        .order_by(TaskEvent.id.desc())
    )
    return list(session.scalars(query))


def note_task(session: Session, customer_id: int) -> int | None:
    """The task a new note on the customer goes to: the open one, else the latest."""
    query = (
        select(InterventionTask.id)
        .where(InterventionTask.customer_id == customer_id)
        .order_by(
            InterventionTask.status.desc(), InterventionTask.opened_at.desc(), InterventionTask.id.desc()
        )
        .limit(1)
    )
    found = session.scalar(query)
    return int(found) if found is not None else None


def model_score(session: Session, customer_id: int) -> CustomerScore | None:
    """The churn model's latest score of a customer, if one was stored."""
    return session.get(CustomerScore, customer_id)
