"""`churnradar demo-data` writes simulated canonical files; `churnradar demo` loads them and reports."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from churnradar.cli.common import (
    DbOption,
    JsonOption,
    emit_json,
    fail,
    open_engine,
    progress_bar,
    settings_or_fail,
)
from churnradar.ingest.service import import_path
from churnradar.models import Contract, Customer, Event, Invoice, User
from churnradar.store import migrate

CustomersOption = Annotated[int, typer.Option(min=10, help="How many customers to simulate.")]
SeedOption = Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")]
EndOption = Annotated[str | None, typer.Option(help="Last day of the history (ISO date, default today).")]


def _end_date(end: str | None) -> date:
    try:
        return date.fromisoformat(end) if end else date.today()
    except ValueError:
        fail(f"--end {end!r} is not an ISO date like 2026-11-23")


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


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in (
                ("users", User),
                ("customers", Customer),
                ("events", Event),
                ("contracts", Contract),
                ("invoices", Invoice),
            )
        }


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
        rows = _write(out, customers, seed, _end_date(end), fmt, as_json)  # type: ignore[arg-type]
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
        no_serve: Annotated[
            bool, typer.Option("--no-serve", help="Stop after loading; do not start the web.")
        ] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Fill the database with a simulated customer base (about a year of history) and report it."""
        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        with tempfile.TemporaryDirectory(prefix="churnradar-demo-") as folder:
            _write(Path(folder), customers, seed, _end_date(end), "csv", as_json)
            summary = import_path(engine, Path(folder), settings=settings)
        if not summary.ok:
            problems = [str(e) for f in summary.files for e in f.errors[:5]]
            fail("the generated demo data did not import:\n" + "\n".join(problems))
        counts = _counts(engine)
        if as_json:
            emit_json(
                {
                    "database": engine.url.render_as_string(hide_password=True),
                    "counts": counts,
                    "serve": False,
                }
            )
            return
        typer.echo("demo data loaded into " + engine.url.render_as_string(hide_password=True) + ":")
        for name, count in counts.items():
            typer.echo(f"  {name:<10} {count:>10,}")
        # Evaluation and the dashboard come with the indicator, rule and web work; say so, do not pretend.
        if not no_serve:
            typer.echo("evaluation and the web dashboard are not built yet; the data is ready for them.")
