"""The alert shapes of the customer page and the API (the risk list's are `customer.schemas`')."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel

from churnradar.kit.levels import Level
from churnradar.models import AlertStatus
from churnradar.rule.templates import GENERAL


class AlertEventRead(BaseModel):
    """One change of an alert."""

    as_of: date
    kind: str
    from_level: Level | None
    to_level: Level | None
    cause: str


class AlertRead(BaseModel):
    """An alert of a customer with its history, newest change first."""

    id: int
    rule: str
    rule_name_en: str | None
    rule_name_zh: str | None
    level: Level
    status: AlertStatus
    muted: str | None
    opened_on: date
    last_fired_on: date
    resolved_on: date | None
    reason_en: str
    reason_zh: str
    values: dict[str, Any] = {}  # what the rule's condition read when it last fired, by indicator or field
    events: list[AlertEventRead]


@dataclass(frozen=True)
class RuleNames:
    """Each stored rule's English and Chinese name, for showing a rule to people instead of its id.

    An industry template inherits the general template's rules and may store an override without names, and
    tasks and the effectiveness report know a rule's id only: a name is looked up in the rule's template,
    then in the general one, then in any template that has it; the id only when no template names it.
    """

    names: Mapping[tuple[str, str], tuple[str, str]]

    def of(self, rule: str, template: str | None = None) -> tuple[str, str]:
        """(English, Chinese) name of `rule` (of `template` when known)."""
        for key in ((template or GENERAL, rule), (GENERAL, rule)):
            if key in self.names:
                return self.names[key]
        return next((n for (_, slug), n in sorted(self.names.items()) if slug == rule), (rule, rule))

    def name(self, rule: str, zh: bool, template: str | None = None) -> str:
        """The name in the reader's language (Chinese when `zh`)."""
        en, chinese = self.of(rule, template)
        return chinese if zh else en
