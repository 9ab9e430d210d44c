"""The alert shapes of the customer page and the API (the risk list's are `customer.schemas`')."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class AlertEventRead(BaseModel):
    """One change of an alert."""

    as_of: date
    kind: str
    from_level: str | None
    to_level: str | None
    cause: str


class AlertRead(BaseModel):
    """An alert of a customer with its history, newest change first."""

    id: int
    rule: str
    rule_name_en: str | None
    rule_name_zh: str | None
    level: str
    status: str
    muted: str | None
    opened_on: date
    last_fired_on: date
    resolved_on: date | None
    reason_en: str
    reason_zh: str
    events: list[AlertEventRead]
