"""Compiled conditions give what SQL's three-valued logic says, checked against a plain-Python evaluator."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ibis
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from churnradar.rule.compile import compile_condition
from churnradar.rule.language import FieldType, parse_condition

FIELDS = {"a": FieldType.NUMBER, "b": FieldType.NUMBER, "tier": FieldType.TEXT}
ROWS = [
    {"id": 0, "a": 0.0, "b": 5.0, "tier": "high"},
    {"id": 1, "a": 3.0, "b": None, "tier": "Low"},
    {"id": 2, "a": None, "b": -2.0, "tier": None},
    {"id": 3, "a": 7.5, "b": 7.5, "tier": "medium"},
    {"id": 4, "a": -1.0, "b": 0.0, "tier": "HIGH"},
]
Row = dict[str, Any]
Num = tuple[str, Callable[[Row], float | None]]
Pred = tuple[str, Callable[[Row], bool | None]]


def _num_leaf() -> st.SearchStrategy[Num]:
    columns = st.sampled_from(["a", "b"]).map(lambda n: (n, lambda r, n=n: r[n]))
    numbers = st.sampled_from([0, 1, 2.5, 7.5]).map(lambda v: (str(v), lambda _r, v=v: float(v)))
    return columns | numbers


def _num(children: st.SearchStrategy[Num]) -> st.SearchStrategy[Num]:
    def combine(op: str, x: Num, y: Num) -> Num:
        functions = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q}
        f = functions[op]
        return (
            f"({x[0]} {op} {y[0]})",
            lambda r: None if x[1](r) is None or y[1](r) is None else f(x[1](r), y[1](r)),
        )

    def absolute(x: Num) -> Num:
        return (f"abs({x[0]})", lambda r: None if x[1](r) is None else abs(x[1](r)))  # type: ignore[arg-type]

    def coalesce(x: Num, y: Num) -> Num:
        return (f"coalesce({x[0]}, {y[0]})", lambda r: x[1](r) if x[1](r) is not None else y[1](r))

    return (
        st.builds(combine, st.sampled_from(["+", "-", "*"]), children, children)
        | st.builds(absolute, children)
        | st.builds(coalesce, children, children)
    )


NUMS = st.recursive(_num_leaf(), _num, max_leaves=4)


def _compare(op: str, x: Num, y: Num) -> Pred:
    f = {">": float.__gt__, "<=": float.__le__, "=": float.__eq__, "<>": float.__ne__}[op]
    return (
        f"{x[0]} {op} {y[0]}",
        lambda r: None if x[1](r) is None or y[1](r) is None else f(x[1](r), y[1](r)),
    )


def _tier_in(values: list[str]) -> Pred:
    text = ", ".join(f"'{v}'" for v in values)
    return (
        f"tier IN ({text})",
        lambda r: None if r["tier"] is None else r["tier"].lower() in [v.lower() for v in values],
    )


def _is_null(x: Num) -> Pred:
    return (f"{x[0]} IS NULL", lambda r: x[1](r) is None)


LEAVES = (
    st.builds(_compare, st.sampled_from([">", "<=", "=", "<>"]), NUMS, NUMS)
    | st.builds(_tier_in, st.lists(st.sampled_from(["high", "Low", "MEDIUM"]), min_size=1, max_size=3))
    | st.builds(_is_null, NUMS)
)


def _and(x: Pred, y: Pred) -> Pred:
    def f(r: Row) -> bool | None:
        p, q = x[1](r), y[1](r)
        if p is False or q is False:
            return False
        return None if p is None or q is None else True

    return (f"({x[0]} AND {y[0]})", f)


def _or(x: Pred, y: Pred) -> Pred:
    def f(r: Row) -> bool | None:
        p, q = x[1](r), y[1](r)
        if p is True or q is True:
            return True
        return None if p is None or q is None else False

    return (f"({x[0]} OR {y[0]})", f)


def _not(x: Pred) -> Pred:
    return (f"NOT ({x[0]})", lambda r: None if x[1](r) is None else not x[1](r))


PREDS = st.recursive(
    LEAVES, lambda c: st.builds(_and, c, c) | st.builds(_or, c, c) | st.builds(_not, c), max_leaves=5
)
TABLE = ibis.memtable(pd.DataFrame(ROWS).astype({"a": "float64", "b": "float64"}))


@settings(max_examples=150, deadline=None)
@given(PREDS)
def test_engine_matches_three_valued_reference(pred: Pred) -> None:
    text, reference = pred
    condition = parse_condition(text, FIELDS)
    fired = TABLE.filter(compile_condition(condition, TABLE, FIELDS)).id.to_pandas().tolist()
    expected = [r["id"] for r in ROWS if reference(r) is True]
    assert sorted(fired) == expected, text
    assert not any(isinstance(v, float) and math.isnan(v) for v in fired)
