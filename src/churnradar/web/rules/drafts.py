"""What pages and API share to judge a draft: the rule book and the latest snapshot, cached per app."""

from __future__ import annotations

from fastapi import Request

from churnradar.evaluation.assess import RuleBook
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
    snapshot = cache.get_or_set(("rules", "snapshot"), lambda: service.latest_snapshot(engine))
    if snapshot is None:
        return result
    templates = service.judged_templates(current, book.templates)
    flagged, judged = service.count_flagged(book, snapshot, service.draft_of(current, condition), templates)
    return result.model_copy(
        update={"as_of": snapshot.as_of.isoformat(), "flagged": flagged, "customers": judged}
    )
