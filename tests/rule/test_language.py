"""The rule condition language: what it accepts, the exact messages for what it refuses, and fuzzing."""

from __future__ import annotations

import contextlib

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnradar.rule.compile import compile_condition
from churnradar.rule.exceptions import RuleSyntaxError
from churnradar.rule.language import MAX_CHARS, FieldType, parse_condition

FIELDS = {
    "logins_30d": FieldType.NUMBER,
    "complaints_90d": FieldType.NUMBER,
    "renewal_intent": FieldType.NUMBER,
    "tier": FieldType.TEXT,
    "industry": FieldType.TEXT,
}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("logins_30d > 30 AND tier = 'high'", {"logins_30d", "tier"}, id="and"),
        pytest.param(
            "complaints_90d > 3 OR renewal_intent < 0.3", {"complaints_90d", "renewal_intent"}, id="or"
        ),
        pytest.param("NOT (tier IN ('high', 'medium'))", {"tier"}, id="not_in"),
        pytest.param("logins_30d BETWEEN 1 AND 5", {"logins_30d"}, id="between"),
        pytest.param(
            "renewal_intent IS NULL OR renewal_intent IS NOT NULL", {"renewal_intent"}, id="is_null"
        ),
        pytest.param(
            "(logins_30d + complaints_90d) * 2 / 3 - 1 >= -4", {"logins_30d", "complaints_90d"}, id="math"
        ),
        pytest.param(
            "coalesce(renewal_intent, 0) < least(0.3, greatest(abs(logins_30d), 0.1))",
            {"renewal_intent", "logins_30d"},
            id="functions",
        ),
        pytest.param("LOGINS_30D > 1 and Tier = 'High'", {"logins_30d", "tier"}, id="case_insensitive"),
    ],
)
def test_accepted(text: str, names: set[str]) -> None:
    assert parse_condition(text, FIELDS).names == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "logins_30 > 3",
            "unknown indicator or field 'logins_30' at column 1; did you mean 'logins_30d'?",
            id="unknown_with_hint",
        ),
        pytest.param("tier = 'x' AND zzz > 1", "unknown indicator or field 'zzz' at column 16", id="unknown"),
        pytest.param(
            "sleep(5) > 1",
            "unknown function 'sleep' at column 1; allowed: abs, coalesce, greatest, least",
            id="unknown_function",
        ),
        pytest.param(
            "tier = 'a'; DROP TABLE customers",
            "';' is not allowed: a condition is one expression at column 11",
            id="statement_after",
        ),
        pytest.param("logins_30d > (SELECT 1)", "a subquery is not allowed in a condition", id="subquery"),
        pytest.param(
            "tier IN (SELECT tier FROM customers)",
            "IN takes a list of values, not a query at column 1",
            id="in_subquery",
        ),
        pytest.param(
            "tier > 3", "the comparison compares a number with a text at column 1", id="type_mismatch"
        ),
        pytest.param(
            "logins_30d + 1",
            "the condition must be true or false, but it gives a number at column 1",
            id="not_boolean",
        ),
        pytest.param(
            "tier = NULL",
            "use IS NULL / IS NOT NULL to test for a missing value at column 1",
            id="equals_null",
        ),
        pytest.param("", "the condition is empty", id="empty"),
        pytest.param("NOT NULL", "NULL can only be used as IS NULL or IS NOT NULL", id="bare_null"),
        pytest.param(
            "logins_30d >", "cannot parse the condition: the expression is incomplete", id="incomplete"
        ),
        pytest.param(
            "c.tier = 'x'", "qualified names such as 'c.tier' are not allowed at column 2", id="qualified"
        ),
        pytest.param("tier LIKE '%a%'", "LIKE is not allowed in a condition", id="like"),
        pytest.param("CAST(tier AS INT) > 1", "unknown function 'cast' at column 6", id="cast"),
        pytest.param("abs(tier) > 1", "abs() takes numbers", id="abs_text"),
        pytest.param(
            "x" * (MAX_CHARS + 1),
            f"the condition is {MAX_CHARS + 1:,} characters long; the limit is 2,000",
            id="too_long",
        ),
        pytest.param(
            "(" * 60 + "logins_30d > 1" + ")" * 60, "the condition is nested too deeply", id="too_deep"
        ),
    ],
)
def test_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text, FIELDS)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "attack",
    [
        "1=1; DELETE FROM customers",
        "tier = '' OR 1=1; --",
        "tier = 'x' UNION SELECT password_hash FROM users",
        "__import__('os').system('id')",
        "logins_30d > 0 AND pg_sleep(10) IS NULL",
        "tier = 'a' /* comment */ OR read_csv('/etc/passwd') IS NOT NULL",
        "EXISTS (SELECT 1)",
        "tier = $1",
    ],
)
def test_injection_attempts_are_refused(attack: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse_condition(attack, FIELDS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_text_never_crashes(text: str) -> None:
    with contextlib.suppress(RuleSyntaxError):
        parse_condition(text, FIELDS)


TOKENS = [
    "logins_30d",
    "tier",
    "'high'",
    "3",
    "0.5",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    ">",
    "=",
    "<=",
    "+",
    "*",
    "IN",
    "BETWEEN",
    "IS",
    "NULL",
    ",",
    "abs",
    "coalesce",
    ";",
    "SELECT",
    "--",
    "'",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_random_token_soup_is_checked_or_refused(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        condition = parse_condition(text, FIELDS)
    except RuleSyntaxError:
        return
    table = ibis.memtable(
        pd.DataFrame(
            {
                name: pd.Series([], dtype="float64" if kind is FieldType.NUMBER else "object")
                for name, kind in FIELDS.items()
            }
        )
    )
    compile_condition(condition, table, FIELDS)  # everything accepted also compiles


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("logins_30d >> 3", "'>>' is not allowed in a condition at column 12", id="shift"),
        pytest.param("logins_30d > 3.5.2", "'.' is not allowed in a condition at column 17", id="stray_dot"),
        pytest.param(
            "logins_30d . 3 > 1",
            "qualified names such as 'logins_30d.3' are not allowed at column 12",
            id="dot",
        ),
        pytest.param(
            "x' OR 1=1 --",
            "cannot read the condition: a quote or comment is not closed at column 2",
            id="unclosed_quote",
        ),
        pytest.param(
            "tier = 'a' /* note",
            "cannot read the condition: a quote or comment is not closed at column 12",
            id="unclosed_comment",
        ),
        pytest.param(
            "logins_30d > 3\nAND .",
            "cannot parse the condition: the expression is incomplete at column 20",
            id="second_line",
        ),
        pytest.param("NOT NULL", "NULL can only be used as IS NULL or IS NOT NULL at column 5", id="null"),
        pytest.param("tier LIKE '%a%'", "LIKE is not allowed in a condition at column 6", id="like"),
        pytest.param(
            "logins_30d > 1 AND tier = ?", "a placeholder is not allowed in a condition at column 27", id="ph"
        ),
        pytest.param(
            "logins_30d > (SELECT 1)", "a subquery is not allowed in a condition at column 15", id="sub"
        ),
    ],
)
def test_errors_name_the_column_of_the_offending_token(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text, FIELDS)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "column", "code"),
    [
        pytest.param("logins_30d > 3\x00", 15, "U+0000", id="nul_at_end"),
        pytest.param("tier = 'a\x00b'", 10, "U+0000", id="nul_in_literal"),
        pytest.param("tier = 'a\x1bb'", 10, "U+001B", id="escape"),
        pytest.param("tier = 'a\x7f'", 10, "U+007F", id="delete"),
        pytest.param("tier\x85= 'a'", 5, "U+0085", id="c1"),
    ],
)
def test_control_characters_are_refused_with_their_position(text: str, column: int, code: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_condition(text, FIELDS)
    assert str(caught.value) == f"control character {code} is not allowed at column {column}"


def test_tabs_and_line_breaks_are_layout() -> None:
    assert parse_condition("logins_30d > 3\r\n\tAND tier = 'high'", FIELDS).names == {"logins_30d", "tier"}


def _assert_column_inside(text: str) -> None:
    error: RuleSyntaxError | None = None
    try:
        parse_condition(text, FIELDS)
    except RuleSyntaxError as exc:
        error = exc
    if error is not None:
        assert error.column is not None, str(error)
        assert 1 <= error.column <= len(text) + 1, str(error)
        assert len(str(error)) <= 600


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=120).filter(str.strip))
def test_every_refusal_names_a_column_inside_the_text(text: str) -> None:
    _assert_column_inside(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "logins_30d",
                "tier",
                "'high'",
                "3",
                ">",
                ">>",
                "=",
                ".",
                "(",
                ")",
                "AND",
                "OR",
                "NOT",
                "NULL",
                "IS",
                "IN",
                ",",
                "*",
                "+",
                "|",
                "'",
                "--",
                "abs",
                "sleep",
                "\n",
                "?",
                "::",
                "~",
                "SELECT",
            ]
        ),
        min_size=1,
        max_size=12,
    )
    .map(" ".join)
    .filter(str.strip)
)
def test_every_refusal_of_near_miss_conditions_names_a_column(text: str) -> None:
    _assert_column_inside(text)
