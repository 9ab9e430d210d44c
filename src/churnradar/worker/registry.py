"""The worker's jobs, a registry: a name, a default schedule read from settings, and what to run.

A domain adds a job without touching the scheduler: `register(Job(name=..., schedule=..., run=...))` in a
module `churnradar.worker.service` imports. Settings may move any job (`CHURNRADAR_WORKER__SCHEDULES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.kit.cron import crontab_trigger
from churnradar.kit.registry import Registry


class ScheduleError(ValueError):
    """A job's schedule that is neither a crontab line nor a number of seconds."""


@dataclass(frozen=True)
class JobContext:
    """What a job runs with: the store, the settings and the moment the scheduler started it (aware UTC)."""

    engine: Engine
    settings: Settings
    now: datetime

    @property
    def today(self) -> date:
        """The local date at `now`, in the configured time zone."""
        return self.now.astimezone(self.settings.zone).date()


@dataclass(frozen=True)
class Job:
    """One scheduled job.

    `schedule` gives the default from settings: a crontab line in local time ("0 6 * * *") or seconds
    between runs ("60"). `run` does the work and returns the line to log (None: nothing worth saying).
    `last_run` tells when the job last ran, from the store, so a restarted worker neither repeats nor
    misses it; without it, a run missed earlier today is made up once when the worker starts. Jobs due at
    one moment run in `order` (evaluate before the digest that lists its tasks).
    """

    name: str
    schedule: Callable[[Settings], str]
    run: Callable[[JobContext], str | None]
    order: int = 50
    last_run: Callable[[JobContext], datetime | None] | None = None


jobs: Registry[Job] = Registry("worker job")


def register(job: Job) -> Job:
    """Add `job` to the worker's jobs under its name (a name is registered once)."""
    return jobs.add(job.name, job)


def ordered(registry: Registry[Job]) -> list[Job]:
    """The registered jobs in the order they run when due together."""
    return sorted((registry.get(name) for name in registry), key=lambda job: (job.order, job.name))


def trigger_for(job: Job, settings: Settings, *, start: datetime) -> BaseTrigger:
    """The job's trigger: the schedule settings give it, else its default; intervals count from `start`."""
    text = settings.worker.schedules.get(job.name) or job.schedule(settings)
    return parse_schedule(text, zone=settings.zone, start=start, name=job.name)


def parse_schedule(text: str, *, zone: tzinfo, start: datetime, name: str) -> BaseTrigger:
    """A trigger from a crontab line (local time) or a number of seconds; ScheduleError names the job."""
    text = text.strip()
    if text.isdigit():
        if int(text) < 1:
            raise ScheduleError(f"worker job {name}: the interval must be at least 1 second")
        return IntervalTrigger(seconds=int(text), start_date=start, timezone=UTC)
    try:
        return crontab_trigger(text, zone)
    except ValueError as exc:
        raise ScheduleError(
            f"worker job {name}: {text[:100]!r} is neither a crontab line (minute hour day month weekday) "
            f"nor a number of seconds ({exc})"
        ) from None


def daily_at(settings: Settings) -> str:
    """The crontab line of the daily evaluation time (`CHURNRADAR_WORKER__EVALUATE_AT`)."""
    at = settings.worker.evaluate_at
    return f"{at.minute} {at.hour} * * *"
