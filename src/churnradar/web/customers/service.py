"""Customer views assembled for pages and the API, with field-level permissions applied once here."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from churnradar.auth.access import can_see
from churnradar.auth.schemas import Principal
from churnradar.lake.timeline import StoredEvent
from churnradar.models.customer import Customer
from churnradar.web.customers import repository as repo
from churnradar.web.customers.schemas import (
    ContractRead,
    CustomerRead,
    EventRead,
    IndicatorSeries,
    InvoiceRead,
)


def customer_detail(session: Session, principal: Principal, customer: Customer) -> CustomerRead:
    """A visible customer with owner, team, contracts and invoices; hidden fields come back as None."""
    owner, team = repo.owner_and_team(session, customer)
    show_value = can_see(principal, "contract.value")
    return CustomerRead(
        id=customer.id,
        customer_id=customer.external_id,
        name=customer.name,
        owner=owner.login if owner else None,
        owner_name=owner.display_name if owner else None,
        team=team.name if team else None,
        segment=customer.segment,
        industry=customer.industry,
        tier=customer.tier,
        status=customer.status,
        signup_date=customer.signup_date,
        churned_at=customer.churned_at,
        churn_reason=customer.churn_reason,
        attributes=customer.attributes if can_see(principal, "customer.attributes") else None,
        contracts=[
            ContractRead(
                contract_id=c.external_id,
                start_date=c.start_date,
                end_date=c.end_date,
                value=c.value if show_value else None,
                status=c.status,
                auto_renew=c.auto_renew,
            )
            for c in repo.contracts(session, customer.id)
        ],
        invoices=[
            InvoiceRead(
                invoice_id=i.invoice_id,
                due_date=i.due_date,
                amount=i.amount if can_see(principal, "invoice.amount") else None,
                issued_at=i.issued_at,
                paid_at=i.paid_at,
                paid_amount=i.paid_amount if can_see(principal, "invoice.paid_amount") else None,
            )
            for i in repo.invoices(session, customer.id)
        ],
    )


def event_read(event: StoredEvent) -> EventRead:
    """An event as the API and the timeline show it (the lake's `user` column back among the attributes)."""
    attributes = json.loads(event.attributes) if event.attributes else None
    if event.user is not None:
        attributes = {**(attributes or {}), "user": event.user}
    return EventRead(
        ts=event.ts,
        kind=event.kind,
        event_id=event.event_key,
        amount=event.amount,
        value=event.value,
        quantity=event.quantity,
        channel=event.channel,
        direction=event.direction,
        text=event.text,
        attributes=attributes,
    )


def indicator_series(session: Session, customer_id: int) -> list[IndicatorSeries]:
    """Each indicator's history with the customer's own baseline (the mean of its known values)."""
    result = []
    for indicator, points in repo.indicator_history(session, customer_id).items():
        known = [v for _, v in points if v is not None]
        baseline = sum(known) / len(known) if known else None
        result.append(IndicatorSeries(indicator=indicator, points=points, baseline=baseline))
    return result
