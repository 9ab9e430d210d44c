"""The `churnradar` console command: one Typer app, commands grouped by domain in sibling modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from churnradar.cli import backup as backup_commands
from churnradar.cli import custom_indicators as custom_indicator_commands
from churnradar.cli import demo as demo_commands
from churnradar.cli import evaluate as evaluate_commands
from churnradar.cli import indicators as indicator_commands
from churnradar.cli import model as model_commands
from churnradar.cli import notify as notify_commands
from churnradar.cli import playbooks as playbook_commands
from churnradar.cli import report as report_commands
from churnradar.cli import rules as rule_commands
from churnradar.cli import settings_documents as settings_document_commands
from churnradar.cli import sources as source_commands
from churnradar.cli import tasks as task_commands
from churnradar.cli import users as user_commands
from churnradar.cli import web as web_commands
from churnradar.cli import worker as worker_commands
from churnradar.cli.common import (
    DbOption,
    JsonOption,
    emit_json,
    fail,
    open_engine,
    progress_bar,
    settings_or_fail,
    show_progress,
    stderr,
)
from churnradar.config import LogSettings, Settings, get_settings, settings_problem
from churnradar.ingest import service as ingest_service
from churnradar.ingest.exceptions import IngestError
from churnradar.ingest.mapping import load_mapping
from churnradar.ingest.schemas import RecordKind
from churnradar.ingest.service import ImportOptions, import_path
from churnradar.kit import logs
from churnradar.lake.exceptions import LakeBusyError, LakePairingError
from churnradar.lake.service import lake_for
from churnradar.lake.upgrade import move_store_history
from churnradar.models import ImportStatus
from churnradar.store import current_revision, migrate

app = typer.Typer(
    name="churnradar",
    help="Customer churn early warning: import behaviour, compute indicators, raise graded warnings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(ctx: typer.Context, db: DbOption = None) -> None:
    """Customer churn early warning (客户流失预警)."""
    ctx.obj = {"db": db}
    try:
        logging = get_settings().log
    except (ValidationError, ValueError):  # each command refuses bad settings with its own clear line
        logging = LogSettings()
    logs.configure(logging.format, logging.level)


# The last revision before each move of history into the lake, and the revision after which nothing moves.
PRE_LAKE_REVISION = "0009"  # events and indicator values in the store
PRE_INVOICES_REVISION = "0011"  # invoices in the store
LAKE_REVISION, INVOICES_LAKE_REVISION = "0010", "0012"


def _note(message: str) -> None:
    stderr.print(message, highlight=False)


@app.command()
def init(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Create the database and its lake, or migrate them to this version (safe to run again, or after a kill).

    A store from before the lake has its events, indicator snapshots and invoices moved into the lake once.
    """
    engine = open_engine(ctx, db)
    try:
        before = current_revision(engine)
        # A store from before the lake stops at the last revision that has the history tables, moves their
        # rows into the lake, and only then takes the revisions that drop them.
        if before is not None and before < LAKE_REVISION:
            migrate(engine, PRE_LAKE_REVISION)
        elif before is not None and before < INVOICES_LAKE_REVISION:
            migrate(engine, PRE_INVOICES_REVISION)
        else:
            migrate(engine)
    except Exception as exc:  # a database that cannot be reached or written
        fail(f"cannot initialise {engine.url.render_as_string(hide_password=True)}: {exc}")
    try:
        moved = move_store_history(engine, progress=_note if show_progress(not as_json) else None)
        _, after = migrate(engine)
        lake_for(engine)  # claims a new lake for this database; refuses another database's
    except LakeBusyError as exc:
        fail(f"{exc}; run init again when it is done")
    except LakePairingError as exc:
        fail(str(exc))
    ingest_service.settle_interrupted_imports(engine)  # imports a crash left half-done: settled
    url = engine.url.render_as_string(hide_password=True)
    if as_json:
        emit_json({"database": url, "from_revision": before, "revision": after, "upgrade": moved.as_dict()})
        return
    if before == after:
        typer.echo(f"{url} is up to date (revision {after})")
    else:
        typer.echo(f"{url} migrated from {before or 'empty'} to revision {after}")
    typer.echo(f"lake: {moved.lake}")
    if moved.moved_anything:
        typer.echo(moved.describe())


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="A canonical file (customers.csv, events.parquet, ...) or a folder.")
    ],
    mapping: Annotated[Path | None, typer.Option(help="YAML renaming source columns and values.")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV text encoding (default: detected).")] = None,
    create_missing_customers: Annotated[
        bool, typer.Option("--create-missing-customers", help="Create customers that events refer to.")
    ] = False,
    kind: Annotated[
        RecordKind | None, typer.Option(help="What the file holds, when its name does not say it.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import customers, events, contracts, invoices or users; a file with any invalid row stores nothing."""
    settings = settings_or_fail()
    engine = open_engine(ctx, db)
    try:
        options = ImportOptions(
            mapping=load_mapping(mapping) if mapping else ImportOptions().mapping,
            encoding=encoding,
            create_missing_customers=create_missing_customers,
        )
        migrate(engine)
        with progress_bar(not as_json, f"importing {path.name}") as bar:

            def report(file: str, rows: int) -> None:
                if bar is not None:
                    bar.update(bar.task_ids[0], description=f"importing {file}", completed=rows)

            summary = import_path(
                engine, path, settings=settings, options=options, progress=report, kind=kind
            )
    except IngestError as exc:
        fail(str(exc))
    if as_json:
        emit_json(
            {"ok": summary.ok, "totals": summary.totals(), "files": summary.model_dump(mode="json")["files"]}
        )
    else:
        for file in summary.files:
            name = Path(file.file).name
            if file.status == ImportStatus.SUCCEEDED:
                typer.echo(
                    f"{name}: {file.rows:,} rows: {file.inserted:,} inserted, {file.updated:,} updated, "
                    f"{file.unchanged:,} unchanged"
                    + (f" ({file.merged_duplicates:,} identical rows merged)" * bool(file.merged_duplicates))
                )
    for file in summary.files:
        if file.status != ImportStatus.SUCCEEDED:
            typer.echo(
                f"{Path(file.file).name}: rejected, nothing stored ({file.error_count:,} errors):", err=True
            )
            for error in file.errors:
                typer.echo(f"  {error}", err=True)
            if file.error_count > len(file.errors):
                typer.echo(f"  ... and {file.error_count - len(file.errors):,} more", err=True)
    if any(f.owner_changes for f in summary.files):
        _hand_over(engine, settings, quiet=as_json)
    if not summary.ok:
        raise typer.Exit(1)


def _hand_over(engine: Engine, settings: Settings, *, quiet: bool) -> None:
    """Open tasks follow the owner changes an import made (see interventions.on_owner_change)."""
    from datetime import UTC, datetime

    from churnradar import reactions
    from churnradar.customer.events import OwnersChanged

    event = OwnersChanged(at=datetime.now(UTC).replace(tzinfo=None))
    with engine.begin() as conn:
        reactions.dispatcher(settings).publish(conn, event)
    counts = event.outcomes
    if counts and not quiet:
        typer.echo("owner changes: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()), err=True)


backup_commands.register(app)
demo_commands.register(app)
evaluate_commands.register(app)
indicator_commands.register(app)
custom_indicator_commands.register(app)
model_commands.register(app)
report_commands.register(app)
notify_commands.register(app)
playbook_commands.register(app)
settings_document_commands.register(app)
rule_commands.register(app)
source_commands.register(app)
task_commands.register(app)
user_commands.register(app)
web_commands.register(app)
worker_commands.register(app)


def run() -> None:
    """Console entry point: any unexpected failure becomes one clear line on stderr and exit status 1."""
    try:
        app()
    except ValidationError as exc:  # settings read outside settings_or_fail
        stderr.print(
            f"[bold red]error:[/] invalid settings: {settings_problem(exc)}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
    except Exception as exc:
        try:
            debug = get_settings().debug
        except ValidationError:
            debug = False
        if debug:
            raise
        message = f"{type(exc).__name__}: {exc}"[:2000]
        stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        stderr.print("(set CHURNRADAR_DEBUG=1 to see the traceback)", style="dim")
        sys.exit(1)
