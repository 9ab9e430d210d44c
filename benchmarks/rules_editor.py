"""Rules editor timings on an evaluated store: the inline flag count and the try-out's backtest.

    bash scripts/demo.sh --no-serve        # an evaluated demo store, ./churnradar.db
    .venv/bin/python benchmarks/rules_editor.py --db sqlite:///churnradar.db

Each step runs as the pages run it (`churnradar.web.rules.service`), on a copy of nothing: it only reads.
"""

from __future__ import annotations

import argparse
import os
import resource
from typing import Any

from timing import timed

from churnradar.db import create_engine
from churnradar.evaluation.drafts import draft_book
from churnradar.evaluation.service import active_rulebook
from churnradar.kit.clock import SystemClock
from churnradar.web.rules import service

CONDITIONS = (
    "days_since_last_order > 60 AND tier = 'high'",
    "orders_vs_baseline <= 0.5",
    "health_score < 40",  # reads every indicator (the health score is computed from them)
)


def _flag_count(
    engine: Any, book: Any, current: Any, templates: list[str], as_of: Any, condition: str
) -> None:
    trial = draft_book(book, [service.draft_of(current, condition)], templates)
    needed = service.needed_indicators(trial)
    snapshot = timed(
        f"read stored indicators for `{condition}`", lambda: service.snapshot_at(engine, as_of, needed)
    )
    flagged, judged = timed(
        f"flag count for `{condition}` (snapshot cached)",
        lambda: service.count_flagged(trial, snapshot, templates),
    )
    print(f"|   → flags {flagged} of {judged} | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="an evaluated store, e.g. sqlite:///churnradar.db")
    parser.add_argument("--rule", default="general.no_login_30d", help="the rule whose draft is judged")
    args = parser.parse_args()
    engine = create_engine(args.db)
    now = SystemClock().now()
    as_of = service.latest_evaluation(engine)
    if as_of is None:
        raise SystemExit("the store has no evaluation yet: run `churnradar evaluate` first")
    print(f"store {args.db}, latest evaluation {as_of}, load average {os.getloadavg()[0]:.1f} (1 min)\n")
    print("| step | wall s | CPU s |\n|---|---:|---:|")
    book = timed("rule book (templates, compiled rules, model)", lambda: active_rulebook(engine))
    current = timed(
        "the rule as its template applies it", lambda: service.get_rule(engine, args.rule, at=now)
    )
    templates = service.judged_templates(current, book.templates)
    for condition in CONDITIONS:
        _flag_count(engine, book, current, templates, as_of, condition)
    report = timed(
        f"try-out: backtest of {service.TRY_WEEKS} weekly dates",
        lambda: service.try_draft(
            engine, book, service.draft_of(current, CONDITIONS[0]), templates, as_of=as_of, zone="UTC"
        ),
    )
    overall = report["overall"]
    print(f"|   → {report['customer_snapshots']} customer-snapshots, precision {overall['precision']} | | |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nload average after: {os.getloadavg()[0]:.1f}; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
