"""Which rules fire for which customers: every condition compiled and evaluated in one query per run.

Input is an Ibis table with one row per customer: `customer_id`, `template` (the customer's template slug),
the customer fields of `rule.fields` and one column per indicator. Output is one row per (customer, rule)
that fires, at the highest level whose condition holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd

from churnradar.kit.levels import level_rank
from churnradar.rule.compile import compile_condition
from churnradar.rule.language import Condition, FieldType, parse_condition
from churnradar.rule.schemas import RuleDef, Scope, unknown_level

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


def _compile_one(
    template: str, rule: RuleDef, fields: Mapping[str, FieldType], levels: Sequence[str]
) -> CompiledRule:
    for level in (rule.level, *rule.escalate):
        problem = unknown_level(level, tuple(levels))
        if problem is not None:
            raise ValueError(f"template {template!r}, rule {rule.slug!r}: {problem}")
    escalations = sorted(rule.escalate.items(), key=lambda kv: level_rank(kv[0], levels))
    pairs = [(rule.level, rule.condition), *escalations]
    checked = []
    for level, text in pairs:
        try:
            checked.append((level, parse_condition(text, fields)))
        except ValueError as exc:
            raise ValueError(f"template {template!r}, rule {rule.slug!r} ({level}): {exc}") from exc
    return CompiledRule(template, rule, tuple(checked))


def compile_rules(
    rules: Mapping[str, Sequence[RuleDef]],
    fields: Mapping[str, FieldType],
    levels: Sequence[str],
    *,
    left_out: list[str] | None = None,
) -> list[CompiledRule]:
    """Check every condition of every template's rules; the first bad one raises, naming template and rule.

    With `left_out`, a bad rule is left out and its message appended there instead (for running what is
    stored: one bad rule must not stop the others).
    """
    compiled = []
    for template, defs in sorted(rules.items()):
        for rule in defs:
            try:
                compiled.append(_compile_one(template, rule, fields, levels))
            except ValueError as exc:
                if left_out is None:
                    raise
                left_out.append(str(exc)[:500])
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


def _selection(table: ir.Table, compiled: Sequence[CompiledRule], fields: dict[str, FieldType]) -> ir.Table:
    columns: dict[str, Any] = {}
    for index, item in enumerate(compiled):
        applies = (table["template"] == item.template) & _in_scope(table, item.rule.scope)
        level: Any = ibis.null().cast("string")
        for name, condition in item.conditions:  # lowest first: a later (higher) level overrides
            level = ibis.ifelse(compile_condition(condition, table, fields), ibis.literal(name), level)
        columns[f"r{index}"] = ibis.ifelse(applies, level, ibis.null().cast("string"))
    return table.select("customer_id", **columns)


def _long(wide: pd.DataFrame, compiled: Sequence[CompiledRule]) -> pd.DataFrame:
    long = wide.melt(id_vars="customer_id", var_name="column", value_name="level").dropna(subset=["level"])
    return _named(long, compiled)


def _named(long: pd.DataFrame, compiled: Sequence[CompiledRule]) -> pd.DataFrame:
    """`long` (customer_id, column `r<i>`, level) with each column's rule and template, as FIRED_COLUMNS."""
    position = long["column"].str.slice(1).astype(int)
    long["rule"] = [compiled[i].rule.slug for i in position]
    long["template"] = [compiled[i].template for i in position]
    result: pd.DataFrame = long[FIRED_COLUMNS].reset_index(drop=True)
    return result


def fired_rules(
    table: ir.Table, compiled: Sequence[CompiledRule], fields: dict[str, FieldType]
) -> pd.DataFrame:
    """(customer_id, rule, template, level) for every rule that holds, at its highest holding level."""
    if not compiled:
        return pd.DataFrame(columns=FIRED_COLUMNS)
    return _long(_selection(table, compiled, fields).to_pyarrow().to_pandas(), compiled)


class PreparedRules:
    """Every rule compiled once into one DuckDB query over a frame named `judged`, then run per frame.

    Compiling a hundred conditions through Ibis costs seconds; a backtest judges fifty dates with the same
    rules, so the SQL is built once (from the checked trees, never from user text) and reused.
    """

    def __init__(
        self,
        compiled: Sequence[CompiledRule],
        fields: dict[str, FieldType],
        numbers: Sequence[str],
        texts: Sequence[str],
    ) -> None:
        self.compiled = list(compiled)
        self.schema = {
            "customer_id": "int64",
            "template": "string",
            **dict.fromkeys(texts, "string"),
            **dict.fromkeys(numbers, "float64"),
        }
        table = ibis.table(self.schema, name="judged")
        self.sql = (
            str(ibis.to_sql(_selection(table, self.compiled, fields), dialect="duckdb")) if compiled else ""
        )
        # Only the (customer, rule) pairs that fire leave DuckDB (UNPIVOT drops nulls): melting a wide frame
        # of customers x rules in pandas cost more than the query (5 s per date at 100k customers).
        names = ", ".join(f"r{i}" for i in range(len(self.compiled)))
        self.sql_fired = f"SELECT * FROM ({self.sql}) UNPIVOT (level FOR rcol IN ({names}))"  # noqa: S608

    def run(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rules that fire on `frame` (which has the schema's columns), as fired_rules gives them."""
        if not self.compiled or frame.empty:
            return pd.DataFrame(columns=FIRED_COLUMNS)
        typed = frame[list(self.schema)].astype(
            {
                c: "float64" if t == "float64" else "int64" if t == "int64" else object
                for c, t in self.schema.items()
            }
        )
        con = duckdb.connect()
        try:
            con.register("judged", typed)
            long = con.execute(self.sql_fired).df().rename(columns={"rcol": "column"})
        finally:
            con.close()
        # In the order melting would give: by rule, then as the customers came.
        row = pd.Series(range(len(typed)), index=typed["customer_id"].to_numpy())
        order = long["column"].str.slice(1).astype(int) * len(typed) + long["customer_id"].map(row)
        return _named(long.iloc[order.argsort(kind="stable")].reset_index(drop=True), self.compiled)
