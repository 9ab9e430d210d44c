"""What pages and API share to judge a draft: the rule book, the latest snapshot and the list of fields a rule
may name, cached per app; the builder's tree of a condition."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

from churnradar.evaluation.assess import RuleBook
from churnradar.evaluation.drafts import draft_book
from churnradar.evaluation.service import active_rulebook
from churnradar.indicator.registry import default_registry
from churnradar.rule.builder import Clause, Group, tree_of
from churnradar.rule.catalog import FieldInfo, field_catalog
from churnradar.rule.exceptions import RuleSyntaxError
from churnradar.rule.language import FieldType, parse_condition
from churnradar.web.cache import TtlCache
from churnradar.web.rules import service
from churnradar.web.rules.schemas import ConditionResult, RuleRead


def rulebook(request: Request) -> RuleBook:
    """The active rule book, reused until the rules change or the cache expires."""
    cache: TtlCache = request.app.state.cache
    engine = request.app.state.engine
    # Keyed by the rules' last change: a saved rule changes which templates take a parent's rule unchanged.
    key = ("rules", "book", service.rules_version(engine))
    return cache.get_or_set(key, lambda: active_rulebook(engine))


def check_with_count(request: Request, current: RuleRead | None, condition: str) -> ConditionResult:
    """The condition's verdict and, when valid, how many customers it flags as of the latest evaluation."""
    book = rulebook(request)
    result = service.check_condition(condition, book.fields)
    if not result.valid:
        return result
    engine = request.app.state.engine
    cache: TtlCache = request.app.state.cache
    as_of = cache.get_or_set(("rules", "latest evaluation"), lambda: service.latest_evaluation(engine))
    if as_of is None:
        return result
    templates = service.judged_templates(current, book.templates)
    trial = draft_book(book, [service.draft_of(current, condition)], templates)
    needed = service.needed_indicators(trial)
    snapshot = cache.get_or_set(
        ("rules", "snapshot", as_of, needed), lambda: service.snapshot_at(engine, as_of, needed)
    )
    flagged, judged = service.count_flagged(trial, snapshot, templates)
    return result.model_copy(update={"as_of": as_of.isoformat(), "flagged": flagged, "customers": judged})


def field_list(request: Request) -> list[FieldInfo]:
    """Every field and indicator a rule may name, with readable names (cached with the rule book)."""
    cache: TtlCache = request.app.state.cache
    book = rulebook(request)

    def build() -> list[FieldInfo]:
        registry = default_registry()
        return field_catalog([registry.get(slug) for slug in registry if slug in book.fields], book.fields)

    return cache.get_or_set(("rules", "fields", service.rules_version(request.app.state.engine)), build)


def builder_state(text: str, fields: Mapping[str, FieldType]) -> tuple[Group, str | None]:
    """The builder's tree of a condition, or (when the text does not pass its checks) an empty one and why."""
    try:
        return tree_of(parse_condition(text, fields)), None
    except RuleSyntaxError as exc:
        empty = Group(children=[Clause(field="")])
        return empty, (None if not text.strip() else str(exc))
