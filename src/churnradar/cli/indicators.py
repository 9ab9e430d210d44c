"""`churnradar indicators`: compute and store indicator snapshots as of a date, and print them;
`churnradar prune-snapshots`: let old snapshot dates go as settings say."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

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
from churnradar.store import migrate


def register(app: typer.Typer) -> None:
    """Add the indicators command to the app."""

    @app.command()
    def indicators(
        ctx: typer.Context,
        as_of: Annotated[str, typer.Option("--as-of", help="Compute with data before this date (ISO).")],
        definitions: Annotated[
            list[Path] | None,
            typer.Option("--definitions", help="Extra indicator definition YAML file (repeatable)."),
        ] = None,
        customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Compute every indicator as of a date, store the snapshot (rerun-safe) and print it."""
        from churnradar.indicator import service  # Ibis and DuckDB load only for this command
        from churnradar.indicator.exceptions import DefinitionError
        from churnradar.indicator.registry import default_registry

        settings = settings_or_fail()
        day = parse_day(as_of, "--as-of")
        engine = open_engine(ctx, db)
        try:
            registry = default_registry(definitions or [])
        except DefinitionError as exc:
            fail(str(exc))
        try:
            migrate(engine)
            with progress_bar(not as_json, f"computing indicators as of {day}"):
                written = service.snapshot_indicators(
                    engine, [day], registry=registry, zone=settings.zone, analytics=settings.analytics
                )
            values = service.read_snapshot(engine, day, customer=customer)
        except LookupError as exc:
            fail(str(exc))
        except Exception as exc:  # an unreachable database, a missing extension: named for the user
            fail(f"cannot compute indicators: {exc}")
        if as_json:
            emit_json(
                {
                    "as_of": day.isoformat(),
                    "rows_written": written,
                    "customers": [{"customer_id": c, "indicators": v} for c, v in values.items()],
                }
            )
            return
        for customer_id, by_slug in values.items():
            typer.echo(f"{customer_id}")
            for slug, value in by_slug.items():
                shown = "-" if value is None else f"{value:,.4g}"
                typer.echo(f"  {slug:<34} {shown:>12}")

    @app.command("prune-snapshots")
    def prune_snapshots(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Judge ages from this date (ISO; default today).")
        ] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Remove indicator snapshot dates past the retention in settings (`CHURNRADAR_SNAPSHOTS__*`)."""
        from churnradar.indicator import service

        settings = settings_or_fail()
        today = parse_day(as_of, "--as-of", datetime.now(settings.zone).date())
        engine = open_engine(ctx, db)
        migrate(engine)
        pruned = service.prune_snapshots(engine, today=today, policy=settings.snapshots)
        if as_json:
            emit_json(pruned.as_dict())
            return
        if not pruned.dates:
            typer.echo("no snapshot dates to remove")
            return
        shown = ", ".join(d.isoformat() for d in pruned.dates[:10])
        shown += " ..." if len(pruned.dates) > 10 else ""
        typer.echo(f"removed {len(pruned.dates):,} snapshot dates ({pruned.rows:,} values): {shown}")
