"""`churnradar report effectiveness`: churn before and after go-live, warnings, save rate, task outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from churnradar.cli.common import DbOption, JsonOption, emit_json, open_engine, parse_day, settings_or_fail
from churnradar.store import migrate


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "REVIEW" if value else ""
    return (
        f"{value:.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)
    )


def print_effectiveness(report: dict[str, Any]) -> None:
    """The report as readable tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    months = Table("month", "active at start", "lost", "churn rate", "complete", title="churn by month")
    for m in report["churn_by_month"]:
        months.add_row(m["month"], _cell(m["active_at_start"]), _cell(m["lost"]), _cell(m["churn_rate"]),
                       "yes" if m["complete"] else "not yet")  # fmt: skip
    console.print(months)
    change = report["before_after"]
    if change:
        console.print(
            f"go-live {change['go_live']}: churn rate {_cell(change['before']['churn_rate'])} a month before "
            f"({change['before']['months']} months), {_cell(change['after']['churn_rate'])} after "
            f"({change['after']['months']} months), change {_cell(change['change'])}"
        )
    warnings = report["warnings"]
    if warnings is None:
        console.print("no alerts stored yet: run `churnradar evaluate` on a schedule first")
    else:
        dates = warnings["dates"]
        console.print(
            f"warnings judged on {dates['judged']} evaluation dates (outcome window passed by "
            f"{dates['judged_until']}); {dates['pending']} later dates pending"
        )
        columns = ("alerts", "pending", "precision", "recall", "median_lead_days")
        levels = Table(
            "level", *columns[:-1], title="warnings by level (customer-snapshots, as the backtest)"
        )
        for row in warnings["levels"]:
            levels.add_row(row["level"], *(_cell(row[k]) for k in columns[:-1]))
        console.print(levels)
        rules = Table("rule", *columns, "review", title="warnings by rule")
        for row in warnings["rules"]:
            rules.add_row(row["rule"], *(_cell(row[k]) for k in (*columns, "review")))
        console.print(rules)
    _print_save_rate(console, report["save_rate"])
    _print_tasks(console, report["tasks"])


def _print_save_rate(console: Any, save: dict[str, Any]) -> None:
    from rich.table import Table

    arms = Table("arm", "judged customers", "retained", "retained share", "pending", "not at risk",
                 title=f"save rate (outcome {save['horizon_days']} days after the draw)")  # fmt: skip
    for arm in ("intervened", "held_out"):
        row = save[arm]
        arms.add_row(arm.replace("_", " "), *(_cell(row[k]) for k in
                     ("customers", "retained", "retained_share", "pending", "not_at_risk")))  # fmt: skip
    console.print(arms)
    if save["difference"] is not None:
        low, high = save["ci95"]
        console.print(f"difference {save['difference']:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}]")
    console.print(save["note"])


def _print_tasks(console: Any, tasks: dict[str, Any]) -> None:
    from rich.table import Table

    columns = ("tasks", "open", "retained", "churned", "false_alarm", "unreachable", "saved_share")
    for key, name, title in (
        ("by_action", "action", "task outcomes by playbook action done"),
        ("by_owner", "owner", "task outcomes by owner"),
        ("by_team", "team", "task outcomes by team"),
    ):
        table = Table(name, *columns, title=title)
        for row in tasks[key]:
            table.add_row(row[name] or "-", *(_cell(row[k]) for k in columns))
        console.print(table)
    compliance = tasks["deadline_compliance"]
    months = Table("deadline month", "due", "closed on time", "share", title="deadline compliance")
    for row in compliance["months"]:
        months.add_row(row["month"], _cell(row["due"]), _cell(row["on_time"]), _cell(row["share"]))
    months.add_row("all", _cell(compliance["due"]), _cell(compliance["on_time"]), _cell(compliance["share"]))
    console.print(months)


def register(app: typer.Typer) -> None:
    """Add the `report` command group to the app."""
    group = typer.Typer(help="Reports on how the system is doing.")
    app.add_typer(group, name="report")

    @group.command("effectiveness")
    def effectiveness(
        ctx: typer.Context,
        go_live: Annotated[
            str | None, typer.Option("--go-live", help="Compare churn before and after this date (ISO).")
        ] = None,
        until: Annotated[
            str | None, typer.Option("--until", help="Report with data before this date (default today).")
        ] = None,
        months: Annotated[int, typer.Option("--months", min=1, help="Months of churn history.")] = 24,
        horizon: Annotated[
            int, typer.Option("--horizon", min=1, help="Days after an alert in which a churn counts.")
        ] = 90,
        inactivity: Annotated[
            int, typer.Option("--inactivity", min=1, help="Days of silence that count as churn.")
        ] = 90,
        min_alerts: Annotated[int, typer.Option(help="Flag rules with at least this many alerts ...")] = 50,
        max_precision: Annotated[float, typer.Option(help="... and precision below this.")] = 0.2,
        min_per_arm: Annotated[
            int, typer.Option(min=1, help="Judged customers needed in each arm for a save rate.")
        ] = 30,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Churn per month (before/after go-live), warnings per rule, save rate, task outcomes, deadlines."""
        from churnradar.effectiveness.alert_precision import ReviewPolicy
        from churnradar.effectiveness.service import effectiveness_report

        settings = settings_or_fail()
        today = datetime.now(settings.zone).date() + timedelta(days=1)
        engine = open_engine(ctx, db)
        migrate(engine)
        report = effectiveness_report(
            engine,
            until=parse_day(until, "--until", today),
            go_live=parse_day(go_live, "--go-live") if go_live else None,
            months=months,
            horizon_days=horizon,
            inactivity_days=inactivity,
            review=ReviewPolicy(min_alerts, max_precision),
            min_per_arm=min_per_arm,
        )
        if as_json:
            emit_json(report)
        else:
            print_effectiveness(report)
