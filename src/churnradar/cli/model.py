"""`churnradar model train` and `churnradar model report`: the churn model with its baselines side by side."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from churnradar.cli.common import (
    DbOption,
    JsonOption,
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
    curve = Table("predicted", "observed", title="calibration (held-out dates, by decile)")
    for point in report.get("calibration_curve", []):
        curve.add_row(_cell(point["predicted"]), _cell(point["observed"]))
    console.print(curve)
    top = ", ".join(f"{k} {v:.0%}" for k, v in report.get("importance", {}).items())
    console.print(f"most used features (share of gain): {top}")


def register(app: typer.Typer) -> None:
    """Add the `model` command group to the app."""
    group = typer.Typer(help="Train the churn model and report how it does against simple baselines.")
    app.add_typer(group, name="model")

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
