"""Rule quality on simulated customers: the backtest (CONTRACT §3) scored against the demo's planted decays.

    .venv/bin/python benchmarks/rule_quality.py [--customers 5000] [--seed 7] [--templates shipped|general]
        [--keep DIR] [--json]

Writes a demo base (a year of history ending END), imports it into a fresh SQLite file and replays the rules
over every weekly as-of date from WARM_UP_DAYS into the history (when the baselines have data behind them) to
the last one whose 90-day horizon has closed. It prints

- the §3 headline: precision against the base rate (a random pick), recall, median lead, alerts per week;
- the workload: the share of at-risk customers carrying an open alert at once, overall and per level;
- precision, recall and share flagged at once per level and per rule;
- recall of the planted decays of truth.csv: a decaying customer whose churn falls in the horizon of an as-of
  date is *caught* when it carries an open alert on an as-of date between its decay start and its churn; the
  lead is from the first such date to the churn.

`--templates general` judges every customer by the general template alone (demo customers all have an
industry, so the shipped run uses the five industry templates that extend it).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import Policy
from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.demo.write import generate_demo
from churnradar.evaluation import backtest
from churnradar.evaluation.assess import RuleBook, build_rulebook
from churnradar.evaluation.frames import all_customers
from churnradar.indicator import service as indicator_service
from churnradar.ingest.service import import_path
from churnradar.rule.templates import GENERAL, load_templates
from churnradar.store import migrate

END = date(2026, 6, 30)
YEARS = 1.0
WARM_UP_DAYS = 100
HORIZON_DAYS = 90


def build_store(folder: Path, *, customers: int, seed: int, settings: Settings) -> tuple[Engine, Path]:
    """A SQLite store of a simulated base in `folder`; returns its engine and the truth file (kept aside)."""
    files = folder / "files"
    generate_demo(files, customers=customers, seed=seed, end=END, years=YEARS, fmt="parquet")
    truth = folder / "truth.csv"
    (files / "truth.csv").replace(truth)
    engine = create_engine(f"sqlite:///{folder / 'demo.db'}")
    migrate(engine)
    if not import_path(engine, files, settings=settings).ok:
        raise RuntimeError(f"the simulated files in {files} did not import")
    return engine, truth


def replay_window() -> backtest.BacktestWindow:
    """Weekly as-of dates from WARM_UP_DAYS into the history to the last one whose horizon has closed."""
    first = END - timedelta(days=round(YEARS * 365) - WARM_UP_DAYS)
    last = END - timedelta(days=HORIZON_DAYS)
    weeks = (last - first).days // 7
    return backtest.BacktestWindow(last - timedelta(weeks=weeks), last, 7, HORIZON_DAYS, 90)


def rulebook(general_only: bool = False) -> RuleBook:
    """The shipped templates (or the general one alone) over the built-in indicators, as evaluate has them."""
    templates = load_templates()
    if general_only:
        templates = {GENERAL: templates[GENERAL]}
    indicators = [i.slug for i in indicator_service.selected_indicators()]
    return build_rulebook(templates, indicators, Policy())


def backtest_with_rows(
    engine: Engine, window: backtest.BacktestWindow, book: RuleBook
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """`run_backtest`'s report, the customer-snapshots it scored (`level` per row) and the open rules.

    The replay itself is run_backtest's; this only keeps what it hands to `score_backtest`. Open rules come
    as (customer_id, as_of, rule) rows, whether the backtest passes them so or as a list per snapshot.
    """
    kept: list[pd.DataFrame] = []
    score = backtest.score_backtest

    def keeping(rows: pd.DataFrame, *args: Any, **kwargs: Any) -> dict[str, Any]:
        open_rules = kwargs.get("open_rules", args[4] if len(args) > 4 else None)
        if open_rules is None:
            listed = rows[["customer_id", "as_of", "rules"]].explode("rules").dropna(subset=["rules"])
            open_rules = listed.rename(columns={"rules": "rule"})
        kept.extend([rows, open_rules])
        return score(rows, *args, **kwargs)

    with mock.patch.object(backtest, "score_backtest", keeping):
        report = backtest.run_backtest(engine, window, book)
    return report, kept[0], kept[1]


def workload(rows: pd.DataFrame, levels: tuple[str, ...]) -> dict[str, float]:
    """Share of at-risk customers with an open alert at once (mean over the as-of dates), all and by level."""
    shares = pd.crosstab(rows["as_of"], rows["level"].fillna("none"), normalize="index").mean()
    result = {"any": round(1.0 - float(shares.get("none", 0.0)), 4)}
    return result | {level: round(float(shares.get(level, 0.0)), 4) for level in levels}


def rule_shares(rows: pd.DataFrame, open_rules: pd.DataFrame) -> dict[str, float]:
    """Per rule, the share of at-risk customer-snapshots on which it had an alert open."""
    at_risk = open_rules.merge(rows[["customer_id", "as_of"]], on=["customer_id", "as_of"])
    counts = at_risk["rule"].value_counts()
    return {str(rule): round(int(n) / len(rows), 4) for rule, n in counts.items()}


def planted_decays(engine: Engine, rows: pd.DataFrame, truth: Path) -> dict[str, Any]:
    """Recall and lead of the planted decays (truth.csv) whose churn falls in the horizon of an as-of date."""
    planted = pd.read_csv(truth, parse_dates=["decay_start", "churn_date"])
    planted = planted[planted["decay_start"].notna() & planted["churn_date"].notna()]
    with engine.connect() as conn:
        ids = all_customers(conn).set_index("external_id")["customer_id"]
    planted = planted.assign(customer_id=planted["customer_id"].map(ids))
    snapshots = rows[["customer_id", "as_of", "level"]].merge(
        planted[["customer_id", "pattern", "decay_start", "churn_date"]], on="customer_id"
    )
    day = pd.to_datetime(snapshots["as_of"])
    to_churn = (snapshots["churn_date"] - day).dt.days
    in_view = snapshots.loc[(to_churn > 0) & (to_churn <= HORIZON_DAYS), "customer_id"].unique()
    flagged = snapshots["level"].notna() & (day >= snapshots["decay_start"]) & (to_churn > 0)
    caught = snapshots[flagged & snapshots["customer_id"].isin(in_view)].assign(to_churn=to_churn)
    lead = caught.groupby("customer_id")["to_churn"].max()
    patterns = planted.set_index("customer_id")["pattern"]
    by_pattern = {
        str(p): [int(patterns.loc[lead.index].eq(p).sum()), int(n)]
        for p, n in patterns.loc[in_view].value_counts().sort_index().items()
    }
    return {
        "in_view": len(in_view),
        "caught": len(lead),
        "recall": round(len(lead) / len(in_view), 4) if len(in_view) else None,
        "median_lead_days": float(lead.median()) if len(lead) else None,
        "caught_30_days_ahead": round(float((lead >= 30).mean()), 4) if len(lead) else None,
        "by_pattern": by_pattern,
    }


def by_template(
    engine: Engine, rows: pd.DataFrame, open_rules: pd.DataFrame, book: RuleBook
) -> dict[str, Any]:
    """Per template (the customer's industry): its base rate, and each rule's open snapshots and precision.

    A rule's precision here counts the at-risk snapshots of the template's customers on which it had an alert
    open; against the template's own base rate it says whether the rule picks that industry's churners.
    """
    with engine.connect() as conn:
        industry = all_customers(conn).set_index("customer_id")["industry"].str.lower()
    template = rows["customer_id"].map(industry).where(lambda t: t.isin(list(book.templates)), GENERAL)
    labelled = rows[["customer_id", "as_of", "churned"]].assign(template=template.to_numpy())
    opened = open_rules.merge(labelled, on=["customer_id", "as_of"])
    out: dict[str, Any] = {}
    for name, part in labelled.groupby("template"):
        mine = opened[opened["template"] == name].groupby("rule")["churned"]
        out[str(name)] = {
            "customer_snapshots": len(part),
            "base_rate": round(float(part["churned"].mean()), 4),
            "rules": {
                str(rule): {"open": int(n), "precision": round(float(p), 4)}
                for (rule, n), p in zip(mine.size().items(), mine.mean(), strict=True)
            },
        }
    return out


def rule_quality(
    engine: Engine, truth: Path, book: RuleBook, window: backtest.BacktestWindow | None = None
) -> dict[str, Any]:
    """The backtest report with the workload and the planted decays' recall beside it."""
    report, rows, open_rules = backtest_with_rows(engine, window or replay_window(), book)
    overall = report["overall"]
    base = overall["base_rate"]
    overall["precision_vs_base_rate"] = (
        round(overall["precision"] / base, 2) if base and overall["precision"] else None
    )
    shares = rule_shares(rows, open_rules)
    for item in report["rules"]:
        item["share_flagged"] = shares.get(item["rule"], 0.0)
    report["workload"] = workload(rows, book.policy.levels)
    report["planted_decays"] = planted_decays(engine, rows, truth)
    report["templates"] = by_template(engine, rows, open_rules, book)
    return report


def _print(report: dict[str, Any]) -> None:
    o, w, p = report["overall"], report["workload"], report["planted_decays"]
    print(
        f"{report['from']} .. {report['to']}: {report['snapshots']} dates, "
        f"{report['customer_snapshots']:,} customer-snapshots, {report['churn_events']:,} churns"
    )
    print(
        f"precision {o['precision']} (base rate {o['base_rate']}: {o['precision_vs_base_rate']} x), "
        f"recall {o['recall']}, median lead {o['median_lead_days']} days, "
        f"alerts/week {o['alerts_per_week']}, AUC {o['auc']}, PR-AUC {o['pr_auc']}, "
        f"lift {o['lift_top_decile']}"
    )
    print("flagged at once: " + ", ".join(f"{k} {v:.1%}" for k, v in w.items()))
    for item in report["levels"]:
        print(f"  level {item['level']:<8} precision {item['precision']}  recall {item['recall']}")
    print(
        f"  {'rule':<32} {'level':<7} {'opened':>6} {'precision':>9} {'recall':>7} {'lead':>5} {'at once':>7}"
    )
    for r in report["rules"]:
        print(
            f"  {r['rule']:<32} {r['level'] or '':<7} {r['alerts']:>6} {r['precision']!s:>9} "
            f"{r['recall']!s:>7} {r['median_lead_days']!s:>5} {r['share_flagged']:>7.1%}"
        )
    print(
        f"planted decays: {p['caught']} of {p['in_view']} caught (recall {p['recall']}), "
        f"median lead {p['median_lead_days']} days, {p['caught_30_days_ahead']} of them 30+ days ahead"
    )
    print("  " + ", ".join(f"{k} {c}/{n}" for k, (c, n) in p["by_pattern"].items()))
    for name, t in report["templates"].items():
        print(f"template {name}: {t['customer_snapshots']:,} snapshots, base rate {t['base_rate']}")
        for rule, r in t["rules"].items():
            lift = r["precision"] / t["base_rate"] if t["base_rate"] else float("nan")
            print(f"  {rule:<32} open {r['open']:>6}  precision {r['precision']:.3f} ({lift:.2f} x)")


def main() -> None:
    """Parse arguments, build (or reuse) the store, replay, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--templates", choices=("shipped", "general"), default="shipped")
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the store in")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="churnradar-quality-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if (folder / "demo.db").exists() and (folder / "truth.csv").exists():
            engine, truth = create_engine(f"sqlite:///{folder / 'demo.db'}"), folder / "truth.csv"
        else:
            engine, truth = build_store(folder, customers=args.customers, seed=args.seed, settings=settings)
        built = time.perf_counter() - started
        started = time.perf_counter()
        report = rule_quality(engine, truth, rulebook(general_only=args.templates == "general"))
        report["run"] = {
            "customers": args.customers,
            "seed": args.seed,
            "templates": args.templates,
            "store_seconds": round(built, 1),
            "replay_seconds": round(time.perf_counter() - started, 1),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        if args.json:
            print(json.dumps(report, indent=2, default=str))
        else:
            _print(report)
            print(json.dumps(report["run"]))


if __name__ == "__main__":
    main()
