"""`churnradar notify ...` and `churnradar deadlines check`: delivery, dead letters, digests, deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from churnradar.cli.common import (
    DbOption,
    ExitCode,
    JsonOption,
    audit,
    emit_json,
    open_engine,
    settings_or_fail,
)
from churnradar.store import migrate

# `notify deliver` exits with this code when any message died in the run (a dead letter: it will not be
# retried), so a cron job or monitor sees it; 1 stays "the command failed".
EXIT_DEAD_LETTERS = ExitCode.DEAD_LETTERS

notify_app = typer.Typer(
    help="Deliver queued notifications, inspect dead letters, queue digests.", no_args_is_help=True
)
deadlines_app = typer.Typer(
    help="Reminders before task deadlines, escalation after them.", no_args_is_help=True
)


@notify_app.command("deliver")
def deliver(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One delivery pass: send what is due, retry with backoff, dead-letter permanent failures.

    Exits 3 when any message became a dead letter in this pass (see `notify dead-letters`), 0 otherwise.
    """
    from churnradar.notification.service import deliver as run_delivery

    settings = settings_or_fail()
    engine = open_engine(ctx, db)
    migrate(engine)
    summary = run_delivery(engine, settings=settings)
    if as_json:
        emit_json(summary.as_dict())
    else:
        typer.echo(", ".join(f"{v} {k}" for k, v in summary.as_dict().items()))
        for error in summary.errors[:100]:
            typer.echo(f"  {error[:500]}", err=True)
    if summary.dead:
        typer.echo(f"{summary.dead} message(s) became dead letters (exit {EXIT_DEAD_LETTERS})", err=True)
        raise typer.Exit(EXIT_DEAD_LETTERS)


@notify_app.command("dead-letters")
def dead_letters(
    ctx: typer.Context,
    requeue: Annotated[bool, typer.Option("--requeue", help="Give every dead letter a new round.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The newest 200 messages that failed for good, with their last error; --requeue retries every one."""
    from churnradar.kit.clock import SystemClock
    from churnradar.notification import service as notification_service

    engine = open_engine(ctx, db)
    migrate(engine)
    rows = notification_service.dead_letters(engine)
    requeued = notification_service.requeue_dead_letters(engine, now=SystemClock().now()) if requeue else 0
    if requeued:
        with engine.begin() as conn:
            audit(conn, "requeue", "notification", None, {"messages": requeued})
    items = [
        {
            "id": r.id,
            "event": r.event,
            "channel": r.channel,
            "receiver": r.receiver,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]
    if as_json:
        emit_json({"dead_letters": items, "requeued": requeued})
        return
    if not items:
        typer.echo("no dead letters")
    for item in items:
        typer.echo(
            f"#{item['id']} {item['event']} -> {item['receiver']} after {item['attempts']} attempts: "
            f"{item['last_error']}"
        )
    if requeue:
        typer.echo(f"requeued {requeued}")


@notify_app.command("digest")
def digest(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Queue today's digest of open tasks, one per receiver (once a day)."""
    from churnradar.intervention.jobs import send_digest

    settings = settings_or_fail()
    engine = open_engine(ctx, db)
    migrate(engine)
    day = datetime.now(settings.zone).date()
    queued = send_digest(engine, settings=settings, day=day)
    if as_json:
        emit_json({"day": day.isoformat(), "queued": queued})
    else:
        typer.echo(f"digest for {day}: {queued} message(s) queued")


@deadlines_app.command("check")
def check(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Remind before deadlines, record and escalate missed ones, chase red follow-ups."""
    from churnradar.intervention.jobs import check_deadlines

    settings = settings_or_fail()
    engine = open_engine(ctx, db)
    migrate(engine)
    summary = check_deadlines(engine, settings=settings)
    if as_json:
        emit_json(summary.as_dict())
    else:
        typer.echo(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.as_dict().items()))


def register(app: typer.Typer) -> None:
    """Add `notify` and `deadlines` to the app."""
    app.add_typer(notify_app, name="notify")
    app.add_typer(deadlines_app, name="deadlines")
