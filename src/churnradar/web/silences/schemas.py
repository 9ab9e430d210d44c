"""Shapes of silences in the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from churnradar.alert.service import MAX_CUSTOMER_CHARS, MAX_REASON_CHARS, MAX_RULE_CHARS


class SilenceCreate(BaseModel):
    """A new silence: a customer (its source id), a rule slug or both; until when; why. Who is the token's
    user. Times are UTC (an offset is converted); the start defaults to now."""

    model_config = ConfigDict(extra="forbid")

    customer: str | None = Field(default=None, max_length=MAX_CUSTOMER_CHARS)
    rule: str | None = Field(default=None, max_length=MAX_RULE_CHARS)
    starts_at: datetime | None = None
    ends_at: datetime
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class SilenceRead(BaseModel):
    """A silence: what it mutes, its period (UTC), who added it and why, and whether it is over."""

    id: int
    customer: str | None
    rule: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    active: bool = Field(description="In force or to come; false once ended.")
