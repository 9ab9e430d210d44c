"""`churnradar worker`: run the registered jobs on their schedules until SIGTERM or Ctrl-C, one worker at
a time per store (churnradar.worker: the jobs, their schedules, the lease and the loop)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from churnradar.cli.common import DbOption, fail, open_engine, settings_or_fail
from churnradar.store import migrate

log = logging.getLogger("churnradar.worker")


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and Ctrl-C ask the loop to stop: the job under way finishes, no other starts."""

    def asked(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping after the current job", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, asked)
    signal.signal(signal.SIGINT, asked)


def register(app: typer.Typer) -> None:
    """Add the worker command to the app."""

    @app.command()
    def worker(ctx: typer.Context, db: DbOption = None) -> None:
        """Run the scheduled jobs until stopped; of several workers on one store, one runs them at a time."""
        from churnradar.worker.registry import ScheduleError
        from churnradar.worker.scheduler import LeaseKeeper, run_until_stopped
        from churnradar.worker.service import scheduler

        settings = settings_or_fail()
        engine = open_engine(ctx, db)
        migrate(engine)
        schedule = scheduler(engine, settings)
        try:
            schedule.plan()  # a bad schedule setting stops here, with the job named
        except ScheduleError as exc:
            fail(str(exc))
        stop = threading.Event()
        stop_on_signals(stop)
        log.info("worker started with jobs: %s", ", ".join(job.name for job in schedule.jobs))
        run_until_stopped(schedule, LeaseKeeper(engine, settings), stop)
        log.info("worker stopped")
