"""Which rules fire for which customers: every condition compiled and evaluated in one query per run.

Input is an Ibis table with one row per customer: `customer_id`, `template` (the customer's template slug),
the customer fields of `rule.fields` and one column per indicator. Output is one row per (customer, rule)
that fires, at the highest level whose condition holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from churnradar.rule.compile import compile_condition
from churnradar.rule.language import Condition, FieldType, parse_condition
from churnradar.rule.schemas import RuleDef, Scope

FIRED_COLUMNS = ["customer_id", "rule", "template", "level"]


@dataclass(frozen=True)
class CompiledRule:
    """A rule of one template, checked: its conditions by level, lowest level first."""

    template: str
    rule: RuleDef
    conditions: tuple[tuple[str, Condition], ...]

    @property
    def names(self) -> frozenset[str]:
        """Every field or indicator the rule reads."""
        return frozenset().union(*(c.names for _, c in self.conditions))


def compile_rules(
    rules: Mapping[str, Sequence[RuleDef]], fields: Mapping[str, FieldType], levels: Sequence[str]
) -> list[CompiledRule]:
    """Check every condition of every template's rules; the first bad one raises, naming template and rule."""
    compiled = []
    for template, defs in sorted(rules.items()):
        for rule in defs:
            pairs = [
                (rule.level, rule.condition),
                *sorted(rule.escalate.items(), key=lambda kv: levels.index(kv[0])),
            ]
            checked = []
            for level, text in pairs:
                try:
                    checked.append((level, parse_condition(text, fields)))
                except ValueError as exc:
                    raise ValueError(f"template {template!r}, rule {rule.slug!r} ({level}): {exc}") from exc
            compiled.append(CompiledRule(template, rule, tuple(checked)))
    return compiled


def _in_scope(table: ir.Table, scope: Scope) -> ir.BooleanValue:
    test: ir.BooleanValue = ibis.literal(True)
    for column, allowed in (
        ("segment", scope.segments),
        ("industry", scope.industries),
        ("tier", scope.tiers),
    ):
        if allowed:
            test = test & table[column].lower().isin(allowed).fill_null(False)
    return test


def fired_rules(
    table: ir.Table, compiled: Sequence[CompiledRule], fields: dict[str, FieldType]
) -> pd.DataFrame:
    """(customer_id, rule, template, level) for every rule that holds, at its highest holding level."""
    if not compiled:
        return pd.DataFrame(columns=FIRED_COLUMNS)
    columns: dict[str, Any] = {}
    for index, item in enumerate(compiled):
        applies = (table["template"] == item.template) & _in_scope(table, item.rule.scope)
        level: Any = ibis.null().cast("string")
        for name, condition in item.conditions:  # lowest first: a later (higher) level overrides
            level = ibis.ifelse(compile_condition(condition, table, fields), ibis.literal(name), level)
        columns[f"r{index}"] = ibis.ifelse(applies, level, ibis.null().cast("string"))
    wide = table.select("customer_id", **columns).to_pyarrow().to_pandas()
    long = wide.melt(id_vars="customer_id", var_name="column", value_name="level").dropna(subset=["level"])
    position = long["column"].str.slice(1).astype(int)
    long["rule"] = [compiled[i].rule.slug for i in position]
    long["template"] = [compiled[i].template for i in position]
    result: pd.DataFrame = long[FIRED_COLUMNS].reset_index(drop=True)
    return result
