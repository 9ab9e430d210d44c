"""What other domains, the CLI and the API call on alerts: a lifecycle step's inputs and its storing (with the
`AlertsChanged` event), the current risk table, and silences.

An evaluation loads the open alerts and what mutes or holds them (`step_inputs`), runs the pure lifecycle
step (`alert.lifecycle.step`) and stores the result with `record_step`, which raises `AlertsChanged` on the
caller's dispatcher so the reactions (tasks, notices, webhooks) commit with the change or not at all.

A silence mutes the alerts of a customer, of a rule, or of one rule for one customer, for a period; it says
who and why. Silences are listed, added and ended here for every caller, checked the same way, and each
change is written to the audit log in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from churnradar.alert import repository
from churnradar.alert.events import AlertsChanged
from churnradar.alert.exceptions import SilenceEndedError, SilenceError
from churnradar.alert.frames import AlertChanges, AlertState
from churnradar.alert.lifecycle import StepResult
from churnradar.alert.schemas import StepInputs
from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.customer import access
from churnradar.db import session_scope
from churnradar.kit.events import Dispatcher
from churnradar.kit.frames import checked
from churnradar.models import Customer, Rule
from churnradar.rule.language import control_character_error
from churnradar.rule.schemas import Template

# A customer's alerts, open first, with each one's changes (the customer 360 page).
customer_alerts = repository.customer_alerts
MAX_CUSTOMER_CHARS = 200
MAX_RULE_CHARS = 100
MAX_BY_CHARS = 200
MAX_REASON_CHARS = 2_000
EARLIEST, LATEST = datetime(1970, 1, 1), datetime(2100, 1, 1)


def step_inputs(conn: Connection, *, as_of: date, cooldown_days: int) -> StepInputs:
    """What a lifecycle step for `as_of` starts from: the open alerts, cooldowns, silences, owners."""
    # A silence applies to a date if it is in force at any moment of that day: one added during the day
    # (starting "now") mutes a rerun of today's evaluation, as whoever added it expects.
    day = datetime.combine(as_of, time.min)
    return StepInputs(
        before=repository.open_state(conn),
        recent_resolved=repository.recently_resolved(conn, as_of, cooldown_days),
        silences=repository.active_silences(conn, day, day + timedelta(days=1)),
        owners=repository.owners(conn),
    )


def record_step(
    conn: Connection,
    before: pd.DataFrame,
    result: StepResult,
    *,
    as_of: date,
    at: datetime,
    events: Dispatcher,
    templates: Mapping[str, Template],
) -> AlertsChanged:
    """Store a step's changes (`before` as `step_inputs` loaded it), then raise `AlertsChanged` on `events`
    in the same transaction; the event, with what its subscribers did. The step's open state and changes
    are checked against their declared frames (`alert.frames`) first."""
    checked(AlertState, result.state)
    checked(AlertChanges, result.events)
    repository.save_step(conn, before, result, as_of=as_of, at=at)
    changed = AlertsChanged(as_of=as_of, at=at, step=result, templates=templates)
    events.publish(conn, changed)
    return changed


def replace_risk(conn: Connection, risk: pd.DataFrame) -> None:
    """Replace every customer's current risk row, in the caller's (the evaluation's) transaction."""
    repository.replace_risk(conn, risk)


def open_alert_ids(conn: Connection, customer_ids: Collection[int]) -> dict[tuple[int, str], int]:
    """(customer, rule) -> id of its open alert, for these customers."""
    return repository.open_alert_ids(conn, customer_ids)


def hold_out(
    conn: Connection, customer_ids: Collection[int], *, as_of: date, at: datetime, cause: str
) -> int:
    """Mute every open alert of these customers `holdout` (the control group), each change recorded as an
    alert event; the number of alerts muted."""
    return repository.hold_out(conn, customer_ids, as_of=as_of, at=at, cause=cause)


@dataclass(frozen=True)
class SilenceRead:
    """A silence as listed: the customer by its source id, whether it is still in force or to come."""

    id: int
    customer: str | None
    rule: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    active: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return asdict(self)


def _check_text(field: str, value: str | None, limit: int, *, required: bool = False) -> None:
    if value is None:
        return
    if required and not value.strip():
        raise SilenceError(f"{field} must not be empty", field)
    if len(value) > limit:
        raise SilenceError(f"{field} is longer than {limit:,} characters", field)
    problem = control_character_error(value)
    if problem is not None:
        raise SilenceError(f"{field}: {problem}", field)


def check_silence(
    *,
    customer: str | None,
    rule: str | None,
    starts_at: datetime,
    ends_at: datetime,
    by: str,
    reason: str,
    now: datetime,
) -> None:
    """Refuse a silence without a matcher, with an empty or past period, or unreadable or oversized text."""
    if not customer and not rule:
        raise SilenceError("name a customer, a rule or both", "customer")
    _check_text("customer", customer, MAX_CUSTOMER_CHARS)
    _check_text("rule", rule, MAX_RULE_CHARS)
    _check_text("by", by, MAX_BY_CHARS, required=True)
    _check_text("reason", reason, MAX_REASON_CHARS, required=True)
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not EARLIEST <= value < LATEST:
            raise SilenceError(f"{field} must be between 1970 and 2100", field)
    if ends_at <= starts_at:
        raise SilenceError("the silence would end before it starts", "ends_at")
    if ends_at <= now:
        raise SilenceError("the silence would be over already", "ends_at")


def _in_view(principal: Principal | None) -> ColumnElement[bool]:
    """Silences `principal` may see and change: those of its customers; rule-wide ones only when it sees
    every customer they mute (admins, directors). The command line (None) sees all."""
    if principal is None or principal.role in access.SEE_ALL:
        return true()
    customers = select(Customer.id).where(access.visible_customers(principal))
    return repository.SILENCES.c.customer_id.in_(customers)


def _read(row: Any, now: datetime) -> SilenceRead:
    return SilenceRead(
        id=int(row.id),
        customer=row.external_id,
        rule=row.rule,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        reason=row.reason,
        active=row.ends_at > now and row.ends_at > row.starts_at,
    )


def list_silences(
    session: Session, *, now: datetime, include_ended: bool = False, principal: Principal | None = None
) -> list[SilenceRead]:
    """Silences in force or to come (every one with `include_ended`), newest first, as `principal` sees
    them: its customers' silences and rule-wide ones."""
    shown = _in_view(principal)
    if principal is not None and principal.role not in access.SEE_ALL:
        shown = shown | repository.SILENCES.c.customer_id.is_(None)  # rule-wide ones are read by all
    rows = repository.silences(session.connection(), where=shown, now=None if include_ended else now)
    return [_read(r, now) for r in rows]


def get_silence(
    session: Session, silence_id: int, *, now: datetime, principal: Principal | None = None
) -> SilenceRead | None:
    """One silence `principal` may change, or None."""
    row = repository.silence(session.connection(), silence_id, where=_in_view(principal))
    return None if row is None else _read(row, now)


def create_silence(
    session: Session,
    *,
    customer: str | None,
    rule: str | None,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    now: datetime,
    principal: Principal | None = None,
    by: str | None = None,
) -> SilenceRead:
    """Check and store a silence, audited; `by` defaults to the principal's login (the CLI passes it)."""
    who = by if by is not None else (principal.login if principal else "cli")
    check_silence(
        customer=customer, rule=rule, starts_at=starts_at, ends_at=ends_at, by=who, reason=reason, now=now
    )
    conn = session.connection()
    customer_id = None
    if customer:
        query = select(Customer.id).where(Customer.external_id == customer)
        if principal is not None:  # a customer out of scope is simply not there
            query = query.where(access.visible_customers(principal))
        customer_id = conn.execute(query).scalar_one_or_none()
        if customer_id is None:
            raise SilenceError(f"no customer with id {customer!r}", "customer")
    elif principal is not None and principal.role not in access.SEE_ALL:
        raise SilenceError(
            "only admins and directors may silence a rule for every customer; name a customer", "customer"
        )
    if rule and conn.execute(select(Rule.id).where(Rule.slug == rule).limit(1)).first() is None:
        raise SilenceError(f"no rule {rule!r} (see churnradar rule list)", "rule")
    silence_id = repository.insert_silence(
        conn,
        customer_id=customer_id,
        rule=rule or None,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=who,
        reason=reason,
    )
    details = {
        "customer": customer,
        "rule": rule,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "reason": reason,
        "by": who,
    }
    auth_service.record(session, principal, "create", "silence", silence_id, details)
    found = get_silence(session, silence_id, now=now)
    assert found is not None
    return found


def end_silence(
    session: Session, silence_id: int, *, now: datetime, principal: Principal | None = None
) -> SilenceRead | None:
    """End a silence now (None: no such silence in `principal`'s view); audited. A silence that is over
    already raises `SilenceEndedError`. It still applies to evaluations of days before now, today included:
    a silence is in force for a day if it is at any moment of it."""
    current = get_silence(session, silence_id, now=now, principal=principal)
    if current is None:
        return None
    if not current.active:
        raise SilenceEndedError(f"silence {silence_id} ended at {current.ends_at.isoformat()}", "id")
    repository.end_silence(session.connection(), silence_id, at=now)
    auth_service.record(
        session,
        principal,
        "end",
        "silence",
        silence_id,
        {"ends_at": [current.ends_at.isoformat(), now.isoformat()]},
    )
    return get_silence(session, silence_id, now=now)


def add_silence(
    engine: Engine,
    *,
    customer: str | None,
    rule: str | None,
    starts_at: datetime,
    ends_at: datetime,
    by: str,
    reason: str,
    now: datetime | None = None,
) -> int:
    """Store a silence for a customer (its source id), a rule slug or both, in its own transaction; its id."""
    with session_scope(engine) as session:
        return create_silence(
            session,
            customer=customer,
            rule=rule,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            now=starts_at if now is None else now,
            by=by,
        ).id


def _visible_alerts(principal: Principal) -> ColumnElement[bool]:
    """Alerts of the customers `principal` may see (every alert for admins and directors)."""
    if access.sees_all(principal):
        return true()
    return repository.ALERTS.c.customer_id.in_(select(Customer.id).where(access.visible_customers(principal)))


def alert_spans(
    session: Session, principal: Principal, since: date
) -> list[tuple[int, str, date, date | None]]:
    """(customer, level, opened on, resolved on) of the visible unsilenced alerts open at some time since
    `since`: what a customer's level on each past day is read from."""
    return repository.alert_spans(session.connection(), since, where=_visible_alerts(principal))


def alerts_per_day(
    session: Session, principal: Principal, since: date
) -> tuple[list[tuple[date, int]], list[tuple[date, int]]]:
    """(day, count) of visible alerts opened, and of those resolved, on each day since `since`."""
    return repository.alerts_per_day(session.connection(), since, where=_visible_alerts(principal))


def open_alerts_by_rule(
    session: Session, principal: Principal, limit: int = 10
) -> list[tuple[str, str, int]]:
    """(template, rule, open alerts) of the rules behind most open unsilenced alerts `principal` may see."""
    return repository.open_alerts_by_rule(session.connection(), limit, where=_visible_alerts(principal))
