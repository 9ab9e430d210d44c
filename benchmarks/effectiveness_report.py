"""Effectiveness report timings on an evaluated store: everyone's figures, and one team's (a manager's page).

    CHURNRADAR_INTERVENTIONS__CONTROL_SHARE=0.2 .venv/bin/churnradar demo --db sqlite:////tmp/eff.db \\
        --customers 2000 --seed 11 --end 2026-06-30 --weeks 26 --no-serve
    .venv/bin/python benchmarks/effectiveness_report.py --db sqlite:////tmp/eff.db --until 2026-07-01

It only reads. The web page computes the same report (cached per user for a minute).
"""

from __future__ import annotations

import argparse
from datetime import date

from sqlalchemy import select
from timing import timed

from churnradar.db import create_engine
from churnradar.effectiveness.service import effectiveness_report
from churnradar.models import Customer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="an evaluated store, e.g. sqlite:///churnradar.db")
    parser.add_argument("--until", type=date.fromisoformat, required=True, help="report with data before")
    args = parser.parse_args()
    engine = create_engine(args.db)
    with engine.connect() as conn:
        ids = list(conn.scalars(select(Customer.id)))
    team = ids[: len(ids) // 4]  # a manager with a quarter of the customers
    print("| step | wall s | CPU s |\n|---|---:|---:|")
    report = timed("report, every customer", lambda: effectiveness_report(engine, until=args.until))
    timed(
        f"report, {len(team):,} customers in scope",
        lambda: effectiveness_report(engine, until=args.until, scope=team),
    )
    save, tasks = report["save_rate"], report["tasks"]["overall"]["tasks"]
    judged = save["intervened"]["customers"] + save["held_out"]["customers"]
    print(f"|   → {judged:,} customers judged for the save rate, {tasks:,} tasks | | |")


if __name__ == "__main__":
    main()
