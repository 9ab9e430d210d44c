"""High-risk list filters and rows, and the alert shapes of the pages and the API."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator, model_validator

from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.kit.listing import ListFilter

LEVELS = DEFAULT_LEVELS  # the levels, lowest first (kit.levels.Level), under the name the risk pages use
ANY_LEVEL = "any"  # a level filter value: every customer with some level (not those with a score only)


class RiskSort(StrEnum):
    """Columns the risk list can be sorted by (an allow-list: nothing else reaches ORDER BY)."""

    LEVEL = "level"
    SCORE = "score"
    PROBABILITY = "probability"
    NAME = "name"
    CHANGE = "change"


class RiskFilter(ListFilter):
    """What the high-risk list shows: filters (all optional), search, sort and page."""

    level: str | None = Field(default=None, description=f"One of {', '.join(LEVELS)}, or {ANY_LEVEL!r}.")
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
        if value is not None and value not in (*LEVELS, ANY_LEVEL):
            raise ValueError(f"unknown level {value!r}; use one of {', '.join((*LEVELS, ANY_LEVEL))}")
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
    level: str | None = Field(description="The worst open alert's level; null with a score only.")
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
