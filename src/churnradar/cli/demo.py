"""`churnradar demo-data` writes simulated canonical files; `churnradar demo` loads them and reports."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from sqlalchemy.engine import Engine

from churnradar.cli.common import (
    DbOption,
    JsonOption,
    emit_json,
    fail,
    open_engine,
    parse_day,
    progress_bar,
    settings_or_fail,
)
from churnradar.config import Settings
from churnradar.demo import service as demo_service
from churnradar.evaluation.schemas import RunSummary
from churnradar.ingest.service import import_path
from churnradar.lake.service import lake_for
from churnradar.store import migrate

CustomersOption = Annotated[int, typer.Option(min=10, help="How many customers to simulate.")]
SeedOption = Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")]
EndOption = Annotated[str | None, typer.Option(help="Last day of the history (ISO date, default today).")]


def _write(
    out: Path, customers: int, seed: int, end: date, fmt: Literal["csv", "parquet"], quiet: bool
) -> dict[str, int]:
    from churnradar.demo.write import generate_demo  # numpy-heavy; only the demo commands pay for it

    with progress_bar(not quiet, f"simulating {customers:,} customers") as bar:

        def report(done: int) -> None:
            if bar is not None:
                bar.update(bar.task_ids[0], completed=done)

        summary = generate_demo(out, customers=customers, seed=seed, end=end, fmt=fmt, progress=report)
    return dict(summary.rows)


def register(app: typer.Typer) -> None:
    """Add the demo commands to the app."""

    @app.command("demo-data")
    def demo_data(
        out: Annotated[
            Path, typer.Option(help="Folder to write users/customers/events/contracts/invoices into.")
        ],
        customers: CustomersOption = 2_000,
        seed: SeedOption = 42,
        end: EndOption = None,
        fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
        as_json: JsonOption = False,
    ) -> None:
        """Write a simulated customer base in the canonical import format."""
        if fmt not in ("csv", "parquet"):
            fail(f"--format must be csv or parquet, not {fmt!r}")
        rows = _write(out, customers, seed, parse_day(end, "--end", date.today()), fmt, as_json)  # type: ignore[arg-type]
        if as_json:
            emit_json({"out": str(out), "rows": rows})
        else:
            typer.echo(f"wrote {out}: " + ", ".join(f"{n:,} {k}" for k, n in rows.items()))

    @app.command()
    def demo(
        ctx: typer.Context,
        customers: CustomersOption = 2_000,
        seed: SeedOption = 42,
        end: EndOption = None,
        weeks: Annotated[
            int, typer.Option(min=1, max=52, help="Weekly evaluations to run, ending at --end.")
        ] = 4,
        no_serve: Annotated[
            bool, typer.Option("--no-serve", help="Stop after loading and evaluating; do not start the web.")
        ] = False,
        host: Annotated[str, typer.Option(help="Address for the dashboard.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port for the dashboard.")] = 8000,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Simulate a customer base (a year of history), evaluate the last weeks, then serve the dashboard."""
        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        last_day = parse_day(end, "--end", date.today())
        with tempfile.TemporaryDirectory(prefix="churnradar-demo-") as folder:
            _write(Path(folder), customers, seed, last_day, "csv", as_json)
            summary = import_path(engine, Path(folder), settings=settings)
        if not summary.ok:
            problems = [str(e) for f in summary.files for e in f.errors[:5]]
            fail("the generated demo data did not import:\n" + "\n".join(problems))
        model = _train_model(engine, settings, quiet=as_json)
        evaluations = _evaluate_weeks(engine, settings, last_day, weeks, quiet=as_json)
        accounts = demo_service.demo_accounts(engine)
        counts = demo_service.counts(engine)
        url = engine.url.render_as_string(hide_password=True)
        if as_json:
            emit_json(
                {
                    "database": url,
                    "lake": str(lake_for(engine).root),
                    "counts": counts,
                    "model": model,
                    "evaluations": evaluations,
                    "accounts": [login for login, _, _ in accounts],
                    "roles": {login: role.value for login, role, _ in accounts},
                    "serve": not no_serve,
                }
            )
        else:
            typer.echo(f"demo data loaded into {url} and the lake at {lake_for(engine).root}:")
            for name, count in counts.items():
                typer.echo(f"  {name:<10} {count:>10,}")
            typer.echo(_model_line(model))
            for item in evaluations:
                levels = ", ".join(f"{k} {v:,}" for k, v in item["customers_by_level"].items())
                typer.echo(
                    f"evaluated as of {item['as_of']}: {levels}; churn probability for "
                    f"{item['scored']:,} of {item['customers']:,} customers"
                )
            for login, role, password in accounts:
                shown = f"{login} / {password}" if password else f"{login} (password kept)"
                typer.echo(f"demo login: {shown}  ({demo_service.ROLE_WORDS[role]})")
        if not no_serve:
            from churnradar.cli.web import serve_app

            serve_app(settings, engine, host=host, port=port)


def _train_model(engine: Engine, settings: Settings, *, quiet: bool) -> dict[str, Any]:
    """Train the churn model on the loaded history (kept if the stored one validates better)."""
    from churnradar.evaluation.training import retrain
    from churnradar.kit.clock import SystemClock
    from churnradar.scoring.exceptions import NotEnoughHistoryError

    try:
        with progress_bar(not quiet, "training the churn model"):
            report = retrain(engine, settings, SystemClock().now())
    except (NotEnoughHistoryError, ValueError) as exc:
        return {"trained": False, "why": str(exc)}
    return {
        "trained": True,
        "version": report["version"],
        "active_version": report["active_version"],
        "auc": report["model"].get("auc"),
        "base_rate": report["model"].get("base_rate"),
    }


def _model_line(model: dict[str, Any]) -> str:
    if not model["trained"]:
        return f"no churn model: {model['why']}"
    auc = "-" if model["auc"] is None else f"{model['auc']:.3f}"
    kept = "" if model["active_version"] == model["version"] else f", v{model['active_version']} kept"
    return f"churn model v{model['version']} trained: AUC {auc} on later dates{kept}"


def _evaluate_weeks(
    engine: Engine, settings: Settings, last_day: date, weeks: int, *, quiet: bool
) -> list[RunSummary]:
    """Weekly evaluations ending at `last_day`, so the dashboard has a trend; dates done are skipped."""
    from churnradar.effectiveness.service import store_figures
    from churnradar.evaluation.exceptions import EvaluationError
    from churnradar.evaluation.service import evaluate

    done = []
    for back in range(weeks - 1, -1, -1):
        day = last_day - timedelta(days=7 * back)
        try:
            with progress_bar(not quiet, f"evaluating as of {day}"):
                done.append(evaluate(engine, as_of=day, settings=settings).as_dict())
        except EvaluationError:
            continue  # evaluated before, or a later date already was: the stored state stands
    if done:  # the effectiveness page's figures as of the last evaluation (the day the demo ends)
        with progress_bar(not quiet, "storing the effectiveness figures"):
            last = date.fromisoformat(str(done[-1]["as_of"]))
            store_figures(engine, as_of=last, now=datetime.now(UTC).replace(tzinfo=None))
    return done
