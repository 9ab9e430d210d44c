"""`churnradar sources list | apply FILE | test NAME | sync NAME [--full] | sync-due | delete NAME`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli.common import DbOption, JsonOption, emit_json, fail, open_engine, settings_or_fail
from churnradar.ingest.exceptions import IngestError
from churnradar.source import service as source_service
from churnradar.source.exceptions import SourceError
from churnradar.source.schemas import SyncSummary
from churnradar.store import migrate

NameArgument = Annotated[str, typer.Argument(help="The source's name.")]


def _print_sync(summary: SyncSummary) -> None:
    for kind in summary.kinds:
        if kind.error_count:
            typer.echo(
                f"{kind.kind.value}: rejected, nothing stored from that batch ({kind.error_count:,} errors):",
                err=True,
            )
            for error in kind.errors:
                typer.echo(f"  {error}", err=True)
            if kind.error_count > len(kind.errors):
                typer.echo(f"  ... and {kind.error_count - len(kind.errors):,} more", err=True)
        else:
            typer.echo(
                f"{kind.kind.value}: {kind.rows:,} rows in {kind.batches:,} batch(es): "
                f"{kind.inserted:,} inserted, "
                f"{kind.updated:,} updated, {kind.unchanged:,} unchanged; cursor {kind.cursor or '-'}"
            )
    if summary.error:
        typer.echo(summary.error, err=True)
    typer.echo(f"{summary.source}: {summary.status} in {summary.duration_seconds:.2f} s", err=not summary.ok)


def register(app: typer.Typer) -> None:
    """Add the `sources` command group to the app."""
    sources_app = typer.Typer(
        help="Connected sources (a CRM database, a REST API, a watched folder) pulled on a schedule.",
        no_args_is_help=True,
    )
    app.add_typer(sources_app, name="sources")

    @sources_app.command("list")
    def list_(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
        """Every source with its schedule, last sync and cursors (secrets show as "set")."""
        engine = open_engine(ctx, db)
        migrate(engine)
        views = source_service.list_sources(engine)
        if as_json:
            emit_json([v.model_dump(mode="json") for v in views])
            return
        if not views:
            typer.echo("no sources yet (churnradar sources apply FILE.yaml)")
        for view in views:
            last = (
                f"{view.last_status} at {view.last_sync:%Y-%m-%d %H:%M}" if view.last_sync else "never synced"
            )
            typer.echo(
                f"{view.name}\t{view.kind}\t{view.schedule or 'by hand'}\t"
                f"{'enabled' if view.enabled else 'disabled'}\t{last}"
            )

    @sources_app.command("apply")
    def apply(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="A YAML file of sources (secrets may read env:NAME).")],
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create or replace the sources a YAML file defines; secrets it omits keep their stored values."""
        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            views = [
                source_service.save_source(engine, d, settings=settings)
                for d in source_service.load_definitions(path)
            ]
        except SourceError as exc:
            fail(str(exc))
        if as_json:
            emit_json([v.model_dump(mode="json") for v in views])
        else:
            for view in views:
                typer.echo(f"saved {view.kind} source {view.name}")

    @sources_app.command("test")
    def test(
        ctx: typer.Context, name: NameArgument, db: DbOption = None, as_json: JsonOption = False
    ) -> None:
        """Reach the source and read a little, storing nothing."""
        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            found = source_service.test_source(engine, name, settings=settings, actor=None)
        except SourceError as exc:
            if as_json:
                emit_json({"ok": False, "error": str(exc)})
                raise typer.Exit(1) from None
            fail(str(exc))
        if as_json:
            emit_json({"ok": True, "found": found})
        else:
            typer.echo(f"{name}: {found}")

    @sources_app.command("sync")
    def sync(
        ctx: typer.Context,
        name: NameArgument,
        full: Annotated[
            bool, typer.Option("--full", help="Read everything again, not only what is new.")
        ] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Pull what is new since the last sync through the import; a rejected batch stores nothing."""
        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            summary = source_service.sync_source(engine, name, settings=settings, full=full)
        except (SourceError, IngestError) as exc:
            fail(str(exc))
        if as_json:
            emit_json({"ok": summary.ok, "totals": summary.totals(), **summary.model_dump(mode="json")})
        else:
            _print_sync(summary)
        if not summary.ok:
            raise typer.Exit(1)

    @sources_app.command("sync-due")
    def sync_due(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
        """Sync every enabled source whose cron schedule is due now (for cron; the worker does the same)."""
        from churnradar.kit.clock import SystemClock

        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        summaries = source_service.sync_due(engine, settings, SystemClock().now())
        if as_json:
            emit_json([{"ok": s.ok, "totals": s.totals(), **s.model_dump(mode="json")} for s in summaries])
        else:
            for summary in summaries:
                _print_sync(summary)
        if not all(s.ok for s in summaries):
            raise typer.Exit(1)

    @sources_app.command("delete")
    def delete(ctx: typer.Context, name: NameArgument, db: DbOption = None) -> None:
        """Remove a source, its runs and cursors (the data it imported stays)."""
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            source_service.delete_source(engine, name)
        except SourceError as exc:
            fail(str(exc))
        typer.echo(f"deleted source {name}")
