"""`churnradar worker`: evaluate daily at a set time, deliver every minute, check deadlines; one process."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import date, datetime

import typer

from churnradar.cli.common import DbOption, open_engine, settings_or_fail, stderr
from churnradar.store import migrate


def register(app: typer.Typer) -> None:
    """Add the worker command to the app."""

    @app.command()
    def worker(ctx: typer.Context, db: DbOption = None) -> None:
        """Run the jobs on their schedule until stopped (cron users run each job's command instead)."""
        from churnradar.evaluation.service import EvaluationError, evaluate
        from churnradar.intervention.jobs import check_deadlines, send_digest
        from churnradar.notification.service import deliver

        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        schedule = settings.worker
        last_deliver = last_deadlines = 0.0
        last_day: date | None = None
        stderr.print("worker started; Ctrl-C stops it", style="dim")

        def run(name: str, job: Callable[[], object]) -> None:
            # One failing job (a database hiccup, a bad channel) must not stop the others.
            try:
                job()
            except EvaluationError as exc:
                stderr.print(f"{name} skipped: {exc}")
            except Exception as exc:
                stderr.print(f"{name} failed: {type(exc).__name__}: {exc}")

        def daily(day: date) -> None:
            evaluate(engine, as_of=day, settings=settings)
            send_digest(engine, settings=settings, day=day)

        def delivery() -> None:
            summary = deliver(engine, settings=settings)
            if summary.sent or summary.dead:
                stderr.print(f"delivered: {summary.as_dict()}")

        try:
            while True:
                local = datetime.now(settings.zone)
                if local.time() >= schedule.evaluate_at and local.date() != last_day:
                    last_day = today = local.date()
                    run("evaluate", functools.partial(daily, today))
                if time.monotonic() - last_deadlines >= schedule.deadlines_every_seconds:
                    last_deadlines = time.monotonic()
                    run("deadlines", lambda: check_deadlines(engine, settings=settings))
                if time.monotonic() - last_deliver >= schedule.deliver_every_seconds:
                    last_deliver = time.monotonic()
                    run("deliver", delivery)
                time.sleep(1.0)
        except KeyboardInterrupt:
            stderr.print("worker stopped", style="dim")
