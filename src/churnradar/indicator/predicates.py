"""Event tests as Ibis predicates, shared by the compilers (SQL null semantics: a test on null fails)."""

from __future__ import annotations

import re

import ibis
import ibis.expr.types as ir

from churnradar.indicator.schemas import Condition, Selection


def condition(t: ir.Table, c: Condition) -> ir.BooleanValue:
    """One event test as an Ibis predicate (SQL null semantics: a test on a null value fails)."""
    col = t[c.field]
    if c.op == "is_null":
        return col.isnull()
    if c.op == "not_null":
        return col.notnull()
    listed = c.value if isinstance(c.value, list) else []
    if c.op == "in":
        return col.isin(listed)
    if c.op == "contains_any":
        # One regular expression instead of a substring test per keyword: one pass over each text.
        return col.lower().re_search("|".join(re.escape(str(k).lower()) for k in listed))
    value = c.value
    ops = {
        "=": col == value, "!=": col != value, "<": col < value,
        "<=": col <= value, ">": col > value, ">=": col >= value,
    }  # fmt: skip
    return ops[c.op]


def selected(t: ir.Table, s: Selection) -> ir.BooleanValue:
    """The events of the selection's kinds that pass all its tests."""
    return ibis.and_(t.kind.isin(s.kinds), *(condition(t, c) for c in s.where))


def epoch(value: ir.Value) -> ir.FloatingValue:
    """Seconds since 1970 of a timestamp, as float64."""
    # Float: PostgreSQL would otherwise do integer arithmetic on epochs (ARCHITECTURE, known traps).
    return value.epoch_seconds().cast("float64")
