"""Custom indicators without code: a user's definition, checked whole, compiled into the built-in templates.

A definition names event kinds, a filter, an aggregate and a window; optionally it compares the window with
the customer's own window just before it (a ratio, or a change in percent). It becomes one or three
`Indicator`s of the existing templates (window, last_value, days_since, ratio, pct_change), so the one
compiler computes it like any built-in and no user text ever reaches SQL other than as a bound value.

    - name: visits_60d
      name_en: Visits in the last 60 days
      name_zh: (the same name in Chinese)
      unit: visits
      events: [visit]
      filter: {channel: [onsite], text_contains_any: [renewal]}
      aggregate: count
      window_days: 60
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from churnradar import i18n
from churnradar.indicator.exceptions import DefinitionError
from churnradar.indicator.schemas import (
    SLUG,
    Condition,
    DaysSince,
    Family,
    Indicator,
    LastValue,
    PctChange,
    Ratio,
    WindowAgg,
)

# The event kinds churnradar knows (the import accepts these; the built-in definitions read them).
EVENT_KINDS = (
    "order", "payment", "communication", "ticket", "complaint", "survey", "login", "feature_use",
    "competitor_signal", "renewal_intent", "balance", "return", "visit",
)  # fmt: skip
MAX_WINDOW_DAYS = 3650
MAX_KEYWORDS = 100
MAX_TEXT = 200
# What the two helper columns of a comparison are called after the indicator's own name.
THIS_WINDOW = i18n.msg("this window")
WINDOW_BEFORE = i18n.msg("window before")
Aggregate = Literal[
    "count", "distinct_days", "sum", "mean", "median", "min", "max", "latest", "days_since_last"
]
_WINDOW_AGGS = {"count": "count", "distinct_days": "active_days", "sum": "sum", "mean": "mean",
                "median": "median", "min": "min", "max": "max"}  # fmt: skip
# Event columns an attribute test may name (the lake keeps these as columns).
ATTRIBUTES = ("user", "channel", "direction", "kind")


def _plain(value: str) -> str:
    """Refuse control characters (hostile or pasted text) in a name, unit, keyword or value."""
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\t":
            raise ValueError(f"control character U+{ord(char):04X} at character {position}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributeTest(_Strict):
    """An event attribute equal to a value."""

    name: Literal["user", "channel", "direction", "kind"]
    equals: str = Field(min_length=1, max_length=MAX_TEXT)

    _text = field_validator("equals")(_plain)


class Filter(_Strict):
    """Which events of the kinds count: every test given must hold."""

    channel: list[str] | None = Field(default=None, min_length=1, max_length=50)
    direction: Literal["inbound", "outbound"] | None = None
    text_contains_any: list[str] | None = Field(default=None, min_length=1, max_length=MAX_KEYWORDS)
    value_min: float | None = None
    value_max: float | None = None
    attribute: AttributeTest | None = None

    @field_validator("channel", "text_contains_any", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("channel", "text_contains_any")
    @classmethod
    def _words(cls, value: list[str] | None) -> list[str] | None:
        for position, word in enumerate(value or [], start=1):
            if not word.strip() or len(word) > MAX_TEXT:
                raise ValueError(f"item {position} must be 1 to {MAX_TEXT} characters")
            try:
                _plain(word)
            except ValueError as exc:
                raise ValueError(f"item {position}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _range(self) -> Filter:
        if self.value_min is not None and self.value_max is not None and self.value_min > self.value_max:
            raise ValueError("value_min is above value_max")
        return self

    def conditions(self) -> list[Condition]:
        """The filter as the templates' event tests."""
        out: list[Condition] = []
        if self.channel:
            out.append(Condition(field="channel", op="in", value=list(self.channel)))
        if self.direction:
            out.append(Condition(field="direction", op="=", value=self.direction))
        if self.text_contains_any:
            out.append(Condition(field="text", op="contains_any", value=list(self.text_contains_any)))
        if self.value_min is not None:
            out.append(Condition(field="value", op=">=", value=self.value_min))
        if self.value_max is not None:
            out.append(Condition(field="value", op="<=", value=self.value_max))
        if self.attribute is not None:
            out.append(Condition(field=self.attribute.name, op="=", value=self.attribute.equals))
        return out


class CustomDefinition(_Strict):
    """One custom indicator as a user writes it (YAML, the API's JSON)."""

    name: str = Field(pattern=SLUG, min_length=2, max_length=48)
    name_en: str = Field(min_length=1, max_length=MAX_TEXT)
    name_zh: str = Field(min_length=1, max_length=MAX_TEXT)
    unit: str = Field(min_length=1, max_length=40)
    family: Family = Family.ACTIVITY
    description: str = Field(default="", max_length=1000)
    description_zh: str = Field(default="", max_length=1000)  # the description in Chinese (older: none)
    events: list[str] = Field(min_length=1, max_length=len(EVENT_KINDS))
    filter: Filter = Filter()
    aggregate: Aggregate
    field: Literal["value", "amount", "quantity"] = "value"
    window_days: int | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    compare: Literal["ratio", "change_pct"] | None = None

    _text = field_validator("name_en", "name_zh", "unit", "description", "description_zh")(_plain)

    @field_validator("events", mode="before")
    @classmethod
    def _event_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("events")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        for position, kind in enumerate(value, start=1):
            if kind not in EVENT_KINDS:
                shown = kind[:64]
                raise ValueError(
                    f"item {position}: unknown event kind {shown!r}; known: {', '.join(EVENT_KINDS)}"
                )
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _window_fits(self) -> CustomDefinition:
        windowed = self.aggregate in _WINDOW_AGGS
        if windowed and self.window_days is None:
            raise ValueError(f"aggregate {self.aggregate} needs window_days (1 to {MAX_WINDOW_DAYS})")
        if not windowed and self.window_days is not None:
            raise ValueError(f"aggregate {self.aggregate} reads all history before the date: no window_days")
        if self.compare is not None and not windowed:
            raise ValueError(f"compare needs a windowed aggregate, not {self.aggregate}")
        if (
            self.compare is not None
            and self.window_days is not None
            and 2 * self.window_days > MAX_WINDOW_DAYS
        ):
            raise ValueError(f"compare reads two windows: window_days at most {MAX_WINDOW_DAYS // 2}")
        return self

    def indicators(self) -> list[Indicator]:
        """The definition as template indicators, dependencies first; the last one is `name` itself."""
        meta: dict[str, Any] = {
            "name_en": self.name_en, "name_zh": self.name_zh, "unit": self.unit,
            "family": self.family, "description": self.description, "description_zh": self.description_zh,
        }  # fmt: skip
        where = self.filter.conditions()
        if self.aggregate == "latest":
            params: Any = LastValue(kinds=self.events, where=where, field=self.field)
            return [Indicator(slug=self.name, params=params, **meta)]
        if self.aggregate == "days_since_last":
            return [Indicator(slug=self.name, params=DaysSince(kinds=self.events, where=where), **meta)]
        agg = _WINDOW_AGGS[self.aggregate]
        numeric = agg in ("sum", "mean", "median", "min", "max")

        def window(offset: int) -> WindowAgg:
            return WindowAgg(
                kinds=self.events, where=where, agg=agg,
                field=self.field if numeric else None, days=self.window_days, offset_days=offset,
            )  # fmt: skip

        if self.compare is None:
            return [Indicator(slug=self.name, params=window(0), **meta)]
        days = self.window_days or 0
        now, before = f"{self.name}__now", f"{self.name}__before"

        def named(suffix: i18n.Message) -> dict[str, Any]:
            return {
                **meta,
                "name_en": f"{self.name_en} ({suffix.render('en')})",
                "name_zh": f"{self.name_zh}({suffix.render('zh_CN')})",
            }

        parts = [
            Indicator(slug=now, params=window(0), **named(THIS_WINDOW)),
            Indicator(slug=before, params=window(days), **named(WINDOW_BEFORE)),
        ]
        compared: Any = (
            Ratio(numerator=now, denominator=before)
            if self.compare == "ratio"
            else PctChange(current=now, baseline=before)
        )
        unit = "ratio" if self.compare == "ratio" else "%"
        return [*parts, Indicator(slug=self.name, params=compared, **{**meta, "unit": unit})]

    def slugs(self) -> list[str]:
        """Every slug the definition computes (its helpers for a comparison, then its own)."""
        return [i.slug for i in self.indicators()]


def _located(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "definition"
    return f"{where}: {error['msg']}"[:300]


def parse_definition(raw: Any, source: str = "definition") -> CustomDefinition:
    """One checked definition, or a DefinitionError naming each key that is wrong (at most 10)."""
    if not isinstance(raw, dict):
        raise DefinitionError(f"{source}: expected a mapping with name, events, aggregate, ...")
    try:
        return CustomDefinition.model_validate(raw)
    except ValidationError as exc:
        found = [_located(e) for e in exc.errors()[:10]]
        raise DefinitionError(f"{source}: " + "; ".join(found)) from exc


def parse_document(raw: Any, source: str = "<file>") -> list[CustomDefinition]:
    """Definitions of a YAML document: one mapping or a list of them, each located by its position."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise DefinitionError(f"{source}: no definition in it")
    out = [parse_definition(item, f"{source}: item {n}") for n, item in enumerate(items, start=1)]
    names = [d.name for d in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DefinitionError(f"{source}: defined twice: {', '.join(twice)}")
    return out
