"""Try a draft rule before anyone enables it: how many customers it flags now, and its backtest figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from churnradar import i18n
from churnradar.evaluation.assess import RuleBook, assess, build_rulebook
from churnradar.evaluation.backtest import BacktestWindow, run_backtest
from churnradar.evaluation.frames import all_customers, customers_at
from churnradar.indicator import service as indicator_service
from churnradar.rule.schemas import RuleDef, Template

DRAFT_NAME = i18n.msg("Draft rule")


def plain_draft(condition: str, level: str, *, slug: str = "draft") -> dict[str, str]:
    """A draft rule for a bare condition: named and explained in both languages from the catalog."""
    reason = i18n.msg("Draft rule holds: {condition}", condition=condition)
    return {
        "slug": slug,
        "name_en": DRAFT_NAME.render("en"),
        "name_zh": DRAFT_NAME.render("zh_CN"),
        "condition": condition,
        "level": level,
        "reason_en": reason.render("en"),
        "reason_zh": reason.render("zh_CN"),
    }


def draft_book(book: RuleBook, drafts: Sequence[RuleDef], templates: Sequence[str] = ()) -> RuleBook:
    """`book` with only the draft rules, in the given templates (default: all, so every customer)."""
    chosen = set(templates) or set(book.templates)
    unknown = chosen - set(book.templates)
    if unknown:
        raise ValueError(
            f"unknown template(s) {sorted(unknown)}; templates are {', '.join(sorted(book.templates))}"
        )
    replaced: dict[str, Template] = {
        slug: template.model_copy(update={"rules": list(drafts) if slug in chosen else []})
        for slug, template in book.templates.items()
    }
    return build_rulebook(replaced, book.indicators, book.policy, choices=book.choices)


def try_rules(
    engine: Engine, book: RuleBook, *, as_of: date, window: BacktestWindow | None, zone: Any = "UTC"
) -> dict[str, Any]:
    """Customers flagged as of `as_of` per draft rule and level, and (with a window) the backtest report."""
    with indicator_service.open_source(engine) as source:
        wide = indicator_service.compute_indicators(source, [as_of], zone=zone)
    with engine.connect() as conn:
        customers = customers_at(all_customers(conn), as_of, book.templates, book.choices)
    fired = assess(wide, customers, book).fired
    flagged: Mapping[str, Mapping[str, int]] = {
        str(rule): {str(level): int(n) for level, n in group["level"].value_counts().items()}
        for rule, group in fired.groupby("rule")
    }
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "customers": len(customers),
        "flagged_now": {c.rule.slug: dict(flagged.get(c.rule.slug, {})) for c in book.compiled},
    }
    if window is not None:
        report["backtest"] = run_backtest(engine, window, book, zone=zone)
    return report


def default_window(as_of: date, horizon_days: int = 90, weeks: int = 26) -> BacktestWindow:
    """The `weeks` weekly dates whose horizon closed by `as_of`: outcomes are known for all of them."""
    end = as_of - timedelta(days=horizon_days)
    return BacktestWindow(end - timedelta(weeks=weeks - 1), end, 7, horizon_days)
