"""Customer and risk list filters; the customer, contract, invoice, event and risk-row shapes; owner changes,
tags and notes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from churnradar.kit.levels import DEFAULT_LEVELS, Level
from churnradar.kit.listing import ListFilter

MAX_TAG_CHARS = 100
MAX_NOTE_CHARS = 10_000


class SortKey(StrEnum):
    """Columns the customer list can be sorted by (an allow-list: nothing else reaches ORDER BY)."""

    NAME = "name"
    CUSTOMER_ID = "customer_id"
    OWNER = "owner"
    TEAM = "team"
    SEGMENT = "segment"
    INDUSTRY = "industry"
    TIER = "tier"
    STATUS = "status"
    SIGNUP_DATE = "signup_date"


class CustomerFilter(ListFilter):
    """What the customer list shows: filters (all optional), search, sort and page."""

    owner: int | None = Field(default=None, description="Owner's user id.")
    team: int | None = Field(default=None, description="Team id.")
    segment: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    tier: str | None = Field(default=None, max_length=100)
    status: str | None = Field(default=None, max_length=20)
    q: str | None = Field(default=None, max_length=200, description="Part of the name or customer id.")
    field: str | None = Field(
        default=None, max_length=64, description="A custom text, choice or date field to filter by."
    )
    field_value: str | None = Field(default=None, max_length=1000, description="The value `field` must hold.")
    sort: SortKey = SortKey.NAME
    desc: bool = False
    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: int = Field(default=50, ge=1, le=500)


class CustomerRow(BaseModel):
    """A customer as listed."""

    id: int
    customer_id: str
    name: str | None
    owner: str | None = Field(description="Owner's login.")
    owner_name: str | None = None
    team: str | None
    segment: str | None
    industry: str | None
    tier: str | None
    status: str
    signup_date: date | None


class ContractRead(BaseModel):
    """A contract; `value` is null where the reader's role may not see it."""

    contract_id: str
    start_date: date
    end_date: date
    value: float | None
    status: str | None
    auto_renew: bool | None


class InvoiceRead(BaseModel):
    """An invoice and its payment."""

    invoice_id: str
    due_date: date
    amount: float | None
    issued_at: datetime | None
    paid_at: datetime | None
    paid_amount: float | None


class ModelScoreRead(BaseModel):
    """The active churn model's score of a customer at the last evaluation."""

    as_of: date
    model_version: int
    churn_probability: float = Field(description="Probability of churning within the model's horizon.")
    reasons_en: str | None = Field(description="What raises it most, in English.")
    reasons_zh: str | None = Field(description="The same in Chinese.")


class CustomerRead(CustomerRow):
    """A customer with its account side."""

    churned_at: date | None
    churn_reason: str | None
    attributes: dict[str, Any] | None = Field(
        description="Extra columns; null where the role may not see them."
    )
    fields: dict[str, Any] = Field(
        default_factory=dict, description="The custom fields this role may see, by slug (null: no value)."
    )
    contracts: list[ContractRead]
    invoices: list[InvoiceRead]
    model: ModelScoreRead | None = Field(
        default=None, description="The churn model's probability and its reasons; null before a model scored."
    )


class EventRead(BaseModel):
    """One event of a customer (timestamps in UTC)."""

    ts: datetime
    kind: str
    event_id: str = Field(description="The source's id, or a content hash when it gave none.")
    amount: float | None
    value: float | None
    quantity: float | None
    channel: str | None
    direction: str | None
    text: str | None
    attributes: dict[str, Any] | None


class IndicatorSeries(BaseModel):
    """One indicator's history for one customer, and the customer's own baseline (mean of its history)."""

    indicator: str
    points: list[tuple[date, float | None]]
    baseline: float | None


class OwnerChange(BaseModel):
    """Give one customer to another owner (an active user the caller may assign to)."""

    owner: str = Field(min_length=1, max_length=200, description="The new owner's login.")


class OwnerChanged(BaseModel):
    """What an owner change did."""

    customer_id: str
    from_owner: str | None
    to_owner: str
    changed: bool = Field(description="False when the customer already had this owner.")
    tasks: dict[str, int] = Field(description="Open tasks settled by outcome (moved, kept, ...).")


class TagIn(BaseModel):
    """A tag to put on the customer."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=MAX_TAG_CHARS)


class NoteIn(BaseModel):
    """A note about the customer (kept in the history of its open, else latest, task)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class Tags(BaseModel):
    """The customer's tags after the change."""

    tags: list[str]


# The customers at risk: the risk list of the pages and the API, over the current risk table.
ANY_LEVEL = "any"  # a level filter value: every customer with some level (not those with a score only)
ALL_LEVELS = "all"  # a level filter value: every customer with a risk row, level or not (as no level filter)


class RiskSort(StrEnum):
    """Columns the risk list can be sorted by (an allow-list: nothing else reaches ORDER BY)."""

    LEVEL = "level"
    SCORE = "score"
    PROBABILITY = "probability"
    NAME = "name"
    CHANGE = "change"


class RiskFilter(ListFilter):
    """What the high-risk list shows: filters (all optional), search, sort and page."""

    level: str | None = Field(
        default=None,
        description=f"One of {', '.join(DEFAULT_LEVELS)}, {ANY_LEVEL!r}, or {ALL_LEVELS!r} (every customer).",
    )
    owner: int | None = Field(default=None, description="Owner's user id.")
    team: int | None = Field(default=None, description="Team id.")
    segment: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    tag: str | None = Field(default=None, max_length=100)
    score_min: float | None = Field(default=None, ge=0, le=100, description="Lowest health score.")
    score_max: float | None = Field(default=None, ge=0, le=100, description="Highest health score.")
    probability_min: float | None = Field(default=None, ge=0, le=1, description="Lowest churn probability.")
    probability_max: float | None = Field(default=None, ge=0, le=1, description="Highest churn probability.")
    q: str | None = Field(default=None, max_length=200, description="Part of the name or customer id.")
    sort: RiskSort = Field(
        default=RiskSort.LEVEL,
        description="level (worst first), score, probability, name, change (health score change at the "
        "last evaluation)",
    )
    desc: bool = Field(default=True, description="Descending (worst level, highest value first).")
    page: int = Field(default=1, ge=1, le=1_000_000)
    per_page: int = Field(default=50, ge=1, le=500)

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str | None) -> str | None:
        known = (*DEFAULT_LEVELS, ANY_LEVEL, ALL_LEVELS)
        if value is not None and value not in known:
            raise ValueError(f"unknown level {value!r}; use one of {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _ranges_in_order(self) -> RiskFilter:
        for low, high, name in (
            (self.score_min, self.score_max, "score"),
            (self.probability_min, self.probability_max, "probability"),
        ):
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name}_min ({low}) is above {name}_max ({high})")
        return self


class RiskRow(BaseModel):
    """A customer as the risk list shows it: level, scores, top reasons, owner, open task."""

    id: int
    customer_id: str
    name: str | None
    level: Level | None = Field(description="The worst open alert's level; null with a score only.")
    health_score: float | None
    health_change: float | None = Field(description="Change of the health score at the last evaluation.")
    churn_probability: float | None
    open_alerts: int
    reasons_en: str | None = Field(description="Top reasons of the open alerts, in English.")
    reasons_zh: str | None = Field(description="The same in Chinese.")
    model_reasons_en: str | None = Field(
        default=None, description="What raises the churn probability most, in English (null without a model)."
    )
    model_reasons_zh: str | None = Field(default=None, description="The same in Chinese.")
    as_of: date
    owner_id: int | None
    owner: str | None = Field(description="Owner's login.")
    owner_name: str | None = None
    team: str | None
    segment: str | None
    industry: str | None
    task_deadline: datetime | None = Field(default=None, description="Deadline of the open task, if any.")
