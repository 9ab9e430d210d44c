"""The reason formatter: what it shows, the exact messages for what it refuses, and hostile templates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnradar.rule.exceptions import ReasonError
from churnradar.rule.language import FieldType
from churnradar.rule.reasons import MISSING, check_reason, render_reason

FIELDS = {
    "activity_drop_pct": FieldType.NUMBER,
    "login_days_30d": FieldType.NUMBER,
    "share": FieldType.NUMBER,
    "amount": FieldType.NUMBER,
    "tier": FieldType.TEXT,
}
VALUES = {
    "activity_drop_pct": 62.4,
    "login_days_30d": 3.0,
    "share": 0.125,
    "amount": 1234567.891,
    "tier": "high",
}


COMPLAINTS = "{login_days_30d, plural, =0 {no complaint} one {# complaint} other {# complaints}} in 90 days"


class TestPlural:
    @pytest.mark.parametrize(
        ("value", "locale", "expected"),
        [
            pytest.param(0.0, "en", "no complaint in 90 days", id="exact_zero"),
            pytest.param(1.0, "en", "1 complaint in 90 days", id="one"),
            pytest.param(1.4, "en", "1 complaint in 90 days", id="one_as_shown"),
            pytest.param(3.0, "en", "3 complaints in 90 days", id="other"),
            pytest.param(1.0, "zh_CN", "1 complaints in 90 days", id="chinese_has_one_form"),
            pytest.param(None, "en", f"{MISSING} complaints in 90 days", id="missing"),
        ],
    )
    def test_form_follows_the_number_shown(self, value: float | None, locale: str, expected: str) -> None:
        assert render_reason(COMPLAINTS, {"login_days_30d": value}, locale) == expected

    def test_form_holds_placeholders_and_a_format(self) -> None:
        text = "{share:.1f, plural, one {# day ({tier})} other {# days ({tier})}} and {amount:,.0f}"
        assert check_reason(text, FIELDS) == ["share", "tier", "tier", "amount"]
        shown = render_reason(text, {"share": 1.0, "tier": "high", "amount": 2e3})
        assert shown == "1.0 days (high) and 2,000"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param(
                "x {share, plural, one {# day}}",
                "{share, plural, ...} at column 3: a plural needs an other {...} form",
                id="no_other",
            ),
            pytest.param(
                "{share, plural, several {#} other {#}}",
                "{share, plural, ...} at column 1: unknown form 'several' at column 17; "
                "use zero, one, two, few, many, other or =N",
                id="unknown_form",
            ),
            pytest.param(
                "{share, plural, other {# days}",
                "{share, plural, ...} at column 1: the plural is not closed; end it with }",
                id="unclosed",
            ),
            pytest.param(
                "{tier, plural, other {#}}",
                "{tier, plural, ...} at column 1: a plural needs a number; 'tier' is a text",
                id="text_field",
            ),
            pytest.param(
                "{share, plural, other {{logins} days}}",
                "{share, plural, ...} at column 1, form 'other': "
                "{logins}: unknown indicator or field 'logins'",
                id="unknown_inside",
            ),
        ],
    )
    def test_refuses_with_the_column(self, text: str, message: str) -> None:
        with pytest.raises(ReasonError) as caught:
            check_reason(text, FIELDS)
        assert str(caught.value) == message


class TestRender:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("plain words", "plain words", id="no_placeholder"),
            pytest.param("down {activity_drop_pct:.0f}%", "down 62%", id="fixed"),
            pytest.param("{share:.1%} negative", "12.5% negative", id="percent"),
            pytest.param("{amount:,.0f}", "1,234,568", id="thousands"),
            pytest.param("{activity_drop_pct:+.1f}", "+62.4", id="sign"),
            pytest.param("{login_days_30d}", "3.0", id="no_spec"),
            pytest.param("{tier} tier", "high tier", id="text"),
            pytest.param("{TIER}", "high", id="case_insensitive"),
            pytest.param("{{literal}} {tier}", "{literal} high", id="escaped_braces"),
            pytest.param(
                "登录天数较基线下降 {activity_drop_pct:.0f}%（近30天 {login_days_30d:.0f} 天）",
                "登录天数较基线下降 62%（近30天 3 天）",
                id="chinese",
            ),
        ],
    )
    def test_renders(self, text: str, expected: str) -> None:
        assert check_reason(text, FIELDS) is not None
        assert render_reason(text, VALUES) == expected

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(None, id="none"),
            pytest.param(float("nan"), id="nan"),
            pytest.param(np.float64("nan"), id="numpy_nan"),
            pytest.param(pd.NA, id="pandas_na"),
            pytest.param(pd.NaT, id="pandas_nat"),
        ],
    )
    def test_missing_value_shows_a_dash(self, value: object) -> None:
        assert (
            render_reason("近30天 {login_days_30d:.0f} 天", {"login_days_30d": value})
            == f"近30天 {MISSING} 天"
        )

    def test_absent_name_shows_a_dash(self) -> None:
        assert render_reason("{login_days_30d:.0f} days", {}) == f"{MISSING} days"

    def test_numpy_and_int_values_are_numbers(self) -> None:
        values = {"a": np.float64(2.5), "b": np.int64(7), "c": 3}
        assert render_reason("{a:.1f} {b:.0f} {c:.2f}", values) == "2.5 7 3.00"

    def test_text_where_a_number_was_expected_is_shown_plainly(self) -> None:
        assert render_reason("{login_days_30d:.0f} days", {"login_days_30d": "many"}) == "many days"

    def test_series_row_works_as_values(self) -> None:
        row = pd.Series({"activity_drop_pct": 50.0, "tier": "low"})
        assert render_reason("{tier}: {activity_drop_pct:.0f}%", row) == "low: 50%"

    def test_objects_never_reach_format(self) -> None:
        class Hostile:
            def __format__(self, spec: str) -> str:
                raise AssertionError("format() was called on a user object")

            def __str__(self) -> str:
                return "hostile"

        assert render_reason("{x:.0f}", {"x": Hostile()}) == "hostile"


HOSTILE = [
    pytest.param(
        "{x.__class__.__mro__}",
        "{x.__class__.__mro__}: only plain names are allowed, no attributes or indexes",
        id="attribute",
    ),
    pytest.param("{x[0]}", "{x[0]}: only plain names are allowed, no attributes or indexes", id="index"),
    pytest.param(
        "{tier.upper}", "{tier.upper}: only plain names are allowed, no attributes or indexes", id="method"
    ),
    pytest.param("{x!r}", "{x!r}: conversions such as !r are not allowed", id="conversion"),
    pytest.param("{x!s:>10}", "{x!s:>10}: conversions such as !s are not allowed", id="conversion_spec"),
    pytest.param("{0}", "{0}: name the value to show, e.g. {activity_drop_pct}", id="positional"),
    pytest.param("{}", "{}: name the value to show, e.g. {activity_drop_pct}", id="auto_numbered"),
    pytest.param("{x:{y}}", "{x:{y}}: unsupported format '{y}'; use e.g. .0f, .1f, .0%", id="nested"),
    pytest.param(
        "{x:>999999999}", "{x:>999999999}: unsupported format '>999999999'; use e.g. .0f, .1f, .0%", id="huge"
    ),
    pytest.param(
        "{x:.100f}", "{x:.100f}: unsupported format '.100f'; use e.g. .0f, .1f, .0%", id="precision"
    ),
    pytest.param(
        "down {x",
        "cannot read the placeholders: expected '}' before end of string; write {{ and }} for a brace",
        id="unclosed",
    ),
    pytest.param(
        "a } b",
        "cannot read the placeholders: Single '}' encountered in format string; write {{ and }} for a brace",
        id="stray_close",
    ),
]


class TestRefuse:
    @pytest.mark.parametrize(("text", "message"), HOSTILE)
    def test_check_refuses(self, text: str, message: str) -> None:
        with pytest.raises(ReasonError) as caught:
            check_reason(text, {"x": FieldType.NUMBER, "y": FieldType.NUMBER, "tier": FieldType.TEXT})
        assert str(caught.value) == message

    @pytest.mark.parametrize(("text", "message"), HOSTILE)
    def test_render_refuses_too(self, text: str, message: str) -> None:
        with pytest.raises(ReasonError) as caught:
            render_reason(text, {"x": 1.0, "y": 2.0, "tier": "high"})
        assert str(caught.value) == message

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param(
                "{logins:.0f}", "{logins:.0f}: unknown indicator or field 'logins'", id="unknown_name"
            ),
            pytest.param(
                "{tier:.0f}", "{tier:.0f}: format '.0f' does not fit a text", id="number_spec_on_text"
            ),
            pytest.param(
                "{share:s}", "{share:s}: format 's' does not fit a number", id="text_spec_on_number"
            ),
            pytest.param("{amount:,s}", "{amount:,s}: format ',s' does not fit a number", id="comma_on_text"),
        ],
    )
    def test_check_only(self, text: str, message: str) -> None:
        with pytest.raises(ReasonError) as caught:
            check_reason(text, FIELDS)
        assert str(caught.value) == message

    def test_too_long(self) -> None:
        with pytest.raises(ReasonError, match="the limit is 2,000"):
            check_reason("x" * 2_001, FIELDS)

    def test_check_lists_the_names_shown(self) -> None:
        assert check_reason("{tier} {activity_drop_pct:.0f} {tier}", FIELDS) == [
            "tier",
            "activity_drop_pct",
            "tier",
        ]
