"""What every command shares: the database option, JSON output, errors on stderr, progress on a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import IntEnum
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Connection, Engine

from churnradar.config import Settings, get_settings, resolve_database_url, settings_problem
from churnradar.db import create_engine

stderr = Console(stderr=True)


class ExitCode(IntEnum):
    """The exit statuses scripts and monitors may tell apart (docs/contract.md §1); 2 is a usage error."""

    OK = 0
    FAILURE = 1  # the command failed; nothing it was asked to do can be assumed done
    DEAD_LETTERS = 3  # `notify deliver`: done, but a message became a dead letter (it will not be retried)
    HELD_BY_DATA_HEALTH = 4  # `evaluate`: done, but rules were held because their data looks stale or broken


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $CHURNRADAR_DATABASE_URL, else sqlite:///./churnradar.db)."
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Judge with data before this date (ISO; default today).")
]


def as_of_day(as_of: str | None, settings: Settings) -> date:
    """The date of `--as-of`, or today in the configured time zone."""
    return parse_day(as_of, "--as-of", datetime.now(settings.zone).date())


def fail(message: str, code: int = ExitCode.FAILURE) -> NoReturn:
    """Print a clear message on stderr and exit non-zero."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def emit_json(document: Any) -> None:
    """The single JSON document of `--json`."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str, indent=2) + "\n")


def open_engine(ctx: typer.Context, db: str | None) -> Engine:
    """The engine for `--db` given on the command, else on `churnradar`, else settings."""
    parent = ctx.find_root().obj if ctx.find_root().obj else {}
    settings_or_fail()  # every command refuses unsafe settings with one clear line
    url = resolve_database_url(db or parent.get("db"))
    try:
        engine = create_engine(url)
    except Exception as exc:  # a malformed URL or a missing driver, named for the user
        fail(f"cannot open database {url!r}: {exc}")
    bind_store_indicators(engine)
    return engine


def bind_store_indicators(engine: Engine) -> None:
    """Every indicator registry of this command includes the store's custom definitions and keyword lists
    (read when used, so commands that compute nothing do not load the analytics engine)."""
    from churnradar.indicator.registry import bind_stored

    def stored() -> list[Any]:
        from churnradar.indicator import service

        return list(service.stored_custom_indicators(engine))

    def keywords() -> Any:
        from churnradar.indicator import service

        return service.stored_keywords(engine)

    bind_stored(stored, keywords)
    from churnradar.rule.fields import bind_custom_fields

    def custom_fields() -> dict[str, Any]:  # the custom customer fields rules may read
        from churnradar.rule import service as rule_service

        return dict(rule_service.custom_field_types(engine))

    bind_custom_fields(custom_fields)


def dated_store(ctx: typer.Context, db: str | None, as_of: str | None) -> tuple[Settings, date, Engine]:
    """Settings, the `--as-of` date (default today in the configured zone) and the migrated store."""
    from churnradar.store import migrate

    settings = settings_or_fail()
    day = as_of_day(as_of, settings)
    engine = open_engine(ctx, db)
    migrate(engine)
    return settings, day, engine


def audit(
    target: Engine | Connection,
    action: str,
    entity: str,
    entity_id: str | int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a command-line change or export: who "cli", from where `cli:<operating-system user>`.

    Given a connection, the entry joins the change's own transaction; given an engine, it commits alone.
    """
    from churnradar.auth import service as auth_service

    if isinstance(target, Engine):
        with target.begin() as conn:
            auth_service.record(conn, None, action, entity, entity_id, details)
    else:
        auth_service.record(target, None, action, entity, entity_id, details)


def show_progress(enabled: bool) -> bool:
    """Progress bars only on an interactive terminal, never with --json."""
    return enabled and stderr.is_terminal


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Progress | None]:
    """A Rich progress display on stderr, or None when output is not a terminal."""
    if not show_progress(enabled):
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        progress.add_task(label, total=None)
        yield progress


def settings_or_fail() -> Any:
    """Settings, or a clear exit when the environment holds an invalid value."""
    try:
        return get_settings()
    except ValidationError as exc:  # one line, without a traceback or the values given
        fail(f"invalid settings: {settings_problem(exc)}")
    except ValueError as exc:  # an unreadable notifications file
        fail(f"invalid settings: {str(exc)[:1000]}")


def parse_day(raw: str | None, option: str, default: date | None = None) -> date:
    """An ISO date from an option, or a clear exit."""
    if raw is None:
        if default is None:
            fail(f"{option} is required")
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(f"{option} {raw!r} is not an ISO date like 2026-11-23")
