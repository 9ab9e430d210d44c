"""The rule condition language: SQL-like boolean expressions, parsed by sqlglot and checked on an allow-list.

Pure: text in, a checked tree (or a `RuleSyntaxError` naming the column) out. Nothing is executed or pasted
into SQL; `compile.py` turns the checked tree into an Ibis expression.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType  # type: ignore[attr-defined]

MAX_CHARS = 2_000
MAX_DEPTH = 24
MAX_NODES = 400
FUNCTIONS = ("abs", "coalesce", "greatest", "least")


class FieldType(StrEnum):
    """What a name in a condition holds."""

    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"


class RuleSyntaxError(ValueError):
    """A condition that cannot be accepted; `column` is 1-based where known."""

    def __init__(self, message: str, column: int | None = None, hint: str = "") -> None:
        super().__init__((f"{message} at column {column}" if column else message) + hint)
        self.reason = message
        self.column = column


@dataclass(frozen=True)
class Condition:
    """A checked condition: its text, its sqlglot tree and the names it reads."""

    text: str
    tree: exp.Expression
    names: frozenset[str]


_NULL = "null"  # the type of a NULL literal: compatible with anything
_COMPARISONS: tuple[type[exp.Expression], ...] = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ARITHMETIC: tuple[type[exp.Expression], ...] = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_FUNCTION_NODES: dict[type[exp.Expression], str] = {
    exp.Abs: "abs",
    exp.Coalesce: "coalesce",
    exp.Greatest: "greatest",
    exp.Least: "least",
}
_NODE_WORDS: dict[type[exp.Expression], str] = {
    exp.Select: "a SELECT statement",
    exp.Subquery: "a subquery",
    exp.Star: "*",
    exp.Placeholder: "a placeholder",
    exp.Parameter: "a parameter",
    exp.Case: "CASE",
    exp.Cast: "CAST",
    exp.Like: "LIKE",
    exp.Exists: "EXISTS",
}


def _column_of(node: exp.Expression) -> int | None:
    # sqlglot records source positions on identifiers and literals; use the first one inside the node.
    starts = [int(n.meta["start"]) for n in node.walk() if n.meta and "start" in n.meta]
    return min(starts) + 1 if starts else None


def _check_tokens(text: str) -> None:
    try:
        tokens = Tokenizer().tokenize(text)
    except TokenError as exc:
        raise RuleSyntaxError(f"cannot read the condition: {exc}") from exc
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            raise RuleSyntaxError("';' is not allowed: a condition is one expression", token.start + 1)
        # Checked on tokens, before the parser recurses once per parenthesis.
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"the condition is nested too deeply (more than {MAX_DEPTH} levels)", token.start + 1
            )


class _Checker:
    """Walks the tree: allowed node types only, known names, compatible types, within the size limits."""

    def __init__(self, fields: Mapping[str, FieldType]) -> None:
        self.fields = {name.lower(): kind for name, kind in fields.items()}
        self.names: set[str] = set()
        self.nodes = 0

    def type_of(self, node: exp.Expression, depth: int = 0) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise RuleSyntaxError(f"the condition is too long (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"the condition is nested too deeply (more than {MAX_DEPTH} levels)", _column_of(node)
            )
        if isinstance(node, exp.Paren):
            return self.type_of(node.this, depth + 1)
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, exp.Literal):
            return FieldType.TEXT.value if node.is_string else FieldType.NUMBER.value
        if isinstance(node, exp.Boolean):
            return FieldType.BOOLEAN.value
        if isinstance(node, exp.Null):
            # A bare NULL has no type and no use outside IS [NOT] NULL; refusing it keeps compiling total.
            raise RuleSyntaxError("NULL can only be used as IS NULL or IS NOT NULL", _column_of(node))
        if isinstance(node, exp.And | exp.Or):
            self._expect(node.this, FieldType.BOOLEAN, depth, "AND / OR")
            self._expect(node.expression, FieldType.BOOLEAN, depth, "AND / OR")
            return FieldType.BOOLEAN.value
        if isinstance(node, exp.Not):
            self._expect(node.this, FieldType.BOOLEAN, depth, "NOT")
            return FieldType.BOOLEAN.value
        if isinstance(node, exp.Neg):
            self._expect(node.this, FieldType.NUMBER, depth, "-")
            return FieldType.NUMBER.value
        if isinstance(node, _ARITHMETIC):
            self._expect(node.this, FieldType.NUMBER, depth, node.key)
            self._expect(node.expression, FieldType.NUMBER, depth, node.key)
            return FieldType.NUMBER.value
        if isinstance(node, _COMPARISONS):
            return self._comparison(node, depth)
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise RuleSyntaxError("IS may only be followed by NULL or NOT NULL", _column_of(node))
            self.type_of(node.this, depth + 1)
            return FieldType.BOOLEAN.value
        if isinstance(node, exp.In):
            return self._in(node, depth)
        if isinstance(node, exp.Between):
            kinds = {
                self.type_of(part, depth + 1) for part in (node.this, node.args["low"], node.args["high"])
            }
            self._compatible(kinds, node, "BETWEEN")
            return FieldType.BOOLEAN.value
        if type(node) in _FUNCTION_NODES:
            return self._function(node, depth)
        if isinstance(node, exp.Anonymous | exp.Func):
            name = node.name.lower() if isinstance(node, exp.Anonymous) else node.sql_name().lower()
            raise RuleSyntaxError(
                f"unknown function {name!r}", _column_of(node), f"; allowed: {', '.join(FUNCTIONS)}"
            )
        word = next((w for t, w in _NODE_WORDS.items() if isinstance(node, t)), type(node).__name__.upper())
        raise RuleSyntaxError(f"{word} is not allowed in a condition", _column_of(node))

    def _column(self, node: exp.Column) -> str:
        column = _column_of(node)
        if node.table:
            raise RuleSyntaxError(f"qualified names such as {node.sql()!r} are not allowed", column)
        name = node.name.lower()
        if name not in self.fields:
            close = difflib.get_close_matches(name, list(self.fields), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise RuleSyntaxError(f"unknown indicator or field {name!r}", column, hint)
        self.names.add(name)
        return self.fields[name].value

    def _expect(self, node: exp.Expression, kind: FieldType, depth: int, operator: str) -> None:
        found = self.type_of(node, depth + 1)
        if found not in (kind.value, _NULL):
            raise RuleSyntaxError(f"{operator} needs a {kind.value} here, not a {found}", _column_of(node))

    def _compatible(self, kinds: set[str], node: exp.Expression, what: str) -> None:
        kinds.discard(_NULL)
        if len(kinds) > 1:
            raise RuleSyntaxError(f"{what} compares a {' with a '.join(sorted(kinds))}", _column_of(node))

    def _comparison(self, node: exp.Expression, depth: int) -> str:
        if isinstance(node, exp.EQ | exp.NEQ) and isinstance(node.expression, exp.Null):
            raise RuleSyntaxError("use IS NULL / IS NOT NULL to test for a missing value", _column_of(node))
        kinds = {self.type_of(node.this, depth + 1), self.type_of(node.expression, depth + 1)}
        self._compatible(kinds, node, "the comparison")
        if FieldType.BOOLEAN.value in kinds and not isinstance(node, exp.EQ | exp.NEQ):
            raise RuleSyntaxError("true/false values can only be compared with = or <>", _column_of(node))
        return FieldType.BOOLEAN.value

    def _in(self, node: exp.In, depth: int) -> str:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise RuleSyntaxError("IN takes a list of values, not a query", _column_of(node))
        values = node.expressions
        if not values or len(values) > 200:
            raise RuleSyntaxError("IN needs between 1 and 200 values", _column_of(node))
        for value in values:
            if not isinstance(value, exp.Literal | exp.Neg | exp.Boolean):
                raise RuleSyntaxError("IN takes literal values only", _column_of(value))
        kinds = {self.type_of(node.this, depth + 1), *(self.type_of(v, depth + 1) for v in values)}
        self._compatible(kinds, node, "IN")
        return FieldType.BOOLEAN.value

    def _function(self, node: exp.Expression, depth: int) -> str:
        name = _FUNCTION_NODES[type(node)]
        args = [a for a in [node.this, *node.expressions] if a is not None]
        kinds = {self.type_of(a, depth + 1) for a in args}
        if name in ("abs", "greatest", "least") and kinds - {FieldType.NUMBER.value, _NULL}:
            raise RuleSyntaxError(f"{name}() takes numbers", _column_of(node))
        self._compatible(set(kinds), node, f"{name}()")
        kinds.discard(_NULL)
        return kinds.pop() if kinds else _NULL


def parse_condition(text: str, fields: Mapping[str, FieldType]) -> Condition:
    """Check `text` against the allowed names (`fields`) and language; raise `RuleSyntaxError` if it fails."""
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("the condition is empty")
    if len(text) > MAX_CHARS:
        raise RuleSyntaxError(f"the condition is {len(text):,} characters long; the limit is {MAX_CHARS:,}")
    _check_tokens(text)
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        reason = str(first.get("description", "")) or str(exc).splitlines()[0]
        if reason.startswith("Required keyword"):
            reason = "the expression is incomplete"
        raise RuleSyntaxError(f"cannot parse the condition: {reason}", first.get("col")) from exc
    except (TokenError, RecursionError) as exc:
        raise RuleSyntaxError(f"cannot parse the condition: {exc}") from exc
    if not isinstance(tree, exp.Expression):
        raise RuleSyntaxError("cannot parse the condition")
    checker = _Checker(fields)
    kind = checker.type_of(tree)
    if kind not in (FieldType.BOOLEAN.value, _NULL):
        raise RuleSyntaxError(f"the condition must be true or false, but it gives a {kind}", 1)
    return Condition(text=text, tree=tree, names=frozenset(checker.names))
