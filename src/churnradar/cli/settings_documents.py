"""`churnradar channel | notification-routing | template | keywords | field  export [-o FILE] | import FILE`:
the settings documents admins keep, as YAML that can live in git. One pair of commands per document kind,
made by one helper: the export goes to standard output or a file and is audited; the import is checked whole
by the kind's service, which locates every wrong place, stores nothing on a refusal and audits what it
stores (as "cli")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from churnradar.cli.common import DbOption, fail, open_engine, settings_or_fail
from churnradar.config import Settings
from churnradar.store import migrate

FileArgument = Annotated[Path, typer.Argument(help="The YAML file to import.")]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the YAML to this file (default: stdout).")
]


@dataclass(frozen=True)
class DocumentKind:
    """A settings document kind: its command group, and its service's export and checked import."""

    group: str
    help: str
    export: Callable[[Engine, Settings], str]
    import_: Callable[[Engine, Settings, str, datetime], str]  # what was stored, in words
    refusals: Callable[[], tuple[type[Exception], ...]]  # imported when a command runs


def _export_channels(engine: Engine, settings: Settings) -> str:
    from churnradar.notification import stored_channels

    with Session(engine) as session:
        text = stored_channels.export_yaml(session, None, settings)
        session.commit()
    return text


def _import_channels(engine: Engine, settings: Settings, text: str, now: datetime) -> str:
    from churnradar.notification import stored_channels

    with Session(engine) as session:
        count = stored_channels.import_yaml(session, None, settings, text, now=now)
        session.commit()
    return f"{count} channels stored"


def _export_routing(engine: Engine, settings: Settings) -> str:
    from churnradar.notification import stored_routes

    with Session(engine) as session:
        text = stored_routes.export_yaml(session, None, settings.notifications)
        session.commit()
    return text


def _import_routing(engine: Engine, settings: Settings, text: str, now: datetime) -> str:
    from churnradar.notification import stored_channels, stored_routes

    with Session(engine) as session:
        names = stored_channels.names_in_force(session, settings)
        document = stored_routes.import_yaml(session, None, text, names, now=now)
        session.commit()
    return f"{len(document.routes)} notification routes stored"


def _export_templates(engine: Engine, _settings: Settings) -> str:
    from churnradar.rule import template_settings

    with Session(engine) as session:
        text = template_settings.export_yaml(session, None)
        session.commit()
    return text


def _import_templates(engine: Engine, _settings: Settings, text: str, now: datetime) -> str:
    from churnradar.rule import template_settings

    with Session(engine) as session:
        counts = template_settings.import_yaml(session, None, text, now=now)
        session.commit()
    return ", ".join(f"{n} {what}" for what, n in counts.items()) + " stored"


def _export_keywords(engine: Engine, _settings: Settings) -> str:
    from churnradar.indicator import service

    return service.export_keywords_yaml(engine, actor=None)


def _import_keywords(engine: Engine, _settings: Settings, text: str, now: datetime) -> str:
    from churnradar.indicator import service

    service.import_keywords_yaml(engine, text, actor=None, now=now)
    return "keyword lists stored"


def _export_fields(engine: Engine, _settings: Settings) -> str:
    from churnradar.field import service

    return service.export_yaml(engine, actor=None)


def _import_fields(engine: Engine, _settings: Settings, text: str, now: datetime) -> str:
    from churnradar.field import service
    from churnradar.kit.clock import FrozenClock
    from churnradar.rule import service as rule_service
    from churnradar.rule.fields import reserved_names

    counts = service.import_yaml(
        engine,
        text,
        actor=None,
        reserved=reserved_names(),
        rules_using=rule_service.rules_using,
        clock=FrozenClock(now),
    )
    return ", ".join(f"{n} {what}" for what, n in counts.items()) + " stored"


def _channel_refusals() -> tuple[type[Exception], ...]:
    from churnradar.notification.exceptions import ChannelConfigError

    return (ChannelConfigError,)


def _template_refusals() -> tuple[type[Exception], ...]:
    from churnradar.rule.exceptions import TemplateSettingsError

    return (TemplateSettingsError,)


def _keyword_refusals() -> tuple[type[Exception], ...]:
    from churnradar.indicator.exceptions import DefinitionError

    return (DefinitionError,)


def _field_refusals() -> tuple[type[Exception], ...]:
    from churnradar.field.exceptions import FieldDefinitionError, FieldInUseError

    return (FieldDefinitionError, FieldInUseError)


KINDS = (
    DocumentKind(
        "channel",
        "Notification channels stored in the database (secrets go in, only their names come out).",
        _export_channels,
        _import_channels,
        _channel_refusals,
    ),
    DocumentKind(
        "notification-routing",
        "Notification routes (which levels go to which channels) and quiet hours.",
        _export_routing,
        _import_routing,
        _channel_refusals,
    ),
    DocumentKind(
        "template",
        "Template clones and the choices of which template applies by industry or segment.",
        _export_templates,
        _import_templates,
        _template_refusals,
    ),
    DocumentKind(
        "keywords",
        "The built-in indicators' keyword lists: competitor names, deep features, balance threshold.",
        _export_keywords,
        _import_keywords,
        _keyword_refusals,
    ),
    DocumentKind(
        "field",
        "Custom customer fields, named event attributes and manual entry forms.",
        _export_fields,
        _import_fields,
        _field_refusals,
    ),
)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")


def _store(ctx: typer.Context, db: str | None) -> tuple[Settings, Engine]:
    settings: Settings = settings_or_fail()
    engine = open_engine(ctx, db)
    migrate(engine)
    return settings, engine


def _add_group(app: typer.Typer, kind: DocumentKind) -> None:
    group = typer.Typer(help=kind.help, no_args_is_help=True)
    app.add_typer(group, name=kind.group)

    @group.command("export")
    def export(ctx: typer.Context, output: OutputOption = None, db: DbOption = None) -> None:
        """The document in force as YAML, on standard output or into --output (audited)."""
        settings, engine = _store(ctx, db)
        text = kind.export(engine, settings)
        if output is None:
            typer.echo(text, nl=False)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc}")

    @group.command("import")
    def import_(ctx: typer.Context, file: FileArgument, db: DbOption = None) -> None:
        """Store FILE, checked whole first: one wrong entry stores nothing, each located (audited)."""
        from churnradar.kit.clock import SystemClock

        text = _read(file)
        settings, engine = _store(ctx, db)
        try:
            stored = kind.import_(engine, settings, text, SystemClock().now())
        except kind.refusals() as exc:
            fail(f"{file}: {str(exc)[:2000]}")
        typer.echo(stored)


def register(app: typer.Typer) -> None:
    """Add an `export` / `import FILE` command group for each settings document kind."""
    for kind in KINDS:
        _add_group(app, kind)
