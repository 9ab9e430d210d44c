"""`churnradar evaluate` and `churnradar backtest`: judge customers as of a date, or replay the past."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from churnradar.cli.common import (
    AsOfOption,
    DbOption,
    ExitCode,
    JsonOption,
    dated_store,
    emit_json,
    fail,
    open_engine,
    parse_day,
    progress_bar,
    settings_or_fail,
)
from churnradar.store import migrate

if TYPE_CHECKING:
    from churnradar.evaluation.service import EvaluationSummary


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to the app."""
    register_data_health(app)

    @app.command()
    def evaluate(
        ctx: typer.Context,
        as_of: AsOfOption = None,
        force: Annotated[
            bool, typer.Option("--force", help="Evaluate rules even on feeds that look stale or broken.")
        ] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Compute indicators, rules, health and alerts as of a date; rerunning a date changes nothing."""
        from churnradar.effectiveness.service import store_figures
        from churnradar.evaluation.exceptions import EvaluationError
        from churnradar.evaluation.service import evaluate as run_evaluation

        settings, day, engine = dated_store(ctx, db, as_of)
        try:
            with progress_bar(not as_json, f"evaluating as of {day}"):
                summary = run_evaluation(engine, as_of=day, settings=settings, force=force)
                store_figures(engine, as_of=day, now=datetime.now(UTC).replace(tzinfo=None))
        except EvaluationError as exc:
            fail(str(exc))
        if as_json:
            emit_json(summary.as_dict())
        else:
            _print_summary(summary)
        if summary.held_rules:  # done, but a monitor must see that some rules waited for their data
            raise typer.Exit(ExitCode.HELD_BY_DATA_HEALTH)

    register_backtest(app)


def _print_summary(summary: EvaluationSummary) -> None:
    """The evaluation's summary for a person: counts on stdout, what needs attention on stderr."""
    day = summary.as_of
    counts = summary.counts
    typer.echo(f"as of {day}: {summary.customers:,} customers judged, {summary.fired:,} rule hits")
    changes = ", ".join(f"{counts[k]:,} {k}" for k in ("opened", "escalated", "deescalated", "resolved"))
    mutes = ", ".join(f"{counts[k]:,} {k}" for k in ("capped", "inhibited", "silenced"))
    typer.echo(
        f"alerts: {changes}; {counts['open']:,} open ({mutes}); "
        f"{counts['held_by_cooldown']:,} held by cooldown"
    )
    typer.echo("customers by level: " + ", ".join(f"{k} {v:,}" for k, v in summary.levels.items()))
    typer.echo(
        f"churn probability: {summary.scored:,} customers scored"
        if summary.scored
        else "churn probability: no model yet (`churnradar model train`)"
    )
    tasks = summary.tasks
    held_out = f"; {tasks['held_out']:,} customers held out (control group)" if tasks["held_out"] else ""
    typer.echo(f"tasks: {tasks['opened']:,} opened, {tasks['upgraded']:,} upgraded{held_out}")
    for problem in summary.left_out:
        typer.echo(f"rule left out (fails its checks; fix or re-import it): {problem}", err=True)
    for feed in summary.data_health.get("feeds", []):
        typer.echo(f"data health: {feed['kind']} feed {feed['state']}: {feed['reason']}", err=True)
    if summary.data_health.get("held_rules"):
        held = ", ".join(summary.data_health["held_rules"])
        typer.echo(
            f"held (no new alerts until the data catches up; --force to override; exit "
            f"{int(ExitCode.HELD_BY_DATA_HEALTH)}): {held}",
            err=True,
        )


def register_backtest(app: typer.Typer) -> None:
    """Add the backtest command to the app."""

    @app.command()
    def backtest(
        ctx: typer.Context,
        start: Annotated[str, typer.Option("--from", help="First as-of date (ISO).")],
        end: Annotated[str, typer.Option("--to", help="Last as-of date (ISO).")],
        every: Annotated[int, typer.Option("--every", min=1, help="Days between as-of dates.")] = 7,
        horizon: Annotated[
            int, typer.Option("--horizon", min=1, help="Days ahead in which a churn counts.")
        ] = 90,
        inactivity: Annotated[
            int,
            typer.Option(
                "--inactivity", min=1, help="Days without order, payment or login that count as churn."
            ),
        ] = 90,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Replay evaluation over past dates and score it against what happened; stores nothing."""
        from churnradar.evaluation.backtest import BacktestWindow, run_backtest
        from churnradar.evaluation.service import active_rulebook

        settings = settings_or_fail()
        window = BacktestWindow(
            parse_day(start, "--from"), parse_day(end, "--to"), every, horizon, inactivity
        )
        if window.start > window.end:
            fail("--from must not be after --to")
        engine = open_engine(ctx, db)
        migrate(engine)
        with progress_bar(not as_json, f"replaying {len(window.dates)} dates") as bar:

            def report(done: int) -> None:
                if bar is not None:
                    bar.update(bar.task_ids[0], completed=done)

            result = run_backtest(
                engine,
                window,
                active_rulebook(engine),
                zone=settings.zone,
                progress=report,
                analytics=settings.analytics,
            )
        if as_json:
            emit_json(result)
            return
        print_backtest(result)


def register_data_health(app: typer.Typer) -> None:
    """Add `churnradar data-health`."""

    @app.command("data-health")
    def data_health(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Judge feeds as of (ISO; default today).")
        ] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Per event kind and per import source: last arrival, usual cadence, recent volume, state."""
        from churnradar.datahealth.service import feed_health, report, source_health, source_report

        settings, day, engine = dated_store(ctx, db, as_of)
        policy = settings.data_health
        feeds = report(feed_health(engine, day, policy))
        # Sources are judged at the end of the as-of day (now, for today), against the import log's clock.
        end_of_day = datetime.combine(day + timedelta(days=1), time())
        moment = min(datetime.now(UTC).replace(tzinfo=None), end_of_day)
        sources = source_report(source_health(engine, moment, policy))
        if as_json:
            emit_json({"as_of": day.isoformat(), "feeds": feeds, "sources": sources})
            return
        typer.echo("Event kinds")
        for feed in feeds:
            usual = "-" if feed["usual_per_day"] is None else f"{feed['usual_per_day']:,.0f}/day"
            recent = "-" if feed["recent_per_day"] is None else f"{feed['recent_per_day']:,.0f}/day"
            typer.echo(
                f"  {feed['kind']:<18} {feed['state']:<10} last {feed['last_day'] or '-':<10} "
                f"recent {recent:<12} usual {usual:<12} {feed['reason']}"
            )
        typer.echo("Import sources")
        if not sources:
            typer.echo("  (no imports yet)")
        for source in sources:
            last = (source["last_arrival"] or "-")[:16]
            typer.echo(f"  {source['source']:<24} {source['state']:<10} last {last:<16} {source['reason']}")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_backtest(result: dict[str, object]) -> None:
    """The backtest report as readable tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    overall = result["overall"]
    assert isinstance(overall, dict)
    console.print(
        f"{result['from']} .. {result['to']} every {result['every_days']} days, "
        f"horizon {result['horizon_days']} days: {result['customer_snapshots']:,} customer-snapshots, "
        f"{result['churn_events']:,} churns"
    )
    summary = Table(
        "precision",
        "base rate",
        "recall",
        "median lead (days)",
        "alerts / week",
        "AUC",
        "PR-AUC",
        "lift top 10%",
    )
    summary.add_row(
        *(
            _cell(overall.get(k))
            for k in (
                "precision",
                "base_rate",
                "recall",
                "median_lead_days",
                "alerts_per_week",
                "auc",
                "pr_auc",
                "lift_top_decile",
            )
        )
    )
    console.print(summary)
    levels = Table("level", "alerts", "precision", "recall", title="by level")
    for row in _rows(result, "levels"):
        levels.add_row(str(row["level"]), *(_cell(row[k]) for k in ("alerts", "precision", "recall")))
    console.print(levels)
    rules = Table("rule", "level", "alerts", "precision", "recall", "median lead", title="by rule")
    for row in _rows(result, "rules"):
        rules.add_row(
            str(row["rule"]),
            str(row["level"]),
            *(_cell(row[k]) for k in ("alerts", "precision", "recall", "median_lead_days")),
        )
    console.print(rules)


def _rows(result: dict[str, object], key: str) -> list[dict[str, object]]:
    rows = result[key]
    assert isinstance(rows, list)
    return rows
