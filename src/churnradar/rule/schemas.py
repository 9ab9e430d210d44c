"""Typed rule and industry-template definitions, as written in YAML and stored in the database."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.rule.language import control_character_error

SLUG = r"^[a-z][a-z0-9_]*$"


def unknown_level(level: str, levels: tuple[str, ...] = DEFAULT_LEVELS) -> str | None:
    """The message for a level that is not one of `levels`, or None when it is one."""
    if level in levels:
        return None
    return f"unknown level {level[:40]!r}; levels are {', '.join(levels)}"


def _plain_text(value: str) -> str:
    problem = control_character_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Rule text as people type it: no control characters (tab and line breaks aside) anywhere.
Text = Annotated[str, AfterValidator(_plain_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scope(_Strict):
    """Which customers a rule applies to; an empty list means all. Matching ignores case."""

    segments: list[Text] = []
    industries: list[Text] = []
    tiers: list[Text] = []

    @field_validator("segments", "industries", "tiers")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]


class RuleDef(_Strict):
    """A warning rule: when `condition` holds, the customer gets an alert of `level` (or an escalated one)."""

    slug: Annotated[str, Field(pattern=SLUG, max_length=100)]
    name_en: Text
    name_zh: Text
    condition: Annotated[Text, Field(min_length=1, max_length=2_000)]
    level: Text
    # Higher levels for the same alert: the highest level whose condition holds wins (an escalation).
    escalate: dict[Text, Annotated[Text, Field(min_length=1, max_length=2_000)]] = {}
    scope: Scope = Scope()
    reason_en: Text
    reason_zh: Text
    enabled: bool = True
    # Customer tags the alert sets or clears when it opens or escalates (e.g. 流失风险, 重点跟进).
    tags_add: list[Annotated[Text, Field(min_length=1, max_length=100)]] = []
    tags_remove: list[Annotated[Text, Field(min_length=1, max_length=100)]] = []


class RoleOnDuty(StrEnum):
    """Who must act on an alert of a level."""

    OWNER = "owner"
    OWNER_AND_MANAGER = "owner_and_manager"
    DIRECTOR = "director"


class Playbook(_Strict):
    """What to do for one level: checklist, who, and by when."""

    level: str
    role: RoleOnDuty = RoleOnDuty.OWNER
    deadline_hours: Annotated[int, Field(gt=0)]
    follow_up_every_hours: Annotated[int, Field(gt=0)] | None = None
    actions_en: list[str] = Field(min_length=1)
    actions_zh: list[str] = Field(min_length=1)
    # A named team responsible instead of the customer's own (checked against the teams when stored).
    team: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    # Deadlines in business hours (True), plain hours (False), or as the settings say (None).
    business_hours: bool | None = None
    # Who is told besides the role on duty, and who the task escalates to when its deadline passes.
    notify: list[RoleOnDuty] = []
    escalate_to: RoleOnDuty | None = None

    @model_validator(mode="after")
    def _same_actions(self) -> Playbook:
        if len(self.actions_en) != len(self.actions_zh):
            raise ValueError("actions_en and actions_zh must list the same actions")
        return self


class HealthPart(_Strict):
    """One indicator's share of the health score: 1 at `good`, 0 at `bad`, linear between (clipped)."""

    indicator: Annotated[str, Field(pattern=SLUG)]
    weight: Annotated[float, Field(gt=0)]
    good: float
    bad: float

    @model_validator(mode="after")
    def _distinct_ends(self) -> HealthPart:
        if self.good == self.bad:
            raise ValueError(f"{self.indicator}: good and bad must differ")
        return self


class HealthBand(_Strict):
    """A score below `below` maps to `level` (the lowest band that applies wins)."""

    below: Annotated[float, Field(gt=0, le=100)]
    level: str


class Template(_Strict):
    """An industry template: rules, health-score weights and playbooks; industry ones extend `general`."""

    slug: Annotated[str, Field(pattern=SLUG)]
    name_en: str
    name_zh: str
    extends: str | None = None
    rules: list[RuleDef] = []
    health: list[HealthPart] = []
    bands: list[HealthBand] = []
    playbooks: list[Playbook] = []

    @model_validator(mode="after")
    def _unique_slugs(self) -> Template:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.slug in seen:
                raise ValueError(f"rule {rule.slug!r} is defined twice")
            seen.add(rule.slug)
        return self


class RuleVersionRead(BaseModel):
    """One saved state of a rule: what was done, by whom and when, and the rule as it then applied."""

    template: str
    slug: str
    version: int
    action: str = Field(description="create, update, clone, delete, restore, import or original.")
    note: str | None = None
    created_at: datetime
    created_by: str | None = None
    definition: dict[str, Any] | None = Field(description="The rule after this change; null: deleted.")


class TextPiece(BaseModel):
    """A run of a changed text: kept (`equal`), removed (`delete`) or added (`insert`)."""

    kind: Literal["equal", "delete", "insert"]
    text: str


class FieldChange(BaseModel):
    """One field of a rule that differs between two versions; texts also as word-level pieces."""

    field: str
    before: Any = None
    after: Any = None
    pieces: list[TextPiece] = []
