"""The condition builder: expression -> tree -> expression keeps the meaning; hostile values stay values."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from churnradar.rule.builder import Clause, Expression, Group, Operator, text_of, tree_of
from churnradar.rule.compile import compile_condition
from churnradar.rule.exceptions import RuleSyntaxError
from churnradar.rule.language import FieldType, parse_condition

FIELDS = {"logins": FieldType.NUMBER, "visits": FieldType.NUMBER, "tier": FieldType.TEXT}
ROWS = pd.DataFrame(
    {
        "logins": [0.0, 3.0, 10.0, None, 7.0, -2.0],
        "visits": [1.0, None, 4.0, 2.0, 0.0, 9.0],
        "tier": ["high", "low", None, "High", "it's", "medium"],
    }
)
EXPRESSIONS = [
    "logins > 3",
    "3 < logins AND tier = 'high'",
    "NOT (logins > 3 OR visits <= -2) AND tier IN ('high', 'low')",
    "tier NOT IN ('low') OR logins IS NULL",
    "logins IS NOT NULL AND NOT visits BETWEEN 1 AND 3",
    "abs(logins - visits) > 3 AND (logins > 1 OR (visits > 2 AND tier <> 'low'))",
    "coalesce(logins, 0) / 2 >= visits OR NOT (NOT logins = 7)",
    "logins >= 1 AND (visits < 5 AND (tier = 'it''s' OR tier = 'medium'))",
    "(((logins > 0)))",
]


def _flags(text: str) -> list[bool]:
    table = ibis.memtable(ROWS)
    predicate = compile_condition(parse_condition(text, FIELDS), table, dict(FIELDS))
    return [bool(v) for v in ibis.duckdb.connect().execute(table.select(hit=predicate))["hit"]]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_expression_to_tree_to_expression_keeps_the_meaning(text: str) -> None:
    tree = tree_of(parse_condition(text, FIELDS))
    printed = text_of(tree, FIELDS)
    assert tree_of(parse_condition(printed, FIELDS)) == tree  # printing then reading is a fixed point
    assert _flags(printed) == _flags(text)  # and flags exactly the same customers


def test_the_tree_says_what_a_person_picks() -> None:
    tree = tree_of(parse_condition("NOT (3 < logins) AND tier IN ('a', 'b') AND abs(visits) > 1", FIELDS))
    assert tree == Group(
        joiner="and",
        children=[
            Clause(field="logins", operator=Operator.GT, values=["3"], negated=True),
            Clause(field="tier", operator=Operator.IN, values=["a", "b"]),
            Expression(text="ABS(visits) > 1"),
        ],
    )


HOSTILE_VALUES = [
    "x' OR tier <> 'y",
    "'; DROP TABLE rules; --",
    ") OR (1 = 1",
    "高风险\n第二行",
    "\\' OR 1=1 --",
    "' || '",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_hostile_text_value_stays_one_value(value: str) -> None:
    tree = Group(children=[Clause(field="tier", operator=Operator.EQ, values=[value])])
    assert tree_of(parse_condition(text_of(tree, FIELDS), FIELDS)) == tree


@pytest.mark.parametrize(
    ("clause", "refusal"),
    [
        # A number field given something else: the value is quoted, so the checker refuses it where it is.
        (
            Clause(field="logins", values=["1 OR 1=1"]),
            "the comparison compares a number with a text at column 1",
        ),
        (Clause(field="logins", values=["1) OR (visits > 0"]), "compares a number with a text"),
        (
            Clause(field="logins OR 1=1", values=["1"]),
            "unknown indicator or field 'logins or 1=1' at column 1",
        ),
        (Clause(field="nosuch", values=["1"]), "unknown indicator or field 'nosuch' at column 1"),
        (Clause(field="logins", operator=Operator.BETWEEN, values=["1"]), "compares a number with a text"),
        (Clause(field="logins", values=["5"], negated=True), None),
    ],
)
def test_hostile_fields_and_values_are_refused_with_a_position(clause: Clause, refusal: str | None) -> None:
    text = text_of(Group(children=[clause]), FIELDS)
    if refusal is None:
        assert tree_of(parse_condition(text, FIELDS)).children == [clause]
        return
    with pytest.raises(RuleSyntaxError, match=refusal.replace("(", r"\(").replace(")", r"\)")):
        parse_condition(text, FIELDS)


def test_empty_parts_are_left_out_and_deep_trees_refused() -> None:
    tree = Group(joiner="or", children=[Group(), Clause(field="logins", values=["1"]), Expression(text=" ")])
    assert text_of(tree, FIELDS) == "logins > 1"
    deep = Group(children=[Clause(field="logins", values=["1"])])
    for _ in range(30):
        deep = Group(children=[deep, Clause(field="visits", values=["2"])])
    with pytest.raises(ValueError, match="nested too deeply"):
        text_of(deep, FIELDS)
