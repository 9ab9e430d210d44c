"""`churnradar indicator add FILE.yaml | list | show NAME | remove NAME | export`: custom indicators
stored in the database, used at once by rules, `rule test`, backtests, evaluate, the 360 charts and the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli.common import DbOption, JsonOption, emit_json, fail, open_engine
from churnradar.store import migrate

NameArgument = Annotated[str, typer.Argument(help="The indicator's name (its field in rules).")]


def register(app: typer.Typer) -> None:
    """Add the `indicator` command group to the app."""
    indicator_app = typer.Typer(
        help="Custom indicators without code: event kinds, a filter, an aggregate, a window.",
        no_args_is_help=True,
    )
    app.add_typer(indicator_app, name="indicator")

    @indicator_app.command("add")
    def add(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="YAML: one definition or a list of them.")],
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Create or replace the definitions of FILE, checked whole first (nothing stored on an error)."""
        from churnradar.indicator import service
        from churnradar.indicator.exceptions import DefinitionError, IndicatorInUseError
        from churnradar.rule import service as rule_service
        from churnradar.rule.fields import customer_fields

        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {file}: {exc}")
        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            definitions = service.parse_custom_yaml(text, str(file))
            counts = service.save_custom(
                engine,
                definitions,
                actor=None,
                reserved=tuple(customer_fields()),
                rules_using=rule_service.rules_using,
            )
        except (DefinitionError, IndicatorInUseError) as exc:
            fail(str(exc))
        if as_json:
            emit_json({**counts, "indicators": [d.name for d in definitions]})
            return
        typer.echo(
            f"{counts['created']} created, {counts['updated']} updated: "
            + ", ".join(d.name for d in definitions)
        )

    @indicator_app.command("list")
    def list_(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
        """Every stored custom indicator."""
        from churnradar.indicator import service

        engine = open_engine(ctx, db)
        migrate(engine)
        found = service.list_custom(engine)
        if as_json:
            emit_json([d.model_dump(mode="json") for d in found])
            return
        if not found:
            typer.echo("no custom indicators yet (churnradar indicator add FILE.yaml)")
        for d in found:
            window = f"{d.window_days} d" if d.window_days else "all history"
            typer.echo(f"{d.name:<32} {d.aggregate:<16} {window:<12} {d.name_en} / {d.name_zh}")

    @indicator_app.command("show")
    def show(
        ctx: typer.Context, name: NameArgument, db: DbOption = None, as_json: JsonOption = False
    ) -> None:
        """One stored custom indicator as YAML (or JSON)."""
        import yaml

        from churnradar.indicator import service
        from churnradar.indicator.exceptions import IndicatorNotFoundError

        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            found = service.get_custom(engine, name)
        except IndicatorNotFoundError as exc:
            fail(str(exc))
        dumped = found.model_dump(mode="json")
        if as_json:
            emit_json({**dumped, "columns": found.slugs()})
            return
        typer.echo(yaml.safe_dump(dumped, allow_unicode=True, sort_keys=False).rstrip())

    @indicator_app.command("remove")
    def remove(
        ctx: typer.Context, name: NameArgument, db: DbOption = None, as_json: JsonOption = False
    ) -> None:
        """Remove a custom indicator; refused, naming them, while rules read it."""
        from churnradar.indicator import service
        from churnradar.indicator.exceptions import IndicatorInUseError, IndicatorNotFoundError
        from churnradar.rule import service as rule_service

        engine = open_engine(ctx, db)
        migrate(engine)
        try:
            service.remove_custom(engine, name, actor=None, rules_using=rule_service.rules_using)
        except IndicatorInUseError as exc:
            if as_json:
                emit_json({"removed": False, "error": str(exc), "rules": exc.rules})
                raise typer.Exit(1) from exc
            fail(str(exc))
        except IndicatorNotFoundError as exc:
            fail(str(exc))
        if as_json:
            emit_json({"removed": True, "indicator": name})
            return
        typer.echo(f"removed {name}")

    @indicator_app.command("export")
    def export(ctx: typer.Context, db: DbOption = None) -> None:
        """Every custom indicator as YAML on stdout (`indicator add` takes it back)."""
        from churnradar.indicator import service

        engine = open_engine(ctx, db)
        migrate(engine)
        typer.echo(service.export_custom(engine, actor=None).rstrip())
