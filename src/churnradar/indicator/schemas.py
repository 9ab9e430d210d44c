"""Typed indicator definitions: a few computation templates, instantiated with parameters from YAML.

Like fight-churn's metric templates (`metric_over_period`, `metric_ratio`, `metric_days_since_last`), each
definition names a `template` and gives its parameters; the compiler turns them into Ibis expressions and a
plain-Python reference in the tests reads the very same models. `family` is the business family (activity,
orders, ...) a definition belongs to, used for grouping in reports and the dashboard.

Null versus zero, per template (every customer gets a row for every as-of date):
- window `count`, `sum`, `distinct`, `active_days`: 0 when no event falls in the window;
  `mean`, `median`, `min`, `max`: null when no event falls in the window.
- share: null when the window holds no event to take a share of.
- days_since, last_value, gap_vs_median: null when there is no such event before the as-of date
  (gap_vs_median also when fewer than two events, or a median gap of zero, fall in its history window).
- days_to_contract_end: null for a customer without a contract started before the as-of date.
- invoices: `overdue_count` and `max_days_overdue` 0 without overdue invoices; `late_share` null without
  invoices due before the as-of date.
- ratio, pct_change: null when the denominator is null or zero (a customer with a zero baseline);
  difference: null when either side is null.
- flag: 1 when every condition holds, else 0; a condition on a null value does not hold.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from churnradar import i18n

SLUG = r"^[a-z][a-z0-9_]*$"
EventField = Literal["amount", "value", "quantity", "channel", "direction", "text", "user", "kind"]
NUMERIC_FIELDS = ("amount", "value", "quantity")


class Family(StrEnum):
    """The seven business families of warning indicators."""

    ACTIVITY = "activity"
    ORDERS = "orders"
    COMPLAINTS = "complaints"
    RESPONSE = "response"
    USAGE = "usage"
    COMPETITOR = "competitor"
    CONTRACT = "contract"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test on an event column: `value <= 6`, `text contains_any [..]`, `value is_null`."""

    field: EventField
    op: Literal["=", "!=", "<", "<=", ">", ">=", "in", "contains_any", "is_null", "not_null"]
    value: float | str | list[str] | None = None

    @model_validator(mode="after")
    def _operand_fits(self) -> Condition:
        if self.op in ("is_null", "not_null"):
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
        elif self.op in ("in", "contains_any"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"{self.op} needs a non-empty list of strings")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"{self.op} needs a single number or string")
        elif self.op in ("<", "<=", ">", ">=") and not isinstance(self.value, float | int):
            raise ValueError(f"{self.op} compares with a number")
        return self


class Selection(_Strict):
    """Which events count: their kinds, and conditions they all must meet."""

    kinds: list[str] = Field(min_length=1)
    where: list[Condition] = []


class Window(_Strict):
    """The period [as_of - offset_days - days, as_of - offset_days), in local calendar days."""

    days: int | None = Field(default=None, ge=1)  # None: all history before the as-of date
    offset_days: int = Field(default=0, ge=0)


class WindowAgg(Selection, Window):
    """count / sum / mean / median / min / max / distinct / active_days of events in a window."""

    template: Literal["window"] = "window"
    agg: Literal["count", "sum", "mean", "median", "min", "max", "distinct", "active_days"]
    field: EventField | None = None
    per_days: float | None = Field(default=None, gt=0)  # a rate: value * per_days / days
    scale: float = 1.0  # e.g. 1 / number of listed deep features, for an adoption share
    # A reply time in `value` (hours) is only known once the reply came: count it only if it came in time.

    known_after_value_hours: bool = False

    @model_validator(mode="after")
    def _fits(self) -> WindowAgg:
        if self.agg in ("sum", "mean", "median", "min", "max") and self.field not in NUMERIC_FIELDS:
            raise ValueError(f"agg {self.agg} needs a numeric field ({', '.join(NUMERIC_FIELDS)})")
        if self.agg == "distinct" and self.field is None:
            raise ValueError("agg distinct needs a field")
        if self.per_days is not None and self.days is None:
            raise ValueError("per_days (a rate) needs a window length in days")
        return self


class Share(Selection, Window):
    """Share of the window's selected events matching any of `match_any` (each a list of ANDed tests)."""

    template: Literal["share"] = "share"
    match_any: list[list[Condition]] = Field(min_length=1)


class DaysSince(Selection):
    """Whole days from the last selected event to the as-of instant."""

    template: Literal["days_since"] = "days_since"


class LastValue(Selection):
    """The numeric field of the last selected event before the as-of date (ties: the largest value)."""

    template: Literal["last_value"] = "last_value"
    field: Literal["amount", "value", "quantity"] = "value"


class GapVsMedian(Selection):
    """Days since the last event / the median gap between consecutive events in the history window."""

    template: Literal["gap_vs_median"] = "gap_vs_median"
    history_days: int = Field(default=365, ge=1)


class DaysToContractEnd(_Strict):
    """Days from the as-of date to the latest end date of contracts started before it (negative: lapsed)."""

    template: Literal["days_to_contract_end"] = "days_to_contract_end"


class Invoices(_Strict):
    """Invoices at the as-of date: how many are overdue, the most days overdue, the share paid late."""

    template: Literal["invoices"] = "invoices"
    measure: Literal["overdue_count", "max_days_overdue", "late_share"]


class Ratio(_Strict):
    """numerator / denominator, two other indicators."""

    template: Literal["ratio"] = "ratio"
    numerator: str
    denominator: str


class PctChange(_Strict):
    """(current - baseline) / baseline * 100; `drop: true` gives (baseline - current) / baseline * 100."""

    template: Literal["pct_change"] = "pct_change"
    current: str
    baseline: str
    drop: bool = False


class Difference(_Strict):
    """current - baseline."""

    template: Literal["difference"] = "difference"
    current: str
    baseline: str


class Check(_Strict):
    """One test on another indicator's value."""

    indicator: str
    op: Literal["=", "!=", "<", "<=", ">", ">=", "between"]
    value: float | tuple[float, float]


class Flag(_Strict):
    """1 when every test on other indicators holds, else 0."""

    template: Literal["flag"] = "flag"
    all_of: list[Check] = Field(min_length=1)


Params = Annotated[
    WindowAgg
    | Share
    | DaysSince
    | LastValue
    | GapVsMedian
    | DaysToContractEnd
    | Invoices
    | Ratio
    | PctChange
    | Difference
    | Flag,
    Field(discriminator="template"),
]
DERIVED = (Ratio, PctChange, Difference, Flag)


class Indicator(_Strict):
    """One indicator: its stable slug, names, unit, family and the template parameters that compute it."""

    slug: str = Field(pattern=SLUG, max_length=64)
    name_en: str
    # A built-in indicator's Chinese name is the catalog's translation of name_en; a user's own definition
    # file may write it (data, kept as written).
    name_zh: str = ""
    unit: str
    family: Family
    description: str = ""
    # The description in Chinese, when written (a user's definition); else the catalog's translation.
    description_zh: str = ""
    params: Params

    @field_validator("name_en", "unit")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="before")
    @classmethod
    def _chinese_name(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("name_en"), str) and not data.get("name_zh"):
            return {**data, "name_zh": i18n.translate(data["name_en"], "zh_CN")}
        return data

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Slugs of the indicators this one is computed from (derived templates only)."""
        p = self.params
        if isinstance(p, Ratio):
            return (p.numerator, p.denominator)
        if isinstance(p, PctChange | Difference):
            return (p.current, p.baseline)
        if isinstance(p, Flag):
            return tuple(dict.fromkeys(t.indicator for t in p.all_of))
        return ()

    @property
    def derived(self) -> bool:
        """Whether this indicator is computed from other indicators rather than from data."""
        return isinstance(self.params, DERIVED)
