"""The worker's loop: APScheduler's triggers say when each registered job is due, a clock says what time
it is (injected: tests move a fake one), and a lease in the store lets one worker at a time run the jobs.

Jobs run one after another in the loop's thread, so a stop request (SIGTERM) lets the job under way
finish and starts no other. A job's next time is counted from the moment it was found due, so runs missed
while the worker was busy, stopped or asleep are made up once, not once per missed time.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy.engine import Engine

from churnradar.config import Settings
from churnradar.kit.clock import Clock, SystemClock
from churnradar.worker import repository
from churnradar.worker.registry import Job, JobContext, ScheduleError, trigger_for

log = logging.getLogger("churnradar.worker")
LEASE = "worker"  # one lease for the whole schedule: the holder runs every job
STEP = timedelta(microseconds=1)


def aware(moment: datetime) -> datetime:
    """A clock's naive UTC as an aware datetime, which the triggers compare with."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass
class Scheduler:
    """When each job runs next, and running the ones that are due."""

    engine: Engine
    settings: Settings
    jobs: Sequence[Job]
    clock: Clock = field(default_factory=SystemClock)
    triggers: dict[str, BaseTrigger] = field(default_factory=dict)
    next_run: dict[str, datetime] = field(default_factory=dict)

    def context(self, now: datetime) -> JobContext:
        """What a job runs with at `now`."""
        return JobContext(engine=self.engine, settings=self.settings, now=now)

    def plan(self) -> None:
        """Each job's next time from now: after its last run when the store knows it, else after local
        midnight, so that a time already passed today is made up once."""
        now = aware(self.clock.now())
        unknown = set(self.settings.worker.schedules) - {job.name for job in self.jobs}
        if unknown:
            known = ", ".join(job.name for job in self.jobs)
            raise ScheduleError(f"worker schedules name unknown jobs: {', '.join(sorted(unknown))} ({known})")
        midnight = now.astimezone(self.settings.zone).replace(hour=0, minute=0, second=0, microsecond=0)
        for job in self.jobs:
            trigger = self.triggers[job.name] = trigger_for(job, self.settings, start=now)
            last = job.last_run(self.context(now)) if job.last_run else None
            after = aware(last) + STEP if last is not None else midnight
            fire = trigger.get_next_fire_time(None, after)
            if fire is not None:
                self.next_run[job.name] = fire

    def due(self, now: datetime) -> list[Job]:
        """The jobs whose time has come, in their order."""
        return [job for job in self.jobs if job.name in self.next_run and self.next_run[job.name] <= now]

    def tick(self, *, may_run: Callable[[], bool] = lambda: True) -> list[str]:
        """Run every job due now, one after another; returns their names. `may_run` is asked before each
        (a stop request or a lost lease ends the round). One failing job does not stop the others."""
        now = aware(self.clock.now())
        ran = []
        for job in self.due(now):
            if not may_run():
                break
            fire = self.triggers[job.name].get_next_fire_time(None, now + STEP)
            if fire is None:
                del self.next_run[job.name]
            else:
                self.next_run[job.name] = fire
            self._run(job, now)
            ran.append(job.name)
        return ran

    def wait_seconds(self, most: float) -> float:
        """How long the loop may sleep before the next job is due, at most `most`."""
        if not self.next_run:
            return most
        ahead = (min(self.next_run.values()) - aware(self.clock.now())).total_seconds()
        return max(0.0, min(most, ahead))

    def _run(self, job: Job, now: datetime) -> None:
        started = time.monotonic()
        try:
            said = job.run(self.context(now))
        except Exception as exc:  # a database hiccup or a bad channel: logged, the next jobs still run
            log.error("job %s failed: %s: %s", job.name, type(exc).__name__, str(exc)[:500])
            return
        took = time.monotonic() - started
        log.info("job %s done in %.1f s%s", job.name, took, f": {said}" if said else "")


class LeaseKeeper:
    """Holds the worker lease from a thread of its own: takes it when free, renews it every third of its
    length while held (also during a long job), and says whether this worker may run jobs now."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.ttl = timedelta(seconds=settings.worker.lease_seconds)
        self.holder = f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._valid_until: datetime | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep, name="worker-lease", daemon=True)

    @property
    def held(self) -> bool:
        """Whether this worker holds the lease now (a renewal that failed or came late counts as lost)."""
        with self._lock:
            return self._valid_until is not None and self.clock.now() < self._valid_until

    def try_acquire(self) -> bool:
        """One attempt to take or renew the lease."""
        now = self.clock.now()
        try:
            got = repository.acquire(self.engine, LEASE, self.holder, now=now, ttl=self.ttl)
        except Exception as exc:  # the store unreachable: not held until it answers again
            log.warning("worker lease: the store did not answer: %s", type(exc).__name__)
            got = False
        with self._lock:
            was = self._valid_until is not None
            self._valid_until = now + self.ttl if got else None
        if got and not was:
            log.info("worker lease taken by %s", self.holder)
        elif was and not got:
            log.warning("worker lease lost by %s", self.holder)
        return got

    def start(self) -> None:
        """Begin taking and renewing the lease in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and give the lease up, so a waiting worker takes over at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with self._lock:
            self._valid_until = None
        try:
            repository.release(self.engine, LEASE, self.holder)
        except Exception as exc:  # it expires on its own
            log.warning("worker lease not released: %s", type(exc).__name__)

    def _keep(self) -> None:
        while not self._stop.is_set():
            self.try_acquire()
            self._stop.wait(self.ttl.total_seconds() / 3)


def run_until_stopped(scheduler: Scheduler, keeper: LeaseKeeper, stop: threading.Event) -> None:
    """The worker's loop: while this worker holds the lease, run what is due; a stop ends it between jobs.

    Becoming the holder (at start, or taking over from a worker that died) plans afresh from the store, so
    the evaluation a previous holder made today is not made again.
    """
    keeper.start()
    active = False
    try:
        while not stop.is_set():
            if keeper.held:
                if not active:
                    try:
                        scheduler.plan()
                    except Exception as exc:  # the store did not answer: try again shortly
                        log.error("worker cannot plan its jobs: %s: %s", type(exc).__name__, str(exc)[:300])
                        stop.wait(5.0)
                        continue
                    active = True
                scheduler.tick(may_run=lambda: keeper.held and not stop.is_set())
                stop.wait(scheduler.wait_seconds(1.0))
            else:
                active = False
                stop.wait(1.0)
    finally:
        keeper.stop()
