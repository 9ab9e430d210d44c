"""The customer domain's service: finding the customers a principal may see, the 360 view's parts (with
field-level permissions applied once here), owner changes, tags and notes.

Every function that takes a principal answers only within that principal's scope: a customer out of scope
is a `CustomerNotFoundError`, the same as one that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.customer import fields as custom_fields
from churnradar.customer import repository as repo
from churnradar.customer.access import can_see, sees_all
from churnradar.customer.events import OwnersChanged
from churnradar.customer.exceptions import N_, CustomerNotFoundError, OwnerChangeError
from churnradar.customer.schemas import (
    MAX_NOTE_CHARS,
    MAX_TAG_CHARS,
    ContractRead,
    CustomerFilter,
    CustomerRead,
    CustomerRow,
    EventRead,
    IndicatorSeries,
    InvoiceRead,
    ModelScoreRead,
    OwnerChanged,
    RiskFilter,
    RiskRow,
)
from churnradar.indicator import service as indicator_service
from churnradar.intervention import service as intervention
from churnradar.intervention.exceptions import TaskError
from churnradar.kit.events import Dispatcher
from churnradar.lake.invoices import count_invoices, customer_invoices
from churnradar.lake.service import lake_for
from churnradar.lake.timeline import StoredEvent, Timeline, count_events, customer_timeline
from churnradar.models import CustomerRisk, CustomerScore, Role, User
from churnradar.models.customer import Customer

T = TypeVar("T")


def visible(session: Session, principal: Principal, customer_id: int) -> Customer:
    """The customer with this internal id, if the principal may see it."""
    customer = repo.get_customer(session, principal, customer_id)
    if customer is None:
        raise CustomerNotFoundError(customer_id)
    return customer


def visible_by_external_id(session: Session, principal: Principal, external_id: str) -> Customer:
    """The customer with this source-system id, if the principal may see it."""
    customer = repo.get_customer_by_external_id(session, principal, external_id)
    if customer is None:
        raise CustomerNotFoundError(external_id)
    return customer


def visible_external_ids(session: Session, principal: Principal, external_ids: set[str]) -> set[str]:
    """Which of these source-system ids name customers the principal may see."""
    return repo.visible_external_ids(session, principal, external_ids)


def visible_ids(session: Session, principal: Principal) -> list[int] | None:
    """The internal ids of the customers the principal may see; None when it sees every customer."""
    return None if sees_all(principal) else repo.visible_ids(session, principal)


def customers_by(
    session: Session, principal: Principal, column_name: str, limit: int = 12
) -> list[tuple[Any, int]]:
    """Visible customers counted by one descriptive column (industry, segment, status), largest first."""
    return repo.customers_by(session, principal, column_name, limit)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def data_counts(session: Session, principal: Principal) -> dict[str, int]:
    """How many customers, events, contracts and invoices the principal's view holds.

    Events and invoices are the lake's: the customers in scope come from the store, the count from DuckDB.
    """
    store = repo.store_counts(session, principal)
    lake = lake_for(_engine(session))
    in_scope = visible_ids(session, principal)
    return {
        "customers": store["customers"],
        "events": count_events(lake, in_scope),
        "contracts": store["contracts"],
        "invoices": count_invoices(lake, in_scope),
    }


def list_customers(
    session: Session, principal: Principal, flt: CustomerFilter
) -> tuple[list[CustomerRow], int]:
    """One page of the customers this principal may see, and how many match in all."""
    return repo.list_customers(session, principal, flt, _field_match(session, principal, flt))


def iter_customers(
    session: Session, principal: Principal, flt: CustomerFilter, *, limit: int
) -> Iterator[CustomerRow]:
    """Every matching visible customer in list order (for exports), at most `limit`."""
    match = _field_match(session, principal, flt)
    return repo.iter_customers(session, principal, flt, limit=limit, match=match)


def _field_match(session: Session, principal: Principal, flt: CustomerFilter) -> tuple[str, str] | None:
    if not flt.field or flt.field_value is None or not flt.field_value.strip():
        return None
    return custom_fields.field_match(session, principal, flt.field, flt.field_value)


def facets(session: Session, principal: Principal) -> dict[str, list[Any]]:
    """The values the list filters offer, drawn from the customers this principal may see."""
    return repo.facets(session, principal)


def list_risk(session: Session, principal: Principal, flt: RiskFilter) -> tuple[list[RiskRow], int]:
    """One page of the customers at risk this principal may see, and how many match in all."""
    return repo.list_risk(session, principal, flt)


def iter_risk(session: Session, principal: Principal, flt: RiskFilter, *, limit: int) -> Iterator[RiskRow]:
    """Every matching customer at risk in list order (for exports), at most `limit`."""
    return repo.iter_risk(session, principal, flt, limit=limit)


def visible_tags(session: Session, principal: Principal) -> list[str]:
    """The tags on customers this principal may see (for the tag filter)."""
    return repo.visible_tags(session, principal)


def risk_of(session: Session, customer: Customer) -> tuple[CustomerRisk | None, CustomerScore | None]:
    """A visible customer's current risk row and model score."""
    return repo.risk_of(session, customer.id)


def level_counts(session: Session, principal: Principal) -> tuple[dict[str | None, int], int]:
    """Visible customers per current level (None: no level), and how many visible customers there are."""
    return repo.level_counts(session, principal)


def timeline(
    session: Session, customer: Customer, *, page: int, per_page: int, kind: str | None = None
) -> Timeline:
    """One page of a visible customer's events (newest first), their total, and the customer's kinds."""
    offset = (page - 1) * per_page
    return customer_timeline(
        lake_for(_engine(session)), customer.id, offset=offset, limit=per_page, kind=kind
    )


def events(
    session: Session, customer: Customer, *, page: int, per_page: int, kind: str | None = None
) -> tuple[list[EventRead], int]:
    """One page of a visible customer's events as the API shows them, newest first, and their total."""
    found = timeline(session, customer, page=page, per_page=per_page, kind=kind)
    return [event_read(e) for e in found.events], found.total


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
        attributes=custom_fields.plain_attributes(session, customer.attributes)
        if can_see(principal, "customer.attributes")
        else None,
        fields={
            v.field.slug: v.value for v in custom_fields.custom_profile(session, principal, customer).fields
        },
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
            for i in customer_invoices(lake_for(_engine(session)), customer.id, limit=50)
        ],
        model=model_score_read(session, customer.id),
    )


def model_score_read(session: Session, customer_id: int) -> ModelScoreRead | None:
    """The churn model's latest score of a customer with its reasons, or None before one was stored."""
    score = repo.model_score(session, customer_id)
    if score is None:
        return None
    return ModelScoreRead.model_validate(score, from_attributes=True)


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


def indicator_series(session: Session, customer: Customer) -> list[IndicatorSeries]:
    """Each indicator's history with the customer's own baseline (the mean of its known values)."""
    history: dict[str, list[tuple[Any, float | None]]] = {}
    rows = indicator_service.customer_history(session.connection(), customer.id, snapshots=104)
    for indicator, as_of, value in rows:
        history.setdefault(indicator, []).append((as_of, value))
    result = []
    for indicator, points in history.items():
        known = [v for _, v in points if v is not None]
        baseline = sum(known) / len(known) if known else None
        result.append(IndicatorSeries(indicator=indicator, points=points, baseline=baseline))
    return result


@dataclass(frozen=True)
class Customer360:
    """What the customer 360 page shows of the customer itself (other domains add their sections)."""

    customer: CustomerRead
    series: list[IndicatorSeries]
    timeline: Timeline


def customer_360(session: Session, principal: Principal, customer: Customer, *, events: int) -> Customer360:
    """A visible customer's profile, indicator history and the first `events` of its timeline."""
    return Customer360(
        customer=customer_detail(session, principal, customer),
        series=indicator_series(session, customer),
        timeline=timeline(session, customer, page=1, per_page=events),
    )


def assignable_users(session: Session, principal: Principal) -> list[User]:
    """Who this principal may give customers to: anyone active (admins, directors), their reps (managers)."""
    return repo.assignable_users(session, principal)


def visible_by_ids(session: Session, principal: Principal, ids: Sequence[int]) -> list[Customer]:
    """The customers with these internal ids, in the order given; any one not visible refuses them all."""
    customers = repo.customers_by_ids(session, principal, ids)
    if len(customers) != len(ids):
        raise OwnerChangeError(N_("No such customer, or not yours to see."), 404)
    return customers


def _check_assignment(
    session: Session, principal: Principal, customers: Sequence[Customer], login: str
) -> User:
    if principal.role == Role.REP:
        raise OwnerChangeError(N_("Reps cannot change a customer's owner; ask your manager."), 403)
    if not customers:
        raise OwnerChangeError(N_("Choose at least one customer."), 400)
    target = auth_service.get_user_by_login(session, login)
    if target is None or not target.is_active:
        raise OwnerChangeError(N_("Unknown or inactive user: %(login)s."), 400, login=login)
    if target.id not in {u.id for u in repo.assignable_users(session, principal)}:
        if principal.role == Role.MANAGER:
            raise OwnerChangeError(
                N_("You may assign customers only to your team's reps, not to %(login)s."), 403, login=login
            )
        raise OwnerChangeError(
            N_("You may assign customers only to reps and managers, not to %(login)s."), 403, login=login
        )
    return target


def change_owner(
    session: Session,
    principal: Principal,
    customers: Sequence[Customer],
    login: str,
    *,
    events: Dispatcher,
    via: str,
    now: datetime,
) -> list[OwnerChanged]:
    """Give `customers` (already checked visible) to `login`, then raise `OwnersChanged`.

    Each change is recorded in `owner_changes` and the audit log; the event's subscribers (the intervention
    handover: tasks moved, kept or sent to a manager per settings) run in the same transaction and their
    outcomes are reported in every result's `tasks`. Nothing changes unless every check passes; the caller
    commits.
    """
    target = _check_assignment(session, principal, customers, login)
    previous = repo.logins(session, {c.owner_id for c in customers if c.owner_id is not None})
    results: list[OwnerChanged] = []
    moved: list[int] = []
    for customer in customers:
        from_owner = previous.get(customer.owner_id) if customer.owner_id else None
        changed = customer.owner_id != target.id
        if changed:
            _move(session, principal, customer, target, via=via, now=now, from_owner=from_owner)
            moved.append(customer.id)
        results.append(
            OwnerChanged(
                customer_id=customer.external_id,
                from_owner=from_owner,
                to_owner=target.login,
                changed=changed,
                tasks={},
            )
        )
    session.flush()
    event = OwnersChanged(at=now, customer_ids=tuple(moved))
    events.publish(session.connection(), event)
    for result in results:
        result.tasks = dict(event.outcomes)
    return results


def _move(
    session: Session,
    principal: Principal,
    customer: Customer,
    target: User,
    *,
    via: str,
    now: datetime,
    from_owner: str | None,
) -> None:
    repo.add_owner_change(session, customer, target.id, at=now, source=f"{via} by {principal.login}")
    details: dict[str, Any] = {"from": from_owner, "to": target.login, "via": via}
    customer.owner_id = target.id
    if target.team_id is not None and customer.team_id != target.team_id:
        # The customer joins the new owner's team, so that team's manager sees it from now on.
        details["team"] = target.team_id
        customer.team_id = target.team_id
    auth_service.record(session, principal, "change_owner", "customer", customer.external_id, details)


def tags(session: Session, customer: Customer) -> list[str]:
    """The tags on a visible customer (rules' tags and hand-made ones), sorted."""
    return intervention.customer_tags(session, customer.id)


def notes(session: Session, customer: Customer) -> list[tuple[int, datetime, str | None, str]]:
    """(task id, when, author, text) of the notes left on a visible customer, newest first."""
    return [
        (e.task_id, e.at, e.actor, str((e.detail or {}).get("text", "")))
        for e in intervention.customer_notes(session, customer.id)
    ]


def _bounded(text: str, what: str, limit: int) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise TaskError(f"the {what} is empty")
    if len(cleaned) > limit:
        raise TaskError(f"the {what} has {len(cleaned)} characters; at most {limit} are allowed")
    return cleaned


def _audit(
    session: Session, principal: Principal, action: str, customer: Customer, now: datetime, **details: Any
) -> None:
    auth_service.record(session, principal, action, "customer", customer.id, details or None, at=now)


def tag(session: Session, principal: Principal, customer: Customer, text: str, *, now: datetime) -> None:
    """Tag a visible customer by hand; audited and committed, or refused (TaskError) with nothing changed."""

    def work() -> None:
        label = _bounded(text, "tag", MAX_TAG_CHARS)
        intervention.tag(session.connection(), customer.id, [label], by=principal.login, now=now)
        _audit(session, principal, "customer.tag", customer, now, tag=label)

    intervention.commit_or_rollback(session, work)


def untag(session: Session, principal: Principal, customer: Customer, text: str, *, now: datetime) -> None:
    """Remove a tag from a visible customer; audited and committed (a tag it lacks changes nothing)."""

    def work() -> None:
        intervention.untag(session.connection(), customer.id, [text])
        _audit(session, principal, "customer.untag", customer, now, tag=text)

    intervention.commit_or_rollback(session, work)


def add_note(session: Session, principal: Principal, customer: Customer, text: str, *, now: datetime) -> None:
    """A note on a visible customer, kept in the history of its open (else latest) task; committed."""

    def work() -> None:
        body = _bounded(text, "note", MAX_NOTE_CHARS)
        task_id = intervention.note_task(session, customer.id)
        if task_id is None:
            raise TaskError("this customer has no task yet; notes are kept with a task")
        intervention.note(session.connection(), task_id, body, by=principal.login, now=now)
        _audit(session, principal, "customer.note", customer, now, task_id=task_id)

    intervention.commit_or_rollback(session, work)
