"""The rule form as the page posts it: the builder's fields (`b.<path>.<part>`) and the rule's own fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from churnradar.kit.levels import DEFAULT_LEVELS
from churnradar.rule.builder import ARITY, PATH, Clause, Expression, Group, Operator
from churnradar.rule.exceptions import TemplateError
from churnradar.rule.language import MAX_NODES

MAX_TEXT = 2_000


async def posted_form(request: Request) -> FormData:
    """The posted form, read once (a plain `def` route cannot await it)."""
    return await request.form(max_fields=2_000)


FormDep = Annotated[FormData, Depends(posted_form)]
# Levels an escalation may name: every level but the lowest (a rule's own level is at least that).
ESCALATION_LEVELS = DEFAULT_LEVELS[1:]


def _parts(form: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    parts: dict[str, dict[str, str]] = {}
    for key, value in form.items():
        if not key.startswith("b.") or not isinstance(value, str):
            continue
        path, _, part = key[2:].rpartition(".")
        if PATH.match(path) and len(parts) <= MAX_NODES:
            parts.setdefault(path, {})[part] = value
    return parts


def _values(fields: Mapping[str, str], operator: Operator) -> list[str]:
    arity = ARITY[operator]
    if arity is None:
        return [v.strip() for v in fields.get("list", "").split(",") if v.strip()]
    return [fields.get(f"v{i}", "") for i in range(arity)]


def _node(path: str, parts: Mapping[str, Mapping[str, str]]) -> Clause | Expression | Group | None:
    fields = parts.get(path, {})
    negated = fields.get("negated") == "true"
    kind = fields.get("kind")
    if kind == "clause":
        try:
            operator = Operator(fields.get("operator", ">"))
        except ValueError:
            operator = Operator.GT
        return Clause(
            field=fields.get("field", "")[:100],
            operator=operator,
            values=[v[:500] for v in _values(fields, operator)][:200],
            negated=negated,
        )
    if kind == "expression":
        return Expression(text=fields.get("text", "")[:2_000], negated=negated)
    if kind != "group":
        return None
    prefix = path + "."
    steps = sorted({int(p[len(prefix) :].split(".")[0]) for p in parts if p.startswith(prefix)})
    children = [c for step in steps if (c := _node(f"{prefix}{step}", parts)) is not None]
    return Group(joiner="or" if fields.get("joiner") == "or" else "and", negated=negated, children=children)


def tree_from_form(form: Mapping[str, Any]) -> Group | None:
    """The builder's tree as the page posted it, or None when the form holds no builder."""
    top = _node("r", _parts(form))
    return top if isinstance(top, Group) else None


def _words(text: str | None) -> list[str]:
    return [w.strip() for w in (text or "").split(",") if w.strip()]


def rule_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's fields the form gives (a field the form leaves out stays as it was); a text longer than
    `MAX_TEXT` is refused (`TemplateError`) naming the field."""
    long = [k for k, v in form.items() if isinstance(v, str) and len(v) > MAX_TEXT and not k.startswith("b.")]
    if long:
        raise TemplateError([f"{name[:40]}: at most {MAX_TEXT:,} characters" for name in long[:10]])
    values: dict[str, Any] = {}
    for name in ("condition", "level", "name_en", "name_zh", "reason_en", "reason_zh"):
        if isinstance(form.get(name), str):
            values[name] = form[name]
    enabled = form.get("enabled")
    if isinstance(enabled, bool):
        values["enabled"] = enabled
    elif "level" in values:  # the whole form was posted: a missing checkbox means off
        values["enabled"] = enabled == "true"
    if any(f"escalate_{level}" in form for level in ESCALATION_LEVELS):
        values["escalate"] = {
            level: text.strip()
            for level in ESCALATION_LEVELS
            if isinstance(text := form.get(f"escalate_{level}"), str) and text.strip()
        }
    if any(name in form for name in ("segments", "industries", "tiers")):
        values["scope"] = {name: _words(form.get(name)) for name in ("segments", "industries", "tiers")}
    for name in ("tags_add", "tags_remove"):
        if name in form:
            values[name] = _words(form.get(name))
    return values
