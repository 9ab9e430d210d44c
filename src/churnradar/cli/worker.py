"""`churnradar worker`: evaluate daily at a set time (then prune old snapshots), deliver every minute, check
deadlines; one process. The schedule and the jobs are `churnradar.worker.service`'s."""

from __future__ import annotations

import time
from datetime import datetime

import typer

from churnradar.cli.common import DbOption, open_engine, settings_or_fail, stderr
from churnradar.store import migrate


def register(app: typer.Typer) -> None:
    """Add the worker command to the app."""

    @app.command()
    def worker(ctx: typer.Context, db: DbOption = None) -> None:
        """Run the jobs on their schedule until stopped (cron users run each job's command instead)."""
        from churnradar.worker.service import Schedule, run_due, worker_jobs

        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        schedule = Schedule(settings.worker)
        jobs = worker_jobs(engine, settings, stderr.print)
        stderr.print("worker started; Ctrl-C stops it", style="dim")
        try:
            while True:
                run_due(schedule, jobs, datetime.now(settings.zone), time.monotonic(), stderr.print)
                time.sleep(1.0)
        except KeyboardInterrupt:
            stderr.print("worker stopped", style="dim")
