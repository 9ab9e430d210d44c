"""What pages and API share to judge a draft: the rule book and the latest snapshot, cached per app."""

from __future__ import annotations

from fastapi import Request

from churnradar.evaluation.assess import RuleBook
from churnradar.evaluation.drafts import draft_book
from churnradar.evaluation.service import active_rulebook
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
