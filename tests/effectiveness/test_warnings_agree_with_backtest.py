"""The effectiveness report's warning figures are the backtest's, over the same stored evaluation dates."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.effectiveness.service import effectiveness_report
from churnradar.evaluation.backtest import BacktestWindow, run_backtest
from churnradar.evaluation.service import active_rulebook, evaluate
from tests.conftest import copy_store
from tests.evaluation.conftest import END, demo_db

__all__ = ["demo_db"]  # the fixture used below

FIRST = date(2026, 2, 2)
WEEKS = [FIRST + timedelta(days=7 * i) for i in range(4)]
LATE = END - timedelta(days=14)  # its outcome window is still open on END + 1: pending


def test_judged_figures_equal_the_backtests_and_later_dates_are_pending(
    demo_db: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "store.db"
    copy_store(demo_db, copy)
    engine = create_engine(f"sqlite:///{copy}")
    settings = Settings(environment="test", secret_key="s" * 32)  # type: ignore[arg-type]
    # Forced: the small simulated feeds look stale on some days, and a live run holds the rules that read
    # a stale feed, which the backtest never does; the figures are the same where the runs are the same.
    for day in [*WEEKS, LATE]:
        evaluate(engine, as_of=day, settings=settings, force=True)
    until = END + timedelta(days=1)
    report = effectiveness_report(engine, until=until)
    backtest = run_backtest(engine, BacktestWindow(WEEKS[0], WEEKS[-1]), active_rulebook(engine))
    warnings = report["warnings"]
    assert warnings["dates"] == {
        "judged": 4, "pending": 1, "first": WEEKS[0].isoformat(), "last_judged": WEEKS[-1].isoformat(),
        "first_pending": LATE.isoformat(), "next_judged_on": (LATE + timedelta(days=90)).isoformat(),
        "judged_until": (until - timedelta(days=90)).isoformat(),
    }  # fmt: skip
    assert warnings["overall"]["customer_snapshots"] == backtest["customer_snapshots"]
    for key in ("precision", "recall", "median_lead_days", "base_rate"):
        assert warnings["overall"][key] == backtest["overall"][key], key
    assert [(r["level"], r["alerts"], r["precision"], r["recall"]) for r in warnings["levels"]] == [
        (r["level"], r["alerts"], r["precision"], r["recall"]) for r in backtest["levels"]
    ]
    assert sum(r["alerts"] for r in warnings["levels"]) > 50, "enough warnings to compare"
    judged_rules = {r["rule"]: r for r in warnings["rules"] if r["alerts"]}
    assert {
        r["rule"]: (r["alerts"], r["precision"], r["recall"], r["median_lead_days"])
        for r in backtest["rules"]
    } == {
        rule: (r["alerts"], r["precision"], r["recall"], r["median_lead_days"])
        for rule, r in judged_rules.items()
    }
    # The late date's warnings are counted beside the figures, not in them.
    assert warnings["overall"]["pending"] > 0
    assert sum(r["pending"] for r in warnings["levels"]) == warnings["overall"]["pending"]
    assert 0 < warnings["overall"]["precision"] < 1
