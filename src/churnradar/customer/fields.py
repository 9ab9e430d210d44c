"""One customer's custom fields and manual entries: what a user sees and may change, and entries recorded.

An entry becomes an event through the same import path as `POST /api/v1/events` (checked, idempotent, one
lake commit), for the customer the caller was allowed to open, with its author; indicators and rules read it
at the next evaluation. An answer whose question `sets_field` also changes that customer field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.field import service as field_service
from churnradar.field.exceptions import FieldPermissionError, FieldValueError
from churnradar.field.schemas import Entity, EntryTypeDef, FieldDef, FieldKind, FieldValue, Value
from churnradar.ingest import service as ingest_service
from churnradar.ingest.schemas import RecordKind
from churnradar.models import ImportStatus
from churnradar.models.customer import Customer


@dataclass(frozen=True)
class CustomProfile:
    """What the 360 page shows of a customer's custom fields and which entry forms the user may fill."""

    customer_id: int
    fields: list[FieldValue]
    entry_types: list[EntryTypeDef]


def custom_profile(session: Session, principal: Principal, customer: Customer) -> CustomProfile:
    """The fields of a visible customer this user sees (with values, and whether they may edit each), and
    the entry forms."""
    conn = session.connection()
    fields = field_service.visible_values(field_service.fields_on(conn), customer.attributes, principal.role)
    return CustomProfile(customer.id, fields, field_service.entry_types_on(conn))


def plain_attributes(session: Session, attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A customer's attributes without its custom fields' values (shown, per role, as fields instead)."""
    if attributes is None:
        return None
    hidden = field_service.hidden_slugs(field_service.fields_on(session.connection()))
    return {k: v for k, v in attributes.items() if k not in hidden}


def _store_values(
    session: Session, principal: Principal, customer: Customer, values: Mapping[str, Value], now: datetime
) -> None:
    customer.attributes = {**(customer.attributes or {}), **values}  # a new dict: the JSON column sees it
    details = {"fields": dict(values)}
    auth_service.record(session, principal, "customer.fields", "customer", customer.id, details, at=now)


def set_field_values(
    session: Session, principal: Principal, customer: Customer, changes: Mapping[str, Any], *, now: datetime
) -> dict[str, Value]:
    """Change custom fields of a visible customer: each must exist, be editable by the user's role and take
    the value (FieldValueError / FieldPermissionError name the field, nothing changed); audited, committed."""
    values = field_service.checked_changes(
        field_service.fields_on(session.connection()), changes, principal.role
    )
    _store_values(session, principal, customer, values, now)
    session.commit()
    return values


@dataclass(frozen=True)
class EntryRecorded:
    """An entry stored: the event's id and kind, and the customer fields it set."""

    event_id: str
    kind: str
    fields_set: dict[str, Value]


def _event(entry: EntryTypeDef, answers: Mapping[str, Any]) -> dict[str, Value]:
    unknown = sorted(set(answers) - {q.slug for q in entry.fields})
    if unknown:
        raise FieldValueError(str(unknown[0])[:64], f"the form {entry.slug!r} has no such field")
    record: dict[str, Value] = {}
    for question in entry.fields:
        value = question.parse(answers.get(question.slug))
        if value is None and question.required:
            raise FieldValueError(question.slug, "an answer is required")
        if value is not None:
            record[question.slug] = value
    return record


def record_entry(
    session: Session,
    principal: Principal,
    customer: Customer,
    entry_slug: str,
    answers: Mapping[str, Any],
    *,
    settings: Settings,
    now: datetime,
) -> EntryRecorded:
    """Record a manual entry on a visible customer: an event of the form's kind by this user, through the
    import path, then the customer fields its answers set; every problem names the field, nothing stored."""
    conn = session.connection()
    entry = field_service.get_entry_type(conn, entry_slug)
    answered = _event(entry, answers)
    targets = {q.sets_field: answered[q.slug] for q in entry.fields if q.sets_field and q.slug in answered}
    fields = field_service.fields_on(conn)
    try:
        to_set = field_service.checked_changes(fields, targets, principal.role)
    except FieldPermissionError as exc:
        raise FieldPermissionError(f"{exc}; the form {entry.slug!r} sets it") from exc
    event_id = f"entry:{uuid.uuid4().hex}"
    record: dict[str, Any] = {
        "customer_id": customer.external_id,  # the customer the caller may see: exactly what is stored
        "ts": now.isoformat() + "+00:00",
        "kind": entry.slug,
        "event_id": event_id,
        "author": principal.login,
        **({"channel": entry.channel} if entry.channel else {}),
        **answered,
    }
    session.rollback()  # the import writes through its own connections: hold no read transaction open
    summary = ingest_service.import_records(
        session.get_bind(),  # type: ignore[arg-type]
        [record],
        kind=RecordKind.EVENTS,
        settings=settings,
        source=f"entry:{principal.login}",
    )
    if summary.status != ImportStatus.SUCCEEDED.value:
        first = summary.errors[0] if summary.errors else None
        raise FieldValueError(
            first.column or entry.slug if first else entry.slug, first.message if first else ""
        )
    details = {"kind": entry.slug, "event_id": event_id}
    auth_service.record(session, principal, "customer.entry", "customer", customer.id, details, at=now)
    if to_set:
        _store_values(session, principal, customer, to_set, now)
    session.commit()
    return EntryRecorded(event_id, entry.slug, to_set)


def filterable(session: Session, principal: Principal) -> list[FieldDef]:
    """The fields this user may filter the customer list by: the text, choice and date fields their role
    sees (numbers are compared as the rules do, not in a list filter)."""
    fields = field_service.fields_on(session.connection(), Entity.CUSTOMER)
    return [f for f in fields if f.visible(principal.role) and f.type is not FieldKind.NUMBER]


def field_match(session: Session, principal: Principal, slug: str, value: str) -> tuple[str, str]:
    """(slug, stored text) to filter the customer list by one custom field the user sees; FieldValueError
    for a field they do not see or cannot filter by, or a value it cannot hold."""
    for found in filterable(session, principal):
        if found.slug == slug:
            return slug, str(found.parse(value))
    raise FieldValueError(slug[:64], "no such field to filter by")
