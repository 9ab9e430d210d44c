"""Shapes of the rules editor and its API: a rule as its template resolves it, a condition check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from churnradar.rule.schemas import SLUG, RuleDef

RULE_ID = re.compile(SLUG.removesuffix("$") + r"\." + SLUG.removeprefix("^"))


class Origin(StrEnum):
    """Where a template's rule is written: its own entry, an override of the parent's, or the parent's."""

    OWN = "own"
    OVERRIDE = "override"
    INHERITED = "inherited"


def rule_id(template: str, slug: str) -> str:
    """A rule's id in URLs and the API: `template.slug` (both are slugs, so the dot is unambiguous)."""
    return f"{template}.{slug}"


def split_rule_id(value: str) -> tuple[str, str] | None:
    """(template, slug) of an id, or None when it is not shaped like one."""
    if not RULE_ID.fullmatch(value):
        return None
    template, slug = value.split(".", 1)
    return template, slug


class RuleRead(BaseModel):
    """A rule as its template applies it (inherited keys filled in), with where it comes from."""

    id: str = Field(description="`template.slug`, e.g. `retail.no_repurchase_90d`.")
    template: str
    origin: Origin = Field(
        description="own: the template's own rule; override: the parent's rule with keys changed here; "
        "inherited: the parent's rule as it is (a PUT stores an override in this template)."
    )
    parent: str | None = Field(description="The template this one extends, if any.")
    rule: RuleDef


MAX_IMPORT_BYTES = 1024 * 1024


class RulesImport(BaseModel):
    """A rules document as `churnradar rule export` writes it: YAML, template slug -> list of rules."""

    document: str = Field(max_length=MAX_IMPORT_BYTES, description="The YAML text.")


class RulesImported(BaseModel):
    """How many rules each imported template now has."""

    templates: dict[str, int]


class ConditionCheck(BaseModel):
    """A condition parsed and checked, and how many customers it flags as of the latest evaluation."""

    condition: str = Field(max_length=20_000)


class ConditionResult(BaseModel):
    """The verdict on a condition: valid, or the error with its 1-based column."""

    valid: bool
    message: str
    column: int | None = None
    as_of: str | None = Field(default=None, description="The evaluation date the count is for.")
    flagged: int | None = Field(default=None, description="Customers the rule would flag as of `as_of`.")
    customers: int | None = Field(default=None, description="Customers judged as of `as_of`.")


@dataclass(frozen=True)
class RuleChange:
    """A saved rule: its id and each changed field as (before, after), as the audit log keeps it."""

    id: str
    changes: dict[str, list[Any]]
