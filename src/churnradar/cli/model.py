"""`churnradar model train` and `churnradar model report`: the churn model with its baselines side by side."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from churnradar.cli.common import (
    AsOfOption,
    DbOption,
    JsonOption,
    dated_store,
    emit_json,
    fail,
    open_engine,
    parse_day,
    settings_or_fail,
)
from churnradar.kit.clock import SystemClock
from churnradar.store import migrate

SCORES = ("auc", "pr_auc", "brier", "lift_top_decile")


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def reliability_table(curve: list[dict[str, Any]]) -> Any:
    """The calibration curve as a reliability table: per probability bin, predicted against observed."""
    from rich.table import Table

    table = Table(
        "bin", "predicted", "observed", "difference", "customer-snapshots",
        title="reliability (held-out dates, by probability decile; tied steps merge deciles)",
    )  # fmt: skip
    for i, point in enumerate(curve, start=1):
        gap = point["observed"] - point["predicted"]
        table.add_row(
            str(i),
            f"{point['predicted']:.1%}",
            f"{point['observed']:.1%}",
            f"{gap:+.1%}",
            f"{point.get('rows', 0):,}",
        )
    return table


def print_report(report: dict[str, Any]) -> None:
    """Held-out metrics, baselines side by side, and the calibration curve, as tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    dates = report.get("dates", {})
    console.print(
        f"model v{report.get('version')}: trained {' .. '.join(dates.get('train', []))}, calibrated "
        f"{' .. '.join(dates.get('calibrate', []))}, measured on {' .. '.join(dates.get('test', []))} "
        f"({report.get('calibration_method')} calibration, {report.get('rounds')} rounds)"
    )
    table = Table("customers", "ranker", "rows", "churn rate", "AUC", "PR-AUC", "Brier", "lift top 10%")
    for group, rankers in report.get("baselines", {}).items():
        for ranker, m in rankers.items():
            table.add_row(
                group, ranker, f"{m['rows']:,}", _cell(m["base_rate"]), *(_cell(m[k]) for k in SCORES)
            )
    raw = report.get("model_uncalibrated")
    if raw:
        table.add_row("all", "model, uncalibrated", f"{raw['rows']:,}", _cell(raw["base_rate"]),
                      *(_cell(raw[k]) for k in SCORES))  # fmt: skip
    console.print(table)
    console.print(reliability_table(report.get("calibration_curve", [])))
    health = report.get("health")
    if health:
        how = "learned weights applied" if health["applied"] else "the templates' own weights kept"
        rho = health.get("spearman_with_probability")
        console.print(
            f"health score: {how} (health_learned / health_template above); rank correlation with the "
            f"probability {'-' if rho is None else f'{rho:+.2f}'} (negative: they agree)"
        )
    top = ", ".join(f"{k} {v:.0%}" for k, v in report.get("importance", {}).items())
    console.print(f"most used features (share of gain): {top}")


def register(app: typer.Typer) -> None:
    """Add the `model` command group to the app."""
    group = typer.Typer(help="Train the churn model and report how it does against simple baselines.")
    app.add_typer(group, name="model")

    @app.command("explain")
    def explain(
        ctx: typer.Context,
        customer: Annotated[str, typer.Argument(help="The customer's id in the source system.")],
        as_of: AsOfOption = None,
        lang: Annotated[str, typer.Option(help="en or zh for the reasons.")] = "en",
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """A customer's churn probability and the reasons behind it, as the active model sees them."""
        from churnradar.evaluation.exceptions import ExplainError
        from churnradar.evaluation.explain import explain_customer

        settings, day, engine = dated_store(ctx, db, as_of)
        try:
            result = explain_customer(engine, settings, customer, day)
        except ExplainError as exc:
            fail(str(exc))
        if as_json:
            emit_json(result.as_dict())
            return
        name = f" ({result.name})" if result.name else ""
        typer.echo(
            f"{result.customer_id}{name} as of {day}: {result.churn_probability:.0%} chance of churning "
            f"within {result.horizon_days} days (model v{result.model_version})"
        )
        for i, item in enumerate(result.reasons, start=1):
            typer.echo(f"  {i}. {item.text_zh if lang.startswith('zh') else item.text_en}")
        if not result.reasons:
            typer.echo("  nothing raises this customer's risk above the typical customer's")

    @group.command("train")
    def train(
        ctx: typer.Context,
        until: Annotated[
            str | None,
            typer.Option(
                "--until", help="Learn only from snapshots whose outcome is known before this date."
            ),
        ] = None,
        snapshots: Annotated[int, typer.Option("--snapshots", min=3, help="Weekly as-of dates to use.")] = 52,
        horizon: Annotated[
            int, typer.Option("--horizon", min=1, help="Days ahead in which a churn counts.")
        ] = 90,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Train on past snapshots, validate on later dates, store as the model `evaluate` uses."""
        from churnradar.cli.common import progress_bar
        from churnradar.evaluation.training import TrainOptions, train_from_store
        from churnradar.scoring.exceptions import NotEnoughHistoryError

        settings = settings_or_fail()
        day = parse_day(until, "--until") if until else None
        options = TrainOptions(until=day, snapshots=snapshots, horizon_days=horizon, zone=settings.zone)
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            with progress_bar(not as_json, "training") as bar:

                def report(step: str) -> None:
                    if bar is not None:
                        bar.update(bar.task_ids[0], description=step)

                result = train_from_store(engine, options, at=SystemClock().now(), progress=report)
        except (NotEnoughHistoryError, ValueError) as exc:
            fail(str(exc))
        if as_json:
            emit_json(result)
        else:
            print_report(result)

    @group.command("report")
    def report(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
        """The active model's held-out metrics, calibration and baselines side by side."""
        from churnradar.scoring.service import model_rows

        engine = open_engine(ctx, db)
        migrate(engine)
        rows = model_rows(engine)
        active = next((r for r in rows if r["active"]), None)
        if active is None:
            fail("no model yet: run `churnradar model train`")
        result = {"version": active["version"], **active["metrics"]}
        if as_json:
            emit_json(
                result | {"models": [{k: r[k] for k in ("version", "active", "created_at")} for r in rows]}
            )
        else:
            print_report(result)
