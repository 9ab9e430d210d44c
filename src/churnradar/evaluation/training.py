"""`churnradar model train`: labelled history from the store, the model, its baselines side by side, stored.

Here rather than in `scoring` because the labels (CONTRACT §3) belong to the backtest machinery; scoring
stays a pure library that this module feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.evaluation.frames import activity_frame, all_customers, labelled_customers
from churnradar.evaluation.labels import ACTIVITY_KINDS
from churnradar.indicator import service as indicator_service
from churnradar.rule import service as rule_service
from churnradar.rule.schemas import Template
from churnradar.rule.template_settings import TemplateChoice, stored_choices, template_slugs
from churnradar.scoring import service as scoring_service
from churnradar.scoring.baselines import bgnbd_risk, recency_risk
from churnradar.scoring.dataset import (
    EXTRA_FEATURES,
    check_no_leakage,
    closed_before,
    indicator_features,
    training_set,
    with_tenure,
)
from churnradar.scoring.health import fit_weights, health_scores, part_values, reweighted
from churnradar.scoring.model import Trained, metrics, train
from churnradar.scoring.segments import segment_features_by_date

MIN_HEALTH_ROWS = 200  # customer-snapshots of a template's customers to learn its health weights from
# Indicators cost the same per date in one pass or in batches (about 3 s per date at 100k customers); batches
# of 8 keep the engine's result and its pandas copy small (6.2 GB peak for 52 dates in one pass).
DATES_PER_BATCH = 8


@dataclass(frozen=True)
class TrainOptions:
    """Which history to learn from and how outcomes are judged (the backtest's definitions)."""

    until: date | None = None  # only snapshots whose label window closes before this date
    every_days: int = 7
    snapshots: int = 52
    horizon_days: int = 90
    inactivity_days: int = 90
    zone: ZoneInfo | str = "UTC"
    params: dict[str, Any] | None = None  # LightGBM parameters over the defaults (scoring.model.PARAMS)
    segment_features: bool = True  # each key indicator against its segment's median (scoring.segments)


def snapshot_dates(first: date, end: date, options: TrainOptions) -> list[date]:
    """The latest `snapshots` as-of dates, `every_days` apart, with closed labels and history behind them."""
    until = min(options.until or end, end)
    last = until - timedelta(days=options.horizon_days)
    earliest = first + timedelta(days=options.inactivity_days)
    dates = [last - timedelta(days=i * options.every_days) for i in range(options.snapshots)]
    return closed_before(sorted(d for d in dates if d >= earliest), until, options.horizon_days)


@dataclass(frozen=True)
class History:
    """Labelled feature snapshots plus what the baselines need."""

    data: pd.DataFrame
    features: list[str]
    activity: pd.DataFrame
    orders: pd.DataFrame


def labelled_history(
    engine: Engine, options: TrainOptions, progress: Callable[[str], None] | None = None
) -> History:
    """Features at each as-of date (checked for leakage on the latest) joined to their labels."""
    say = progress or (lambda _: None)
    with indicator_service.open_source(engine) as source:
        activity = activity_frame(source, ACTIVITY_KINDS)
        if activity.empty:
            raise ValueError("no order, payment or login events: nothing to learn churn from")
        orders = activity_frame(source, ["order"])
        first, end = (
            pd.to_datetime(activity["day"]).min().date(),
            pd.to_datetime(activity["day"]).max().date(),
        )
        dates = snapshot_dates(first, end + timedelta(days=1), options)
        if len(dates) < 3:
            raise ValueError(f"only {len(dates)} as-of dates have closed labels: more history is needed")
        features = indicator_features(options.zone)
        say(f"checking features as of {dates[-1]} for leakage")
        check_no_leakage(source, features, dates[-1], options.zone)
        parts = []
        for start in range(0, len(dates), DATES_PER_BATCH):
            say(f"computing indicators at dates {start + 1}-{min(start + DATES_PER_BATCH, len(dates))}")
            part = features(source, dates[start : start + DATES_PER_BATCH])
            # float32 halves the memory of 100k x 52 snapshots; LightGBM bins the values anyway.
            parts.append(
                part.astype({c: "float32" for c in part.columns if c not in ("customer_id", "as_of")})
            )
        wide = pd.concat(parts, ignore_index=True)
        contracts = source.contracts.to_pyarrow().to_pandas()
    customers, labels = labelled_customers(
        engine,
        activity,
        contracts,
        dates,
        horizon_days=options.horizon_days,
        inactivity_days=options.inactivity_days,
    )
    if options.segment_features:
        wide = segment_features_by_date(wide, customers)
    wide = with_tenure(wide, customers)
    names = [c for c in wide.columns if c not in ("customer_id", "as_of")]
    wide = wide.astype(dict.fromkeys(names, "float32"))
    return History(training_set(wide, labels), names, activity, orders)


def baseline_metrics(trained: Trained, history: History) -> dict[str, Any]:
    """The model, recency and BG/NBD on the same held-out rows; BG/NBD and a fair model on buyers only."""
    rows = trained.test_rows
    truth = rows["churned"].to_numpy(bool)
    recency = recency_risk(rows, history.activity)
    bgnbd = bgnbd_risk(rows, history.orders)
    buyers = ~np.isnan(bgnbd)
    return {
        "all": {
            "model": metrics(truth, rows["probability"].to_numpy(np.float64)),
            "recency": metrics(truth, recency),
        },
        "buyers": {
            "model": metrics(truth[buyers], rows["probability"].to_numpy(np.float64)[buyers]),
            "recency": metrics(truth[buyers], recency[buyers]),
            "bgnbd": metrics(truth[buyers], bgnbd[buyers]),
        },
    }


def fit_model(
    engine: Engine, options: TrainOptions, progress: Callable[[str], None] | None, at: datetime
) -> tuple[History, Trained, dict[str, Any]]:
    """Labelled history, the trained model, and its report (held-out metrics with the baselines)."""
    say = progress or (lambda _: None)
    history = labelled_history(engine, options, progress)
    say(f"training on {len(history.data):,} customer-snapshots")
    trained = train(history.data, history.features, options.horizon_days, params=options.params)
    say("scoring the baselines")
    report = trained.metrics | {"baselines": baseline_metrics(trained, history)}
    say("refitting the health score's weights")
    templates, _ = rule_service.checked_templates(engine, at=at)
    with engine.connect() as conn:
        choices = stored_choices(conn)
    health = health_refit(engine, history, trained, templates, choices)
    report["baselines"]["all"] |= health.pop("rankers")
    report["health"] = health
    report["extra_features"] = list(EXTRA_FEATURES)
    return history, trained, report


def health_refit(
    engine: Engine,
    history: History,
    trained: Trained,
    templates: Mapping[str, Template],
    choices: Sequence[TemplateChoice] = (),
) -> dict[str, Any]:
    """The health score's weights learned on the training dates (per template, monotone), measured on the
    held-out dates beside the templates' own; applied only when they rank churners at least as well. Each
    customer's template is the one evaluation applies (the admins' choices by industry or segment)."""
    with engine.connect() as conn:
        customers = all_customers(conn)
    slugs = template_slugs(customers["industry"].tolist(), customers["segment"].tolist(), templates, choices)
    template_of = pd.Series(slugs, index=customers["customer_id"].to_numpy())
    data = history.data.assign(template=history.data["customer_id"].map(template_of))
    fitted = data[data["as_of"].isin(trained.split.train)]
    weights: dict[str, dict[str, float]] = {}
    for slug, template in templates.items():
        rows = fitted[fitted["template"] == slug]
        if not template.health or len(rows) < MIN_HEALTH_ROWS or rows["churned"].nunique() < 2:
            continue
        learned = fit_weights(
            part_values(rows, template.health), template.health, rows["churned"].to_numpy(bool)
        )
        weights[slug] = {
            p.indicator: round(float(w), 4) for p, w in zip(template.health, learned, strict=True)
        }
    test = data[data["as_of"].isin(trained.split.test)].reset_index(drop=True)
    truth = test["churned"].to_numpy(bool)
    scores = {
        name: health_scores(test, template_of, chosen)["health_score"].fillna(50.0).to_numpy(np.float64)
        for name, chosen in (("template", templates), ("learned", reweighted(templates, weights)))
    }
    rankers = {f"health_{name}": metrics(truth, 100.0 - score) for name, score in scores.items()}
    applied = (rankers["health_learned"]["auc"] or 0.0) >= (rankers["health_template"]["auc"] or 0.0)
    shown = scores["learned" if applied else "template"]
    probability = trained.test_rows["probability"].to_numpy(np.float64)
    constant = np.ptp(shown) == 0 or np.ptp(probability) == 0  # a model that ranks no one: no correlation
    agreement = float("nan") if constant else float(spearmanr(shown, probability).statistic)
    return {
        "rankers": rankers,
        "weights": weights if applied else {},
        "learned": weights,
        "applied": bool(applied),
        # Below zero: the healthier the score, the lower the model's probability, customer by customer.
        "spearman_with_probability": None if np.isnan(agreement) else round(agreement, 4),
    }


def _store(
    engine: Engine,
    trained: Trained,
    report: dict[str, Any],
    options: TrainOptions,
    at: datetime,
    activate: bool,
) -> int:
    return scoring_service.save_model(
        engine,
        trained,
        horizon_days=options.horizon_days,
        inactivity_days=options.inactivity_days,
        metrics=report,
        at=at,
        activate=activate,
    )


def train_from_store(
    engine: Engine,
    options: TrainOptions,
    *,
    at: datetime,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, compare with the baselines, store as the active model; returns the report."""
    history, trained, report = fit_model(engine, options, progress, at)
    version = _store(engine, trained, report, options, at, activate=True)
    return {"version": version, "features": len(history.features), **report}


def retrain(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    options: TrainOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a new model on the latest history (the scheduled job); the previous one stays active if better.

    Both are measured on the new model's held-out rows (dates neither was fitted on: the previous model's
    training dates end a horizon before its own, earlier, held-out dates). The new model is stored either
    way, active only when its AUC is at least the previous one's; the report says which and why.
    """
    options = options or TrainOptions(zone=settings.zone)
    history, trained, report = fit_model(engine, options, progress, now)
    previous = scoring_service.active_model(engine)
    compared: dict[str, Any] | None = None
    activate = True
    if previous is not None:
        test = history.data[history.data["as_of"].isin(trained.split.test)]
        truth = test["churned"].to_numpy(bool)
        before = metrics(truth, previous.scorer.predict(test)).get("auc")
        after = report["model"].get("auc")
        activate = before is None or (after is not None and after >= before)
        compared = {"previous_version": previous.version, "previous_auc": before, "auc": after}
    report["retrain"] = {"activated": activate, "compared": compared}
    version = _store(engine, trained, report, options, now, activate=activate)
    active = version if activate else previous.version if previous is not None else version
    return {"version": version, "active_version": active, "features": len(history.features), **report}
