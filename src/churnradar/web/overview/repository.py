"""Overview figures over the customers a principal may see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth.access import SEE_ALL, visible_customers
from churnradar.auth.schemas import Principal
from churnradar.lake.invoices import count_invoices
from churnradar.lake.service import lake_for
from churnradar.lake.timeline import count_events
from churnradar.models.customer import Customer
from churnradar.models.import_run import ImportRun
from churnradar.models.ledger import Contract


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
    """How many customers, events, contracts and invoices the principal's view holds.

    Events and invoices are the lake's: the customers in scope come from the store, the count from DuckDB.
    """
    scope = visible_customers(principal)
    counts = {"customers": session.scalar(select(func.count()).select_from(Customer).where(scope)) or 0}
    visible = select(Customer.id).where(scope)
    everyone = principal.role in SEE_ALL
    bind = session.get_bind()
    lake = lake_for(bind if isinstance(bind, Engine) else bind.engine)
    scoped = None if everyone else list(session.scalars(visible))
    counts["events"] = count_events(lake, scoped)
    query = select(func.count()).select_from(Contract)
    if not everyone:
        query = query.where(Contract.customer_id.in_(visible))
    counts["contracts"] = session.scalar(query) or 0
    counts["invoices"] = count_invoices(lake, scoped)
    return counts


def recent_imports(session: Session, limit: int = 8) -> Sequence[ImportRun]:
    """The latest imports, files and API batches alike."""
    return session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)).all()
