"""Rule versions, pure: which rules a change touched, and what differs between two saved states of a rule.

Every change to stored rules (an edit, a new rule, a clone, a deletion, a restore, an import) appends a
version per rule it changed, holding the rule as its template then applied it; `rule.service` stores them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from churnradar.rule.schemas import FieldChange, Template, TextPiece

_WORDS = re.compile(r"\w+|\s+|[^\w\s]")
# The order fields are shown in a diff: what people read first.
FIELD_ORDER = (
    "enabled",
    "level",
    "condition",
    "escalate",
    "name_en",
    "name_zh",
    "reason_en",
    "reason_zh",
    "scope",
    "tags_add",
    "tags_remove",
    "slug",
)

RuleChanges = list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]]


def changed_rules(
    before: Mapping[str, Template], after: Mapping[str, Template], templates: Iterable[str]
) -> RuleChanges:
    """(template, slug, before, after) of each rule of `templates` whose definition differs (None: absent)."""
    out: RuleChanges = []
    for template in sorted(set(templates)):
        old = (
            {r.slug: r.model_dump(mode="json") for r in before[template].rules} if template in before else {}
        )
        new = {r.slug: r.model_dump(mode="json") for r in after[template].rules} if template in after else {}
        for slug in [*old, *(s for s in new if s not in old)]:
            if old.get(slug) != new.get(slug):
                out.append((template, slug, old.get(slug), new.get(slug)))
    return out


def text_pieces(before: str, after: str) -> list[TextPiece]:
    """`before` -> `after` as word-level runs: equal, deleted and inserted text, in reading order."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    pieces: list[TextPiece] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(TextPiece(kind="equal", text="".join(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(TextPiece(kind="delete", text="".join(old[i1:i2])))
        if j2 > j1:
            pieces.append(TextPiece(kind="insert", text="".join(new[j1:j2])))
    return pieces


def _flat(definition: Mapping[str, Any] | None) -> dict[str, Any]:
    # Mappings (escalate, scope) one key at a time: `escalate.red` reads better than two whole mappings.
    out: dict[str, Any] = {}
    for key, value in (definition or {}).items():
        if isinstance(value, Mapping):
            out |= {f"{key}.{inner}": v for inner, v in value.items() if v not in ([], None)}
        else:
            out[key] = value
    return out


def _order(name: str) -> tuple[int, str]:
    head = name.split(".", 1)[0]
    return (FIELD_ORDER.index(head) if head in FIELD_ORDER else len(FIELD_ORDER), name)


def diff_definitions(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[FieldChange]:
    """The fields that differ between two saved states of a rule (None: the rule did not exist)."""
    old, new = _flat(before), _flat(after)
    changes: list[FieldChange] = []
    for name in sorted(set(old) | set(new), key=_order):
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        pieces = text_pieces(was, now) if isinstance(was, str) and isinstance(now, str) else []
        changes.append(FieldChange(field=name, before=was, after=now, pieces=pieces))
    return changes
