"""Compile a checked condition into an Ibis boolean expression over a table of indicators and fields.

Evaluated for all customers at once by whatever engine holds the table. SQL's three-valued logic is kept
inside; the final predicate treats "unknown" (a missing value) as "does not fire".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlglot import exp

from churnradar.rule.language import Condition, FieldType

Builder = Callable[[exp.Expression], Any]


class _Compiler:
    def __init__(self, table: ir.Table, text_fields: frozenset[str]) -> None:
        self.table = table
        self.text_fields = text_fields

    def __call__(self, node: exp.Expression) -> Any:
        build = self
        if isinstance(node, exp.Paren):
            return build(node.this)
        if isinstance(node, exp.Column):
            return self._column(node.name.lower())
        if isinstance(node, exp.Literal):
            return ibis.literal(node.this if node.is_string else float(node.this))
        if isinstance(node, exp.Boolean):
            return ibis.literal(bool(node.this))
        if isinstance(node, exp.And):
            return build(node.this) & build(node.expression)
        if isinstance(node, exp.Or):
            return build(node.this) | build(node.expression)
        if isinstance(node, exp.Not):
            return ~build(node.this)
        if isinstance(node, exp.Neg):
            return -build(node.this)
        binary: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
            exp.Add: lambda a, b: a + b,
            exp.Sub: lambda a, b: a - b,
            exp.Mul: lambda a, b: a * b,
            exp.Div: lambda a, b: a / b,
            exp.Mod: lambda a, b: a % b,
            exp.EQ: lambda a, b: a == b,
            exp.NEQ: lambda a, b: a != b,
            exp.GT: lambda a, b: a > b,
            exp.GTE: lambda a, b: a >= b,
            exp.LT: lambda a, b: a < b,
            exp.LTE: lambda a, b: a <= b,
        }
        if type(node) in binary:
            return binary[type(node)](build(node.this), build(node.expression))
        if isinstance(node, exp.Is):
            return build(node.this).isnull()
        if isinstance(node, exp.In):
            values = [self._literal_value(v) for v in node.expressions]
            return build(node.this).isin(values)
        if isinstance(node, exp.Between):
            return build(node.this).between(build(node.args["low"]), build(node.args["high"]))
        if isinstance(node, exp.Abs):
            return build(node.this).abs()
        args = [build(a) for a in [node.this, *node.expressions] if a is not None]
        if isinstance(node, exp.Coalesce):
            return ibis.coalesce(*args)
        if isinstance(node, exp.Greatest):
            return ibis.greatest(*args)
        if isinstance(node, exp.Least):
            return ibis.least(*args)
        raise TypeError(f"unchecked node {type(node).__name__}")  # parse_condition refuses these first

    def _column(self, name: str) -> Any:
        column = self.table[name]
        # Text fields compare case-insensitively: 'High' and 'high' are the same tier to a salesperson.
        # The cast keeps an all-empty column (typed null by the engine) usable as text.
        return column.cast("string").lower() if name in self.text_fields else column

    def _literal_value(self, node: exp.Expression) -> Any:
        if isinstance(node, exp.Neg):
            return -float(node.this.this)
        if isinstance(node, exp.Boolean):
            return bool(node.this)
        return node.this.lower() if node.is_string else float(node.this)


def _lower_text_literals(tree: exp.Expression) -> exp.Expression:
    def lower(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and node.is_string:
            return exp.Literal.string(node.this.lower())
        return node

    return tree.transform(lower)


def compile_condition(condition: Condition, table: ir.Table, fields: dict[str, FieldType]) -> ir.BooleanValue:
    """The condition as a boolean column of `table`; a missing value makes it false, never null."""
    text_fields = frozenset(n for n, kind in fields.items() if kind is FieldType.TEXT)
    expression = _Compiler(table, text_fields)(_lower_text_literals(condition.tree))
    result: ir.BooleanValue = expression.fill_null(False)
    return result
