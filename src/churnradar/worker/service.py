"""The worker's schedule and jobs: evaluate daily at a set time (then send the digest and prune old
snapshots), check deadlines and deliver the outbox by period. `churnradar worker` runs `run_due` in a loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Engine

from churnradar.config import Settings, WorkerSettings
from churnradar.evaluation.exceptions import EvaluationError
from churnradar.evaluation.service import evaluate
from churnradar.indicator.service import prune_snapshots
from churnradar.intervention.jobs import check_deadlines, send_digest
from churnradar.notification.service import deliver

Say = Callable[[str], object]  # where the worker's messages go (the CLI's stderr)
Jobs = dict[str, Callable[[], object]]


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


def worker_jobs(engine: Engine, settings: Settings, say: Say) -> Jobs:
    """The jobs by the names `Schedule.due` gives."""

    def daily() -> None:
        day = datetime.now(settings.zone).date()
        evaluate(engine, as_of=day, settings=settings)
        send_digest(engine, settings=settings, day=day)
        pruned = prune_snapshots(engine, today=day, policy=settings.snapshots)
        if pruned.dates:
            say(f"pruned {len(pruned.dates)} snapshot dates ({pruned.rows:,} values)")

    def delivery() -> None:
        summary = deliver(engine, settings=settings)
        if summary.sent or summary.dead:
            say(f"delivered: {summary.as_dict()}")

    return {
        "evaluate": daily,
        "deadlines": lambda: check_deadlines(engine, settings=settings),
        "deliver": delivery,
    }


def run_due(schedule: Schedule, jobs: Jobs, local: datetime, monotonic: float, say: Say) -> None:
    """Run the jobs due now; one failing job (a database hiccup, a bad channel) does not stop the others."""
    for name in schedule.due(local, monotonic):
        try:
            jobs[name]()
        except EvaluationError as exc:
            say(f"{name} skipped: {exc}")
        except Exception as exc:
            say(f"{name} failed: {type(exc).__name__}: {exc}")
