"""The condition builder's tree: built from a checked condition, printed back as condition text.

Pure. The tree is what the rules page shows as a builder: groups joined by AND or OR (each may be negated),
clauses `field operator value(s)`, and for whatever a clause cannot say (arithmetic, functions, a field
compared with a field) an expression kept as text. Printing quotes every value, so no value typed into the
builder can change the condition's structure: a text that is not a number becomes a quoted text the checker
then refuses with its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from churnradar.rule.language import MAX_DEPTH, MAX_NODES, Condition, FieldType


class Operator(StrEnum):
    """What a clause tests."""

    EQ = "="
    NEQ = "<>"
    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="
    IN = "in"
    NOT_IN = "not in"
    BETWEEN = "between"
    IS_NULL = "is null"
    IS_NOT_NULL = "is not null"


# How many values each operator takes (None: a list of one or more).
ARITY: dict[Operator, int | None] = {
    **dict.fromkeys((Operator.EQ, Operator.NEQ, Operator.LT, Operator.LTE, Operator.GT, Operator.GTE), 1),
    Operator.IN: None,
    Operator.NOT_IN: None,
    Operator.BETWEEN: 2,
    Operator.IS_NULL: 0,
    Operator.IS_NOT_NULL: 0,
}


class Clause(BaseModel):
    """`field operator values`; values as a person types them (text without quotes)."""

    kind: Literal["clause"] = "clause"
    field: str = Field(max_length=100)
    operator: Operator = Operator.GT
    values: list[Annotated[str, Field(max_length=500)]] = Field(default=[], max_length=200)
    negated: bool = False


class Expression(BaseModel):
    """A part of the condition the builder keeps as text."""

    kind: Literal["expression"] = "expression"
    text: str = Field(max_length=2_000)
    negated: bool = False


class Group(BaseModel):
    """Parts joined by AND or OR."""

    kind: Literal["group"] = "group"
    joiner: Literal["and", "or"] = "and"
    negated: bool = False
    children: list[Node] = Field(default=[], max_length=MAX_NODES)


Node = Annotated[Clause | Expression | Group, Field(discriminator="kind")]
Group.model_rebuild()

_FLIPPED: dict[type[exp.Expression], Operator] = {
    exp.EQ: Operator.EQ,
    exp.NEQ: Operator.NEQ,
    exp.LT: Operator.GT,
    exp.LTE: Operator.GTE,
    exp.GT: Operator.LT,
    exp.GTE: Operator.LTE,
}
_OPERATORS: dict[type[exp.Expression], Operator] = {
    exp.EQ: Operator.EQ,
    exp.NEQ: Operator.NEQ,
    exp.LT: Operator.LT,
    exp.LTE: Operator.LTE,
    exp.GT: Operator.GT,
    exp.GTE: Operator.GTE,
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _bare(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _literal(node: exp.Expression) -> str | None:
    """The value a literal writes, as typed (text unquoted), or None when `node` is not a literal."""
    node = _bare(node)
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Neg):
        inner = _bare(node.this)
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return "-" + str(inner.this)
    return None


def _field(node: exp.Expression) -> str | None:
    node = _bare(node)
    return node.name.lower() if isinstance(node, exp.Column) and not node.table else None


def _clause(node: exp.Expression) -> Clause | None:
    negated = False
    if isinstance(node, exp.Not):
        negated, node = True, _bare(node.this)
    if isinstance(node, exp.Is) and _field(node.this):
        operator = Operator.IS_NOT_NULL if negated else Operator.IS_NULL
        return Clause(field=_field(node.this) or "", operator=operator)
    if isinstance(node, exp.In) and _field(node.this):
        values = [_literal(v) for v in node.expressions]
        if all(v is not None for v in values):
            operator = Operator.NOT_IN if negated else Operator.IN
            return Clause(field=_field(node.this) or "", operator=operator, values=[str(v) for v in values])
        return None
    clause: Clause | None = None
    if isinstance(node, exp.Between) and _field(node.this):
        low, high = _literal(node.args["low"]), _literal(node.args["high"])
        if low is not None and high is not None:
            clause = Clause(field=_field(node.this) or "", operator=Operator.BETWEEN, values=[low, high])
    elif type(node) in _OPERATORS:
        left, right = node.this, node.expression
        if _field(left) and _literal(right) is not None:
            clause = Clause(
                field=_field(left) or "", operator=_OPERATORS[type(node)], values=[_literal(right) or ""]
            )
        elif _field(right) and _literal(left) is not None:
            clause = Clause(
                field=_field(right) or "", operator=_FLIPPED[type(node)], values=[_literal(left) or ""]
            )
    if clause is not None and negated:
        clause.negated = True
    return clause


def _node(node: exp.Expression) -> Clause | Expression | Group:
    node = _bare(node)
    if isinstance(node, exp.And | exp.Or):
        joiner: Literal["and", "or"] = "and" if isinstance(node, exp.And) else "or"
        return Group(joiner=joiner, children=[_node(part) for part in _operands(node, type(node))])
    clause = _clause(node)
    if clause is not None:
        return clause
    if isinstance(node, exp.Not):
        inner = _node(node.this)
        return inner.model_copy(update={"negated": not inner.negated})
    return Expression(text=node.sql(dialect="duckdb"))


def _operands(node: exp.Expression, kind: type[exp.Expression]) -> list[exp.Expression]:
    # `a AND (b AND c)` is one group of three: the same meaning, read as people say it.
    node = _bare(node)
    if isinstance(node, kind) and not isinstance(node, exp.Not):
        return [*_operands(node.this, kind), *_operands(node.expression, kind)]
    return [node]


def tree_of(condition: Condition) -> Group:
    """The builder's tree of a checked condition; the top is always a group."""
    top = _node(condition.tree)
    return top if isinstance(top, Group) else Group(children=[top])


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _value(value: str, kind: FieldType | None) -> str:
    """A value as condition text: a number or true/false as such where the field takes one, else quoted."""
    written = value.strip()
    if kind is FieldType.NUMBER and _NUMBER.match(written):
        return written
    if kind is FieldType.BOOLEAN and written.lower() in ("true", "false"):
        return written.lower()
    if kind is None and (_NUMBER.match(written) or written.lower() in ("true", "false")):
        return written  # an unknown field: the checker names it, the value keeps what it looked like
    return _quoted(value)


def _name(field: str) -> str:
    # A name that is not a plain word is quoted: the checker then refuses it as an unknown field.
    return field if _NAME.match(field) else '"' + field.replace('"', '""') + '"'


def _clause_text(clause: Clause, fields: Mapping[str, FieldType]) -> str:
    if not clause.field.strip():
        return ""  # a clause whose field is not picked yet says nothing
    kind = fields.get(clause.field.lower())
    name = _name(clause.field)
    values = [_value(v, kind) for v in clause.values]
    arity = ARITY[clause.operator]
    if arity == 0:
        return f"{name} {clause.operator.value.upper()}"
    if arity is None:
        return f"{name} {clause.operator.value.upper()} ({', '.join(values) or _quoted('')})"
    values = (values + [_quoted("")] * arity)[:arity]  # a missing value reads as empty text: refused
    if clause.operator is Operator.BETWEEN:
        return f"{name} BETWEEN {values[0]} AND {values[1]}"
    return f"{name} {clause.operator.value} {values[0]}"


def _text(node: Clause | Expression | Group, fields: Mapping[str, FieldType], depth: int) -> str:
    if depth > MAX_DEPTH:
        raise ValueError(f"the builder's groups are nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(node, Group):
        parts = [(text, child) for child in node.children if (text := _text(child, fields, depth + 1))]
        joined = f" {node.joiner.upper()} ".join(
            f"({text})" if len(parts) > 1 and _needs_parens(child) else text for text, child in parts
        )
        if node.negated and joined:
            return f"NOT ({joined})"
        return joined
    text = _clause_text(node, fields) if isinstance(node, Clause) else node.text.strip()
    if not text:
        return ""
    return f"NOT ({text})" if node.negated else text


def _needs_parens(node: Clause | Expression | Group) -> bool:
    if isinstance(node, Group):
        return not node.negated and len(node.children) > 1
    return isinstance(node, Expression)


def text_of(tree: Group, fields: Mapping[str, FieldType]) -> str:
    """The condition text of a builder tree (`fields` say which values are numbers)."""
    return _text(tree, {k.lower(): v for k, v in fields.items()}, 0)


PATH = re.compile(r"^r(\.\d{1,3}){0,24}$")


def node_at(tree: Group, path: str) -> Clause | Expression | Group | None:
    """The node at `path` (`r` is the top group, `r.0` its first part, `r.0.2` that part's third...)."""
    if not PATH.match(path):
        return None
    node: Clause | Expression | Group = tree
    for step in path.split(".")[1:]:
        if not isinstance(node, Group) or int(step) >= len(node.children):
            return None
        node = node.children[int(step)]
    return node


def edited(tree: Group, action: str, path: str, value: str = "") -> Group:
    """A copy of `tree` with one edit at `path`: add-clause, add-group, add-expression (to a group), remove,
    negate, or pick (set a clause's field to `value`). An edit that does not fit leaves the tree as it was."""
    copy = tree.model_copy(deep=True)
    node = node_at(copy, path)
    if isinstance(node, Group) and action.startswith("add-") and len(node.children) < MAX_NODES:
        parts: dict[str, Clause | Expression | Group] = {
            "add-clause": Clause(field=""),
            "add-group": Group(joiner="or", children=[Clause(field="")]),
            "add-expression": Expression(text=""),
        }
        node.children.append(parts.get(action, Clause(field="")))
    elif action == "negate" and node is not None:
        node.negated = not node.negated
    elif action == "pick" and isinstance(node, Clause):
        node.field = value[:100]
    elif action == "remove" and node is not None and path != "r":
        parent = node_at(copy, path.rsplit(".", 1)[0])
        if isinstance(parent, Group):
            del parent.children[int(path.rsplit(".", 1)[1])]
    return copy
