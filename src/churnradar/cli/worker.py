"""`churnradar worker`: evaluate daily at a set time (then prune old snapshots), deliver every minute, check
deadlines; one process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import typer

from churnradar.cli.common import DbOption, open_engine, settings_or_fail, stderr
from churnradar.config import WorkerSettings
from churnradar.store import migrate


@dataclass
class Schedule:
    """Which jobs are due, pure: evaluation once a local day after its time, the others by period."""

    settings: WorkerSettings
    last_day: date | None = None
    last_deliver: float | None = None
    last_deadlines: float | None = None

    def due(self, local: datetime, monotonic: float) -> list[str]:
        """The jobs to run now, in order (evaluate first, so its tasks are checked and its mail sent)."""
        jobs = []
        if local.time() >= self.settings.evaluate_at and local.date() != self.last_day:
            self.last_day = local.date()
            jobs.append("evaluate")
        if (
            self.last_deadlines is None
            or monotonic - self.last_deadlines >= self.settings.deadlines_every_seconds
        ):
            self.last_deadlines = monotonic
            jobs.append("deadlines")
        if self.last_deliver is None or monotonic - self.last_deliver >= self.settings.deliver_every_seconds:
            self.last_deliver = monotonic
            jobs.append("deliver")
        return jobs


def register(app: typer.Typer) -> None:
    """Add the worker command to the app."""

    @app.command()
    def worker(ctx: typer.Context, db: DbOption = None) -> None:
        """Run the jobs on their schedule until stopped (cron users run each job's command instead)."""
        from churnradar.evaluation.exceptions import EvaluationError
        from churnradar.evaluation.service import evaluate
        from churnradar.indicator.service import prune_snapshots
        from churnradar.intervention.jobs import check_deadlines, send_digest
        from churnradar.notification.service import deliver

        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        schedule = Schedule(settings.worker)
        stderr.print("worker started; Ctrl-C stops it", style="dim")

        def daily() -> None:
            day = datetime.now(settings.zone).date()
            evaluate(engine, as_of=day, settings=settings)
            send_digest(engine, settings=settings, day=day)
            pruned = prune_snapshots(engine, today=day, policy=settings.snapshots)
            if pruned.dates:
                stderr.print(f"pruned {len(pruned.dates)} snapshot dates ({pruned.rows:,} values)")

        def delivery() -> None:
            summary = deliver(engine, settings=settings)
            if summary.sent or summary.dead:
                stderr.print(f"delivered: {summary.as_dict()}")

        jobs: dict[str, Callable[[], object]] = {
            "evaluate": daily,
            "deadlines": lambda: check_deadlines(engine, settings=settings),
            "deliver": delivery,
        }
        try:
            while True:
                for name in schedule.due(datetime.now(settings.zone), time.monotonic()):
                    # One failing job (a database hiccup, a bad channel) must not stop the others.
                    try:
                        jobs[name]()
                    except EvaluationError as exc:
                        stderr.print(f"{name} skipped: {exc}")
                    except Exception as exc:
                        stderr.print(f"{name} failed: {type(exc).__name__}: {exc}")
                time.sleep(1.0)
        except KeyboardInterrupt:
            stderr.print("worker stopped", style="dim")
