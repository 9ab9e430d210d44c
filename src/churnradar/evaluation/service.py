"""`churnradar evaluate`: indicators, health, rules and alerts as of a date, stored in one transaction.

Crash-safe: indicator snapshots are upserted (a rerun rewrites them) and everything else (alerts, their
events, each customer's risk, the run record) is written in one transaction, so a killed run leaves the
previous state and the rerun completes it. Idempotent: the same date twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from churnradar import i18n, reactions
from churnradar.alert import service as alert_service
from churnradar.alert.lifecycle import Policy, customer_levels, step
from churnradar.config import Settings
from churnradar.customer.events import OwnersChanged
from churnradar.datahealth import service as datahealth
from churnradar.evaluation import repository
from churnradar.evaluation.assess import Assessment, RuleBook, as_of_reasons, assess, build_rulebook
from churnradar.evaluation.exceptions import EvaluationError
from churnradar.evaluation.frames import all_customers, customers_at
from churnradar.evaluation.schemas import DataHealthSummary, RunSummary
from churnradar.indicator import service as indicator_service
from churnradar.indicator.frames import IndicatorFrame
from churnradar.kit.clock import Clock, SystemClock
from churnradar.kit.events import Dispatcher
from churnradar.kit.frames import checked
from churnradar.notification import service as notification_service
from churnradar.notification.schemas import Notice
from churnradar.rule import service as rule_service
from churnradar.rule import template_settings
from churnradar.rule.frames import FiredRules
from churnradar.scoring import service as scoring_service
from churnradar.scoring.dataset import indicator_columns, indicator_features
from churnradar.scoring.health import reweighted

HEALTH = "health_score"
PROBABILITY = "churn_probability"


@dataclass(frozen=True)
class EvaluationSummary:
    """What an evaluation did, for the CLI and `--json`."""

    as_of: date
    customers: int
    fired: int
    counts: dict[str, int]
    levels: dict[str, int]
    data_health: DataHealthSummary = field(default_factory=DataHealthSummary)
    tasks: dict[str, int] = field(default_factory=dict)  # opened, upgraded, held out (control group)
    left_out: list[str] = field(default_factory=list)  # stored rules that fail their checks, not run
    scored: int = 0  # customers given a churn probability by the active model

    @property
    def held_rules(self) -> list[str]:
        """The rules data health held (no new alerts until their feeds catch up)."""
        return list(self.data_health.get("held_rules") or [])

    def log_line(self) -> str:
        """One line for the operator's log: what was judged, what changed, what was held."""
        changes = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in ("opened", "escalated", "resolved"))
        held = f"; held by data health: {', '.join(self.held_rules)}" if self.held_rules else ""
        return (
            f"evaluated as of {self.as_of}: {self.customers} customers, {self.fired} rule hits; alerts "
            f"{changes}, {self.counts.get('open', 0)} open; tasks {self.tasks.get('opened', 0)} opened{held}"
        )

    def as_dict(self) -> RunSummary:
        """A JSON-ready form."""
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "rules_fired": self.fired,
            "alerts": self.counts,
            "customers_by_level": self.levels,
            "data_health": self.data_health,
            "tasks": self.tasks,
            "rules_left_out": self.left_out,
            "scored": self.scored,
        }


def active_rulebook(engine: Engine, *, clock: Clock | None = None, policy: Policy | None = None) -> RuleBook:
    """The templates with the rules stored in the database, over the built-in indicators."""
    indicators = [i.slug for i in indicator_service.selected_indicators()]
    templates, left_out = rule_service.checked_templates(engine, at=(clock or SystemClock()).now())
    model = scoring_service.active_model(engine)
    if model is not None:  # the health score weighted as learned with the model, where it learned weights
        templates = reweighted(templates, model.health_weights)
    with engine.connect() as conn:
        choices = template_settings.stored_choices(conn)
    return build_rulebook(
        templates, indicators, policy or Policy(), model, left_out=left_out, choices=choices
    )


def last_started(engine: Engine) -> datetime | None:
    """When the latest succeeded evaluation started (naive UTC), or None before the first."""
    with engine.connect() as conn:
        started: datetime | None = repository.latest_succeeded(conn, repository.RUNS.c.started_at)
    return started


def last_finished(engine: Engine) -> datetime | None:
    """When the latest succeeded evaluation finished (naive UTC), or None before the first."""
    with engine.connect() as conn:
        finished: datetime | None = repository.latest_succeeded(conn, repository.RUNS.c.finished_at)
    return finished


def latest_run_day(conn: Connection) -> date | None:
    """The as-of date of the latest succeeded evaluation (whose indicators are stored), or None."""
    latest: date | None = repository.latest_succeeded(conn, repository.RUNS.c.as_of)
    return latest


def run_summaries(conn: Connection, since: date) -> list[tuple[date, RunSummary]]:
    """Each succeeded evaluation since `since`, oldest first: its as-of date and summary (`as_dict`)."""
    return repository.run_summaries(conn, since)


def risk_table(
    assessment: Assessment, state: pd.DataFrame, as_of: date, policy: Policy, previous_health: pd.Series
) -> pd.DataFrame:
    """One row per judged customer: level from open alerts, health score and its change, top reasons."""
    table = assessment.table
    levels = customer_levels(state, policy)
    visible = state[state["muted"].fillna("") != "silenced"]
    # Ties broken by template and rule: the state's row order differs from run to run (the database returns
    # open alerts in no set order), and a rerun of a date must store the same reasons, byte for byte.
    ties = [c for c in ("template", "rule") if c in visible.columns]
    ranked = visible.assign(_rank=policy.rank(visible["level"])).sort_values(
        ["customer_id", "_rank", *ties], ascending=[True, False, *[True] * len(ties)], kind="stable"
    )
    # The three highest-ranked distinct reasons per customer (two rules of one template saying the same thing
    # are one reason), picked in one vectorised step (not a slice per group).
    ranked_reasons = ranked.drop_duplicates(["customer_id", "reason_en"], keep="first")
    top = ranked_reasons[ranked_reasons.groupby("customer_id").cumcount() < 3].groupby("customer_id")
    reasons = pd.DataFrame(
        {
            "reasons_en": top["reason_en"].agg(i18n.separator("en").join),
            "reasons_zh": top["reason_zh"].agg(i18n.separator("zh_CN").join),
            "open_alerts": ranked.groupby("customer_id").size(),
        }
    )
    risk = pd.DataFrame(
        {
            "customer_id": table["customer_id"],
            "health_score": table["health_score"],
            "health_level": table["health_level"],
            "churn_probability": table["churn_probability"],
        }
    )
    risk["as_of"] = as_of
    risk["level"] = risk["customer_id"].map(levels)
    risk["health_change"] = risk["health_score"] - risk["customer_id"].map(previous_health)
    risk = risk.merge(reasons, left_on="customer_id", right_index=True, how="left")
    risk["open_alerts"] = risk["open_alerts"].fillna(0).astype(int)
    return risk


def hold_rules(
    assessment: Assessment, before: pd.DataFrame, held: list[tuple[str, str]], book: RuleBook
) -> pd.DataFrame:
    """Fired rules, the held ones replaced by their open alerts as they stand (neither new nor resolved),
    their reasons said with today's values (an alert held since it opened said "contract ends in 18 days"
    on a day it was 11)."""
    fired = assessment.fired
    if not held:
        return fired
    keys = pd.MultiIndex.from_tuples(held, names=["template", "rule"])
    keep = ~pd.MultiIndex.from_frame(fired[["template", "rule"]]).isin(keys)
    frozen = before[pd.MultiIndex.from_frame(before[["template", "rule"]]).isin(keys)][list(fired.columns)]
    frozen = as_of_reasons(assessment.table, frozen, book)
    return pd.concat([fired[keep], frozen], ignore_index=True)


def _joined(texts: Sequence[i18n.Message], locale: str) -> str:
    return i18n.separator(locale).join(i18n.render(text, locale) for text in texts)


def data_health_notice(
    feeds: list[Any], held: list[tuple[str, str]], as_of: date, sources: Sequence[Any] = ()
) -> Notice:
    """One notice to the admins per as-of date: which feeds and connected sources look broken and which
    rules wait for them."""
    bad_feeds = [f for f in feeds if f.state.value in ("stale", "anomalous")]
    kinds = ", ".join(
        [f"{f.kind} ({f.state.value})" for f in bad_feeds]
        + [f"{s.source} ({s.state.value})" for s in sources]
    )
    bad = [*bad_feeds, *sources]
    rules = ", ".join(sorted({r for _, r in held}))
    return Notice(
        event="data_health",
        cause=f"data_health:{as_of.isoformat()}",
        level=None,
        customer_id=None,
        assignee_id=None,
        team_id=None,
        line=i18n.msg(
            "As of {as_of}: {kinds}. {reasons}. Rules on hold: {rules}.",
            as_of=as_of.isoformat(),
            kinds=kinds,
            reasons=i18n.Localized(
                *(
                    i18n.separator(lang).join(i18n.render(f.reason, lang) for f in bad)
                    for lang in ("en", "zh_CN")
                )
            ),
            rules=rules,
        ),
    )


def evaluate(
    engine: Engine,
    *,
    as_of: date,
    settings: Settings,
    clock: Clock | None = None,
    book: RuleBook | None = None,
    force: bool = False,
    events: Dispatcher | None = None,
) -> EvaluationSummary:
    """Evaluate every current customer as of `as_of` (data strictly before it) and store the outcome.

    Rules reading a stale or anomalous feed open no new alerts and keep their open ones as they are, unless
    `force`; the run's summary says which feeds and rules were held. The domain events the run raises go to
    `events` (every reaction of `churnradar.reactions` by default).
    """
    clock = clock or SystemClock()
    events = events or reactions.dispatcher(settings)
    with engine.connect() as conn:
        latest = latest_run_day(conn)
    if latest is not None and as_of < latest:
        raise EvaluationError(
            f"already evaluated up to {latest}; evaluation moves forward (use backtest for the past)"
        )
    book = book or active_rulebook(engine, clock=clock)
    with indicator_service.open_source(engine, analytics=settings.analytics) as source:
        # With a model, its features: the indicators and the key ones' change since four weeks earlier.
        features = (
            indicator_features(settings.zone)(source, [as_of])
            if book.model is not None
            else indicator_service.compute_indicators(source, [as_of], zone=settings.zone)
        )
        features = source.for_store(features)
    wide = checked(IndicatorFrame, indicator_columns(features))
    with engine.connect() as conn:
        customers = customers_at(all_customers(conn), as_of, book.templates, book.choices)
    previous_health = indicator_service.previous_values(engine, HEALTH, as_of)
    assessment = assess(features, customers, book)
    # The day's event counts are stored for the overview's data-health panel (it reuses them that day).
    feeds = datahealth.feed_health(engine, as_of, settings.data_health, store=True)
    silent_sources = datahealth.bad_connected_sources(engine, clock.now(), settings.data_health)
    spoiled = set() if force else datahealth.spoiled_indicators(feeds)
    held = sorted({(c.template, c.rule.slug) for c in book.compiled if c.names & spoiled})
    scores = scoring_service.score_table(book.model, assessment.table) if book.model else None
    started = clock.now()
    with engine.begin() as conn:
        run_id = repository.start_run(conn, as_of, started)
        if held or silent_sources:
            notification_service.notify(
                conn,
                [data_health_notice(feeds, held, as_of, silent_sources)],
                settings=settings,
                now=clock.now(),
            )
        # Open tasks follow owner changes that imports recorded, before today's tasks are decided.
        events.publish(conn, OwnersChanged(at=clock.now()))
        inputs = alert_service.step_inputs(conn, as_of=as_of, cooldown_days=book.policy.cooldown_days)
        before = inputs.before
        result = step(
            before.drop(columns="id"),
            checked(FiredRules, hold_rules(assessment, before, held, book)),
            as_of=as_of,
            policy=book.policy,
            recent_resolved=inputs.recent_resolved,
            silences=inputs.silences,
            owners=inputs.owners,
        )
        # The alerts' reactions (CRM webhooks, tasks and their notices: `churnradar.reactions`) commit with
        # the alerts that cause them, or not at all.
        changed = alert_service.record_step(
            conn, before, result, as_of=as_of, at=clock.now(), events=events, templates=book.templates
        )
        risk = risk_table(assessment, result.state, as_of, book.policy, previous_health)
        alert_service.replace_risk(conn, risk)
        if scores is not None and book.model is not None:
            scoring_service.replace_scores(conn, scores, as_of=as_of, version=book.model.version)
        # Health and the model's probability (when a model is active) join the indicator history, so charts,
        # "change since last time" and the score history read one table. The date's snapshot is written
        # whole in one lake commit before the store commits: if the store's commit fails, a rerun of the
        # date rewrites the same snapshot; if the lake's fails, nothing changed.
        health_values = risk[["customer_id", "health_score"]].rename(columns={"health_score": HEALTH})
        snapshot = wide.merge(health_values, on="customer_id", how="left")
        if scores is not None:
            snapshot = snapshot.merge(scores[["customer_id", PROBABILITY]], on="customer_id", how="left")
        indicator_service.store_snapshot(engine, snapshot.assign(as_of=as_of))
        levels = {level: int((risk["level"] == level).sum()) for level in book.policy.levels}
        health: DataHealthSummary = {
            "feeds": [f for f in datahealth.report(feeds) if f["state"] in ("stale", "anomalous")],
            "held_rules": [f"{t}/{r}" for t, r in held],
            "forced": force,
        }
        tasks = {key: changed.outcomes[outcome] for key, outcome in reactions.TASK_OUTCOMES.items()}
        summary = EvaluationSummary(
            as_of,
            len(customers),
            len(assessment.fired),
            result.counts,
            levels,
            health,
            tasks,
            list(book.left_out),
            0 if scores is None else int(scores[PROBABILITY].notna().sum()),
        )
        repository.finish_run(conn, run_id, clock.now(), summary.as_dict())
    return summary
