"""The rule condition language: SQL-like boolean expressions, parsed by sqlglot and checked on an allow-list.

Pure: text in, a checked tree (or a `RuleSyntaxError` naming the column) out. Nothing is executed or pasted
into SQL; `compile.py` turns the checked tree into an Ibis expression.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType  # type: ignore[attr-defined]

from churnradar.rule.exceptions import RuleSyntaxError

MAX_CHARS = 2_000
MAX_DEPTH = 24
MAX_NODES = 400
FUNCTIONS = ("abs", "coalesce", "greatest", "least")


class FieldType(StrEnum):
    """What a name in a condition holds."""

    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"


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
_KEYWORD_TOKENS: dict[type[exp.Expression], TokenType] = {
    exp.Null: TokenType.NULL,
    exp.Select: TokenType.SELECT,
    exp.Exists: TokenType.EXISTS,
    exp.Case: TokenType.CASE,
    exp.Star: TokenType.STAR,
    exp.Placeholder: TokenType.PLACEHOLDER,
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


def _end_of(node: exp.Expression) -> int | None:
    ends = [int(n.meta["end"]) for n in node.walk() if n.meta and "end" in n.meta]
    return max(ends) if ends else None


def _constant(node: exp.Expression) -> float | None:
    """The value of a number written without names (`0`, `-(1 - 1)`, `2 * 0.0`), else None."""
    if isinstance(node, exp.Paren):
        return _constant(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    if isinstance(node, exp.Neg):
        inner = _constant(node.this)
        return -inner if inner is not None else None
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        left, right = _constant(node.this), _constant(node.expression)
        if left is None or right is None:
            return None
        return (
            left + right
            if isinstance(node, exp.Add)
            else left - right
            if isinstance(node, exp.Sub)
            else left * right
        )
    return None


def control_character_error(text: str) -> str | None:
    """A message naming the first control character in `text` and its 1-based position, or None.

    Tabs and line breaks are layout; every other control character (NUL, escape, DEL, C1) is refused: it
    reads as nothing on screen, and a NUL breaks the engines a rule is run on.
    """
    position = first_control_character(text)
    if position is None:
        return None
    return f"control character U+{ord(text[position - 1]):04X} at position {position} is not allowed"


def first_control_character(text: str) -> int | None:
    """The 1-based position of the first control character other than tab and line breaks, or None."""
    return next(
        (i for i, c in enumerate(text, start=1) if c not in "\t\n\r" and unicodedata.category(c) == "Cc"),
        None,
    )


def _unreadable_at(text: str) -> int:
    """Where the tokenizer gave up: an unclosed quote or comment, else the end of the text (1-based)."""
    index = 0
    while index < len(text):
        char = text[index]
        if char in "'\"`" or text.startswith("/*", index):
            close = "*/" if char == "/" else char
            end = text.find(close, index + len(close))
            while close != "*/" and end != -1 and text.startswith(close * 2, end):  # '' inside a quote
                end = text.find(close, end + 2)
            if end == -1:
                return index + 1
            index = end + len(close)
            continue
        index += 1
    return len(text)


def _tokens(text: str) -> list[Any]:
    try:
        tokens: list[Any] = Tokenizer().tokenize(text)
    except TokenError as exc:
        raise RuleSyntaxError(
            "cannot read the condition: a quote or comment is not closed", _unreadable_at(text)
        ) from exc
    return tokens


def _check_tokens(tokens: Sequence[Any]) -> None:
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

    def __init__(
        self, fields: Mapping[str, FieldType], text: str, tree: exp.Expression, tokens: Sequence[Any]
    ) -> None:
        self.fields = {name.lower(): kind for name, kind in fields.items()}
        self.names: set[str] = set()
        self.nodes = 0
        self.text = text
        self.tree = tree
        self.tokens = tokens

    def token_column(self, node: exp.Expression) -> int | None:
        """The 1-based column of the token that makes `node` what it is: its operator or keyword."""
        if node.meta and "start" in node.meta:
            return int(node.meta["start"]) + 1
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Expression):
            node = node.this
        keyword = _KEYWORD_TOKENS.get(type(node))
        if keyword is not None:
            # The k-th node of its kind in reading order is the k-th token of its keyword.
            same = [n for n in self.tree.walk(bfs=False) if type(n) is type(node)]
            found = [t for t in self.tokens if t.token_type == keyword]
            k = next((i for i, n in enumerate(same) if n is node), len(found))
            if k < len(found):
                return int(found[k].start) + 1
        if isinstance(node, exp.Binary) and isinstance(node.this, exp.Expression):
            left_end = _end_of(node.this)
            if left_end is not None:
                after = (t for t in self.tokens if t.start > left_end and t.token_type != TokenType.R_PAREN)
                operator = next(after, None)
                if operator is not None:
                    return int(operator.start) + 1
        return _column_of(node) or self._after_previous(node)

    def _after_previous(self, node: exp.Expression) -> int | None:
        # A node sqlglot left without positions starts at the first token after whatever precedes it in
        # reading order (the tree in pre-order), or at the first token.
        before: list[int] = []
        for seen in self.tree.walk(bfs=False):
            if seen is node:
                break
            if seen.meta and "end" in seen.meta:
                before.append(int(seen.meta["end"]))
        end = max(before, default=-1)
        token = next((t for t in self.tokens if t.start > end), None)
        return int(token.start) + 1 if token is not None else (self.tokens[0].start + 1 if self.tokens else 1)

    def start_column(self, node: exp.Expression) -> int | None:
        """The 1-based column where `node` starts (its first name or value), else its own token."""
        return _column_of(node) or self.token_column(node)

    def type_of(self, node: exp.Expression, depth: int = 0) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise RuleSyntaxError(
                f"the condition is too long (more than {MAX_NODES} parts)", self.start_column(node)
            )
        if depth > MAX_DEPTH:
            raise RuleSyntaxError(
                f"the condition is nested too deeply (more than {MAX_DEPTH} levels)", self.start_column(node)
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
            raise RuleSyntaxError("NULL can only be used as IS NULL or IS NOT NULL", self.token_column(node))
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
            if isinstance(node, exp.Div | exp.Mod) and _constant(node.expression) == 0:
                raise RuleSyntaxError("division by zero", self.token_column(node))
            return FieldType.NUMBER.value
        if isinstance(node, _COMPARISONS):
            return self._comparison(node, depth)
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise RuleSyntaxError("IS may only be followed by NULL or NOT NULL", self.start_column(node))
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
                f"unknown function {name!r}", self.token_column(node), f"; allowed: {', '.join(FUNCTIONS)}"
            )
        column = self.token_column(node)
        word = next((w for t, w in _NODE_WORDS.items() if isinstance(node, t)), None)
        if word is None:
            # An operator reads best as the reader wrote it ('>>'), other nodes by their kind.
            right = _column_of(node.expression) if isinstance(node, exp.Binary) else None
            written = self.text[column - 1 : right - 1].strip() if column and right and right > column else ""
            word = repr(written[:20]) if written else type(node).__name__.upper()
        raise RuleSyntaxError(f"{word} is not allowed in a condition", column)

    def _column(self, node: exp.Column) -> str:
        column = _column_of(node)
        if node.table:
            # The offending token is the dot that qualifies the name, not the name before it.
            first = column or 1
            dot = next((t for t in self.tokens if t.start >= first and t.token_type == TokenType.DOT), None)
            raise RuleSyntaxError(
                f"qualified names such as {node.sql()!r} are not allowed",
                int(dot.start) + 1 if dot is not None else column,
            )
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
            raise RuleSyntaxError(
                f"{operator} needs a {kind.value} here, not a {found}", self.start_column(node)
            )

    def _compatible(self, kinds: set[str], node: exp.Expression, what: str) -> None:
        kinds.discard(_NULL)
        if len(kinds) > 1:
            raise RuleSyntaxError(
                f"{what} compares a {' with a '.join(sorted(kinds))}", self.start_column(node)
            )

    def _comparison(self, node: exp.Expression, depth: int) -> str:
        if isinstance(node, exp.EQ | exp.NEQ) and isinstance(node.expression, exp.Null):
            raise RuleSyntaxError(
                "use IS NULL / IS NOT NULL to test for a missing value", self.start_column(node)
            )
        kinds = {self.type_of(node.this, depth + 1), self.type_of(node.expression, depth + 1)}
        self._compatible(kinds, node, "the comparison")
        if FieldType.BOOLEAN.value in kinds and not isinstance(node, exp.EQ | exp.NEQ):
            raise RuleSyntaxError(
                "true/false values can only be compared with = or <>", self.start_column(node)
            )
        return FieldType.BOOLEAN.value

    def _in(self, node: exp.In, depth: int) -> str:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise RuleSyntaxError("IN takes a list of values, not a query", self.start_column(node))
        values = node.expressions
        if not values or len(values) > 200:
            raise RuleSyntaxError("IN needs between 1 and 200 values", self.start_column(node))
        for value in values:
            if not isinstance(value, exp.Literal | exp.Neg | exp.Boolean):
                raise RuleSyntaxError("IN takes literal values only", self.start_column(value))
        kinds = {self.type_of(node.this, depth + 1), *(self.type_of(v, depth + 1) for v in values)}
        self._compatible(kinds, node, "IN")
        return FieldType.BOOLEAN.value

    def _function(self, node: exp.Expression, depth: int) -> str:
        name = _FUNCTION_NODES[type(node)]
        args = [a for a in [node.this, *node.expressions] if a is not None]
        kinds = {self.type_of(a, depth + 1) for a in args}
        if name in ("abs", "greatest", "least") and kinds - {FieldType.NUMBER.value, _NULL}:
            raise RuleSyntaxError(f"{name}() takes numbers", self.start_column(node))
        self._compatible(set(kinds), node, f"{name}()")
        kinds.discard(_NULL)
        return kinds.pop() if kinds else _NULL


def _error_column(error: Mapping[str, Any], tokens: Sequence[Any], text: str) -> int:
    """The 1-based column in the whole text of the token sqlglot stopped at (it counts per line, at the
    token's end)."""
    line, col = error.get("line"), error.get("col")
    token = next((t for t in tokens if t.line == line and t.col == col), None)
    if token is not None:
        return int(token.start) + 1
    if isinstance(line, int) and isinstance(col, int):
        before = sum(len(part) + 1 for part in text.split("\n")[: max(line - 1, 0)])
        return min(before + max(col - len(str(error.get("highlight", "")) or " ") + 1, 1), len(text))
    return len(text)


def parse_condition(text: str, fields: Mapping[str, FieldType]) -> Condition:
    """Check `text` against the allowed names (`fields`) and language; raise `RuleSyntaxError` if it fails."""
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("the condition is empty")
    if len(text) > MAX_CHARS:
        raise RuleSyntaxError(
            f"the condition is {len(text):,} characters long; the limit is {MAX_CHARS:,}", MAX_CHARS + 1
        )
    control = first_control_character(text)
    if control is not None:
        raise RuleSyntaxError(f"control character U+{ord(text[control - 1]):04X} is not allowed", control)
    tokens = _tokens(text)
    _check_tokens(tokens)
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        reason = str(first.get("description", "")) or str(exc).splitlines()[0]
        if reason.startswith("Required keyword"):
            reason = "the expression is incomplete"
        raise RuleSyntaxError(
            f"cannot parse the condition: {reason}", _error_column(first, tokens, text)
        ) from exc
    except (TokenError, RecursionError) as exc:
        raise RuleSyntaxError(f"cannot parse the condition: {exc}", _unreadable_at(text)) from exc
    if not isinstance(tree, exp.Expression):
        raise RuleSyntaxError("cannot parse the condition", 1)
    checker = _Checker(fields, text, tree, tokens)
    kind = checker.type_of(tree)
    if kind not in (FieldType.BOOLEAN.value, _NULL):
        raise RuleSyntaxError(f"the condition must be true or false, but it gives a {kind}", 1)
    return Condition(text=text, tree=tree, names=frozenset(checker.names))
