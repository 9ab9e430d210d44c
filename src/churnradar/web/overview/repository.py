"""Overview figures over the customers a principal may see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from churnradar.auth.access import SEE_ALL, visible_customers
from churnradar.auth.schemas import Principal
from churnradar.models.customer import Customer
from churnradar.models.event import Event
from churnradar.models.import_run import ImportRun
from churnradar.models.ledger import Contract, Invoice


def customers_by(
    session: Session, principal: Principal, column_name: str, limit: int = 12
) -> list[tuple[Any, int]]:
    """Visible customers counted by one descriptive column, largest groups first."""
    column = {"industry": Customer.industry, "segment": Customer.segment, "status": Customer.status}[
        column_name
    ]
    count = func.count()
    query = (
        select(column, count)
        .where(visible_customers(principal))
        .group_by(column)
        .order_by(count.desc(), column)
        .limit(limit)
    )
    return [(value, int(n)) for value, n in session.execute(query)]


def data_counts(session: Session, principal: Principal) -> dict[str, int]:
    """How many customers, events, contracts and invoices the principal's view holds."""
    scope = visible_customers(principal)
    counts = {"customers": session.scalar(select(func.count()).select_from(Customer).where(scope)) or 0}
    for name, model in (("events", Event), ("contracts", Contract), ("invoices", Invoice)):
        query = select(func.count()).select_from(model)
        if principal.role not in SEE_ALL:
            visible = select(Customer.id).where(scope)
            query = query.where(model.customer_id.in_(visible))
        counts[name] = session.scalar(query) or 0
    return counts


def recent_imports(session: Session, limit: int = 8) -> Sequence[ImportRun]:
    """The latest imports, files and API batches alike."""
    return session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)).all()
