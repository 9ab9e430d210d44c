"""`churnradar playbook list | export | import FILE` and `churnradar route export | import FILE`: the
playbooks and task routes admins keep, as YAML that can live in git (checked whole; audited)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli.common import DbOption, JsonOption, emit_json, fail, open_engine
from churnradar.store import migrate

FileArgument = Annotated[Path, typer.Argument(help="The YAML file to import.")]


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")


def register(app: typer.Typer) -> None:
    """Add the `playbook` and `route` command groups to the app."""
    playbook_app = typer.Typer(
        help="Playbooks per template and level, stored in the database.", no_args_is_help=True
    )
    route_app = typer.Typer(
        help="Task routes: who gets a new task and who else is told.", no_args_is_help=True
    )
    app.add_typer(playbook_app, name="playbook")
    app.add_typer(route_app, name="route")

    @playbook_app.command("list")
    def list_(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
        """Every template's playbook per level, and where it comes from (stored, template, general)."""
        from churnradar.intervention import playbooks
        from churnradar.kit.clock import SystemClock
        from churnradar.rule import service as rule_service

        engine = open_engine(ctx, db)
        migrate(engine)
        templates = rule_service.active_templates(engine, at=SystemClock().now())
        with engine.connect() as conn:
            found = playbooks.views(templates, playbooks.stored(conn))
        if as_json:
            rows = [{"template": v.template, "level": v.level, "source": v.source} for v in found]
            emit_json([row | v.playbook.model_dump(mode="json") for row, v in zip(rows, found, strict=True)])
            return
        for v in found:
            book = v.playbook
            typer.echo(
                f"{v.template:<16} {v.level:<8} {book.role.value:<18} {book.deadline_hours:>4} h  {v.source}"
            )

    @playbook_app.command("export")
    def export(ctx: typer.Context, db: DbOption = None) -> None:
        """Every playbook in force as YAML on standard output (audited)."""
        from sqlalchemy.orm import Session

        from churnradar.intervention import playbooks
        from churnradar.kit.clock import SystemClock
        from churnradar.rule import service as rule_service

        engine = open_engine(ctx, db)
        migrate(engine)
        templates = rule_service.active_templates(engine, at=SystemClock().now())
        with Session(engine) as session:
            text = playbooks.export_yaml(session, None, templates)
            session.commit()
        typer.echo(text, nl=False)

    @playbook_app.command("import")
    def import_(ctx: typer.Context, file: FileArgument, db: DbOption = None) -> None:
        """Store every playbook of FILE, checked whole first: one wrong entry stores none (audited)."""
        from sqlalchemy.orm import Session

        from churnradar.intervention import playbooks
        from churnradar.intervention.exceptions import PlaybookError
        from churnradar.kit.clock import SystemClock
        from churnradar.rule import service as rule_service

        text = _read(file)
        engine = open_engine(ctx, db)
        migrate(engine)
        now = SystemClock().now()
        templates = rule_service.active_templates(engine, at=now)
        with Session(engine) as session:
            try:
                count = playbooks.import_yaml(session, None, templates, text, now=now)
            except PlaybookError as exc:
                fail(f"{file}: {exc}")
            session.commit()
        typer.echo(f"{count} playbooks stored")

    @route_app.command("export")
    def export_routes(ctx: typer.Context, db: DbOption = None) -> None:
        """The task routes as YAML on standard output (audited)."""
        from sqlalchemy.orm import Session

        from churnradar.intervention import routes

        engine = open_engine(ctx, db)
        migrate(engine)
        with Session(engine) as session:
            text = routes.export_yaml(session, None)
            session.commit()
        typer.echo(text, nl=False)

    @route_app.command("import")
    def import_routes(ctx: typer.Context, file: FileArgument, db: DbOption = None) -> None:
        """Replace the task routes with FILE's (`routes:`), checked whole (audited)."""
        from sqlalchemy.orm import Session

        from churnradar.intervention import routes
        from churnradar.intervention.exceptions import RoutingError
        from churnradar.kit.clock import SystemClock

        text = _read(file)
        engine = open_engine(ctx, db)
        migrate(engine)
        with Session(engine) as session:
            try:
                count = routes.import_yaml(session, None, text, now=SystemClock().now())
            except RoutingError as exc:
                fail(f"{file}: {exc}")
            session.commit()
        typer.echo(f"{count} routes stored")
