"""One as-of date, assessed: health scores, the rules that fire, and the reasons in both languages.

Shared by `evaluate` and the backtest, so that both judge customers the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import pandas as pd

from churnradar.alert.lifecycle import Policy
from churnradar.rule.evaluate import CompiledRule, PreparedRules, compile_rules
from churnradar.rule.exceptions import ReasonError
from churnradar.rule.fields import rule_fields
from churnradar.rule.language import FieldType
from churnradar.rule.reasons import check_reason, render_reason
from churnradar.rule.schemas import RuleDef, Template
from churnradar.rule.template_settings import TemplateChoice
from churnradar.scoring.health import health_scores
from churnradar.scoring.schemas import ActiveModel
from churnradar.scoring.segments import segment_medians, uses_segments, with_segment_features

FIRED_WITH_REASONS = ["customer_id", "rule", "template", "level", "reason_en", "reason_zh", "values"]


@dataclass(frozen=True)
class RuleBook:
    """Everything needed to judge customers: templates, their compiled rules, the field types, the policy."""

    templates: Mapping[str, Template]
    compiled: Sequence[CompiledRule]
    fields: dict[str, FieldType]
    policy: Policy
    indicators: tuple[str, ...]
    model: ActiveModel | None = None  # the active churn model, whose probability rules may use
    left_out: tuple[str, ...] = ()  # stored rules that fail their checks, left out (with why)
    choices: tuple[TemplateChoice, ...] = ()  # which template applies by industry or segment (admins')

    @cached_property
    def prepared(self) -> PreparedRules:
        """The rules compiled once into one query (shared by every date a backtest judges)."""
        numbers = [n for n, kind in self.fields.items() if kind is not FieldType.TEXT]
        texts = [n for n, kind in self.fields.items() if kind is FieldType.TEXT]
        return PreparedRules(self.compiled, self.fields, numbers, texts)

    def rule(self, template: str, slug: str) -> RuleDef:
        """The definition of a compiled rule."""
        return self._by_key[(template, slug)]

    @cached_property
    def _by_key(self) -> dict[tuple[str, str], RuleDef]:
        return {(c.template, c.rule.slug): c.rule for c in self.compiled}


def build_rulebook(
    templates: Mapping[str, Template],
    indicators: Sequence[str],
    policy: Policy,
    model: ActiveModel | None = None,
    *,
    left_out: Sequence[str] | None = None,
    choices: Sequence[TemplateChoice] = (),
) -> RuleBook:
    """Compile the enabled rules of every template against the indicators and customer fields.

    With `left_out` (the problems of rules already left out of `templates`), a rule that does not compile is
    left out and listed too instead of raising: for running the stored rules.
    """
    fields = rule_fields(indicators)
    rules = {slug: [r for r in t.rules if r.enabled] for slug, t in templates.items()}
    problems = None if left_out is None else list(left_out)
    compiled = compile_rules(rules, fields, policy.levels, left_out=problems)
    left = tuple(problems or ())
    return RuleBook(templates, compiled, fields, policy, tuple(indicators), model, left, tuple(choices))


@dataclass(frozen=True)
class Assessment:
    """The judged customers of a date: a row each (fields, indicators, health) and the rules that fired."""

    table: pd.DataFrame
    fired: pd.DataFrame


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else round(number, 4)


def _shown_names(text: str, book: RuleBook, columns: Mapping[str, str]) -> list[str] | None:
    """The columns a reason template shows, or None when it cannot be read (then every column is offered)."""
    try:
        names = check_reason(text, book.fields)
    except ReasonError:
        return None
    return list(dict.fromkeys(columns[n] for n in names if n in columns))


def _reasons(table: pd.DataFrame, fired: pd.DataFrame, book: RuleBook) -> pd.DataFrame:
    """`fired` with each rule's reasons in both languages and the values its condition read, as JSON.

    Rendered rule by rule over plain records of the values a reason shows: looking up each fired row in the
    whole table (70 columns) cost more than judging the customers.
    """
    fired = fired.reset_index(drop=True)
    position = pd.Series(range(len(table)), index=table["customer_id"].to_numpy())
    columns = {str(c).lower(): str(c) for c in table.columns}
    read_by_rule = {(c.template, c.rule.slug): sorted(c.names) for c in book.compiled}
    out: dict[str, list[str]] = {name: [""] * len(fired) for name in ("reason_en", "reason_zh", "values")}
    for (template, rule), group in fired.groupby(["template", "rule"], sort=False):
        definition = book.rule(str(template), str(rule))
        rows = table.iloc[position.loc[group["customer_id"].to_numpy()].to_numpy()]
        where = group.index.tolist()
        for name, text, locale in (
            ("reason_en", definition.reason_en, "en"),
            ("reason_zh", definition.reason_zh, "zh_CN"),
        ):
            shown = _shown_names(text, book, columns)
            shown = shown if shown is not None else list(table.columns)
            records = cast(list[dict[str, Any]], rows[shown].to_dict("records"))
            for at, record in zip(where, records, strict=True):
                out[name][at] = render_reason(text, record, locale)
        read = read_by_rule[(str(template), str(rule))]
        numbers = [n for n in read if book.fields[n] is FieldType.NUMBER]
        used = cast(list[dict[str, Any]], rows[read].to_dict("records"))
        for at, record in zip(where, used, strict=True):
            for n in numbers:
                record[n] = _number(record[n])
            out["values"][at] = json.dumps(record, ensure_ascii=False)
    return fired.assign(**out)


def as_of_reasons(table: pd.DataFrame, alerts: pd.DataFrame, book: RuleBook) -> pd.DataFrame:
    """`alerts` (open alerts kept as they stand) with reasons and values rendered from today's `table`.

    A held rule keeps its open alerts, but their texts must say what holds today ("contract ends in 11
    days"), not what held when they last fired: each alert of a rule the book still has, for a customer
    judged today, is rendered again; the others keep their stored texts.
    """
    if alerts.empty:
        return alerts
    alerts = alerts.reset_index(drop=True)
    known = {(c.template, c.rule.slug) for c in book.compiled}
    judged = set(table["customer_id"].tolist())
    redo = [
        (str(t), str(r)) in known and c in judged
        for t, r, c in alerts[["template", "rule", "customer_id"]].itertuples(index=False, name=None)
    ]
    if not any(redo):
        return alerts
    mask = pd.Series(redo, index=alerts.index)
    fresh = _reasons(table, alerts[mask].drop(columns=["reason_en", "reason_zh", "values"]), book)
    fresh.index = alerts.index[mask]
    for column in ("reason_en", "reason_zh", "values"):
        alerts[column] = alerts[column].astype(object)
        alerts.loc[mask, column] = fresh[column]
    return alerts


def assess(
    wide: pd.DataFrame, customers: pd.DataFrame, book: RuleBook, *, reasons: bool = True
) -> Assessment:
    """Judge the customers of one date; `wide` holds their indicators (customer_id + one column each).

    Without `reasons` (a backtest, which shows no alert text) the reason and values columns stay empty.
    """
    indicator_columns = [c for c in book.indicators if c in wide.columns]
    # The model's own features beyond the indicators (their change over four weeks), when `wide` has them.
    model_only = [
        c for c in (book.model.scorer.features if book.model else []) if c in wide.columns
        and c not in indicator_columns
    ]  # fmt: skip
    table = customers.merge(
        wide[["customer_id", *indicator_columns, *model_only]], on="customer_id", how="left"
    )
    templates = table.set_index("customer_id")["template"]
    health = health_scores(table[["customer_id", *indicator_columns]], templates, book.templates)
    table = table.merge(health, on="customer_id", how="left")
    if book.model is not None and len(table):
        if uses_segments(book.model.scorer.features):  # against the medians of the customers judged today
            table = with_segment_features(table, segment_medians(table))
        # The model's features (indicators, their changes and segment gaps, tenure_days) are columns now.
        table["churn_probability"] = book.model.scorer.predict(table)
    elif "churn_probability" not in table:
        table["churn_probability"] = float("nan")
    for missing in set(book.indicators) - set(indicator_columns):
        table[missing] = float("nan")
    for missing in set(book.fields) - set(table.columns):  # a custom field defined since the frame was read
        table[missing] = float("nan") if book.fields[missing] is FieldType.NUMBER else None
    fired = book.prepared.run(table)
    if fired.empty:
        return Assessment(table, pd.DataFrame(columns=FIRED_WITH_REASONS))
    fired = _reasons(table, fired, book) if reasons else fired.assign(reason_en="", reason_zh="", values="")
    return Assessment(table, fired[FIRED_WITH_REASONS])
