"""`churnradar backtest`: replay evaluation over past as-of dates and score it against what happened (§3).

The replay uses `assess` and the alert `step` exactly as `evaluate` does, with the state kept in memory;
nothing is stored and nobody is notified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sqlalchemy.engine import Engine

from churnradar.alert.lifecycle import customer_levels, empty_state, step
from churnradar.config import AnalyticsSettings
from churnradar.evaluation.assess import RuleBook, assess
from churnradar.evaluation.frames import activity_frame, all_customers, customers_at
from churnradar.evaluation.labels import ACTIVITY_KINDS, label_snapshots
from churnradar.indicator import service as indicator_service
from churnradar.scoring.dataset import feature_batches


@dataclass(frozen=True)
class BacktestWindow:
    """The dates to replay and how outcomes are judged."""

    start: date
    end: date
    every_days: int = 7
    horizon_days: int = 90
    inactivity_days: int = 90

    @property
    def dates(self) -> list[date]:
        """The as-of dates from start to end inclusive, every `every_days`."""
        count = (self.end - self.start).days // self.every_days + 1
        return [self.start + timedelta(days=i * self.every_days) for i in range(max(count, 0))]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _median(values: pd.Series) -> float | None:
    return float(values.median()) if len(values) else None


def _lead_days(rows: pd.DataFrame, alerted: pd.Series) -> pd.Series:
    """Days from a churn's first alert (in its horizon) to the churn, for churns that were alerted."""
    caught = rows[alerted & rows["churned"] & rows["churn_date"].notna()]
    # As datetime64: the minimum of Python date objects per group is an object-dtype loop (slow on millions).
    caught = caught.assign(as_of=pd.to_datetime(caught["as_of"]))
    first = caught.groupby(["customer_id", "churn_date"])["as_of"].min().reset_index()
    return (first["churn_date"] - first["as_of"]).dt.days


def _scores(rows: pd.DataFrame) -> dict[str, float | None]:
    truth, risk = rows["churned"].to_numpy(bool), rows["risk"].to_numpy(float)
    if truth.all() or not truth.any():
        return {"auc": None, "pr_auc": None, "lift_top_decile": None}
    top = rows.nlargest(max(len(rows) // 10, 1), "risk")
    return {
        "auc": round(float(roc_auc_score(truth, risk)), 4),
        "pr_auc": round(float(average_precision_score(truth, risk)), 4),
        "lift_top_decile": round(float(top["churned"].mean() / truth.mean()), 3),
    }


def _group(rows: pd.DataFrame, alerted: pd.Series, churns: int) -> dict[str, Any]:
    hits = int((alerted & rows["churned"]).sum())
    return {
        "alerts": int(alerted.sum()),
        "precision": _ratio(hits, int(alerted.sum())),
        "recall": _ratio(hits, churns),
        "median_lead_days": _median(_lead_days(rows, alerted)),
    }


def alert_figures(
    rows: pd.DataFrame,
    opened: pd.DataFrame,
    levels: Sequence[str],
    rule_levels: Mapping[str, str],
    open_rules: pd.DataFrame,
) -> dict[str, Any]:
    """Precision, recall and lead overall, per level and per rule (§3), from labelled customer-snapshots.

    `rows`: customer_id, as_of, churned, churn_date and `level` (the customer's level at that date, None when
    not alerted); `opened`: a `rule` per alert opened; `open_rules`: customer_id, as_of, rule open then. The
    backtest and the effectiveness report (over the stored alerts) both count with this.
    """
    churns = int(rows["churned"].sum())
    overall = _group(rows, rows["level"].notna(), churns)
    by_level = [
        {"level": level, **_group(rows, rows["level"] == level, churns)} for level in reversed(levels)
    ]
    for item in by_level:
        item.pop("median_lead_days")
    kept = rows[["customer_id", "as_of", "churned", "churn_date"]].merge(
        open_rules[["customer_id", "as_of", "rule"]], on=["customer_id", "as_of"]
    )
    kept_by_rule: dict[Any, pd.DataFrame] = dict(iter(kept.groupby("rule")))
    by_rule = []
    for rule, count in opened.groupby("rule").size().items():
        # A rule's alerts are the ones it opened; its precision and recall count the snapshots it kept open.
        part = kept_by_rule.get(rule, kept.iloc[:0])
        group = _group(part, pd.Series(True, index=part.index), churns)
        by_rule.append(
            {"rule": str(rule), "level": rule_levels.get(str(rule)), **group, "alerts": int(count)}
        )
    return {"overall": overall, "levels": by_level, "rules": sorted(by_rule, key=lambda r: -r["alerts"])}


def score_backtest(
    rows: pd.DataFrame,
    opened: pd.DataFrame,
    window: BacktestWindow,
    levels: Sequence[str],
    rule_levels: Mapping[str, str],
    open_rules: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The §3 report from labelled customer-snapshots (`level`, `risk` per row) and opened alerts.

    The rules open at each snapshot come as `open_rules` (customer_id, as_of, rule), else as a list per row
    in `rows["rules"]`.
    """
    churns = int(rows["churned"].sum())
    weeks = max(len(window.dates) * window.every_days / 7, 1)
    if open_rules is None:
        listed = rows[["customer_id", "as_of", "rules"]].explode("rules").dropna(subset=["rules"])
        open_rules = listed.rename(columns={"rules": "rule"})
    figures = alert_figures(rows, opened, levels, rule_levels, open_rules)
    overall = figures["overall"]
    overall.pop("alerts")
    overall["alerts_per_week"] = round(len(opened) / weeks, 1)
    # Precision of a random pick, to judge the rules' precision against (an extension of §3).
    overall["base_rate"] = _ratio(churns, len(rows))
    overall |= _scores(rows)
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "every_days": window.every_days,
        "horizon_days": window.horizon_days,
        "snapshots": len(window.dates),
        "customer_snapshots": len(rows),
        "churn_events": int(
            rows.loc[rows["churned"], ["customer_id", "churn_date"]].drop_duplicates().shape[0]
        ),
        "overall": overall,
        "levels": figures["levels"],
        "rules": figures["rules"],
    }


@dataclass
class _Replay:
    """The alert state carried from one replayed date to the next, and what each date showed."""

    book: RuleBook
    state: pd.DataFrame = field(default_factory=empty_state)
    resolved: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["customer_id", "rule", "level", "resolved_on"])
    )
    opened: list[pd.DataFrame] = field(default_factory=list)
    judged: list[pd.DataFrame] = field(default_factory=list)
    open_rules: list[pd.DataFrame] = field(default_factory=list)

    def judge(self, day: date, wide: pd.DataFrame, customers: pd.DataFrame) -> None:
        """Assess the customers of `day` from their indicators `wide` and step the alerts as evaluate does."""
        book = self.book
        current = customers_at(customers, day, book.templates, book.choices)
        assessment = assess(wide, current, book, reasons=False)
        owners = current.set_index("customer_id")["owner_id"]
        result = step(
            self.state,
            assessment.fired,
            as_of=day,
            policy=book.policy,
            recent_resolved=self.resolved,
            owners=owners,
        )
        self.state = result.state
        if not result.resolved.empty:
            self.resolved = pd.concat([self.resolved, result.resolved], ignore_index=True)
        new = result.events[result.events["kind"] == "opened"]
        self.opened.append(new[["rule", "to_level"]].assign(as_of=day, level_first=new["to_level"]))
        self.open_rules.append(self.state[["customer_id", "rule"]].assign(as_of=day))
        levels = customer_levels(self.state, book.policy)
        table = assessment.table[["customer_id", "health_score", "churn_probability"]].assign(as_of=day)
        table["level"] = table["customer_id"].map(levels)
        self.judged.append(table)


def run_backtest(
    engine: Engine,
    window: BacktestWindow,
    book: RuleBook,
    *,
    zone: Any = "UTC",
    progress: Callable[[int], None] | None = None,
    analytics: AnalyticsSettings | None = None,
) -> dict[str, Any]:
    """Replay every as-of date of `window`; returns the §3 report (stores nothing).

    Events are read by the `analytics` backend when given (else DuckDB over the store). Indicators come a
    batch of dates at a time (`indicator_service.indicator_batches`) and each date is judged as soon as its
    batch is there, so memory holds one batch, not every date's values at once.
    """
    dates = window.dates
    if not dates:
        raise ValueError("--from must not be after --to")
    with engine.connect() as conn:
        customers = all_customers(conn)
    replay = _Replay(book)
    with indicator_service.open_source(engine, analytics=analytics) as source:
        activity = source.for_store(activity_frame(source, ACTIVITY_KINDS))
        contracts = source.for_store(source.contracts.to_pyarrow().to_pandas())
        labels = label_snapshots(
            customers,
            activity,
            contracts,
            dates,
            horizon_days=window.horizon_days,
            inactivity_days=window.inactivity_days,
        )
        del activity
        done = 0
        # With a model, its features (the indicators and their change over four weeks), else indicators.
        batches = (
            feature_batches(source, dates, zone)
            if book.model is not None
            else indicator_service.indicator_batches(source, dates, zone=zone)
        )
        for days, wide in batches:
            by_date = dict(iter(source.for_store(wide).groupby("as_of")))
            for day in days:
                replay.judge(day, by_date.get(day, wide.iloc[:0]), customers)
                done += 1
                if progress:
                    progress(done)
    rows = labels.merge(pd.concat(replay.judged, ignore_index=True), on=["customer_id", "as_of"], how="left")
    probability = rows["churn_probability"]
    rows["risk"] = probability.where(probability.notna(), (100 - rows["health_score"]) / 100).fillna(0.5)
    opened_all = (
        pd.concat(replay.opened, ignore_index=True)
        if replay.opened
        else pd.DataFrame(columns=["rule", "level_first"])
    )
    rule_levels = {c.rule.slug: c.rule.level for c in book.compiled}
    open_rules = pd.concat(replay.open_rules, ignore_index=True)
    return score_backtest(rows, opened_all, window, book.policy.levels, rule_levels, open_rules)
