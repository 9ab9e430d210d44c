"""The worker's scheduler with a fake clock: each job at its time, missed runs made up once, schedules
from settings, failures contained, and SIGTERM during a job lets it finish."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from churnradar.cli.worker import stop_on_signals
from churnradar.config import Settings
from churnradar.kit.clock import FrozenClock
from churnradar.worker import repository
from churnradar.worker.registry import Job, JobContext, ScheduleError
from churnradar.worker.scheduler import LEASE, LeaseKeeper, Scheduler, run_until_stopped

DAY = datetime(2026, 6, 15)


def make_settings(**worker: object) -> Settings:
    return Settings(environment="test", secret_key="x" * 32, worker=worker)  # type: ignore[arg-type]


class Recorder:
    """Jobs that write down when they ran (the scheduler's `now` they were given)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, datetime]] = []

    def job(self, name: str, schedule: str, order: int = 50, **kwargs: object) -> Job:
        def run(ctx: JobContext) -> str:
            self.runs.append((name, ctx.now))
            return f"{name} ran"

        return Job(name, lambda _s: schedule, run, order=order, **kwargs)  # type: ignore[arg-type]

    def names(self) -> list[str]:
        return [name for name, _ in self.runs]


def test_each_job_runs_at_its_time(engine: Engine) -> None:
    clock = FrozenClock(DAY.replace(hour=5, minute=59))
    jobs = Recorder()
    scheduler = Scheduler(
        engine, make_settings(), [jobs.job("daily", "0 6 * * *", 10), jobs.job("often", "60", 20)], clock
    )
    scheduler.plan()
    assert scheduler.tick() == ["often"]  # an interval job runs when the worker starts
    clock.at += timedelta(seconds=30)
    assert scheduler.tick() == []
    clock.at = DAY.replace(hour=6)
    assert scheduler.tick() == ["daily", "often"]  # both due: in their order
    clock.at += timedelta(seconds=59)
    assert scheduler.tick() == []
    assert scheduler.wait_seconds(5) == pytest.approx(1)
    clock.at = DAY.replace(hour=23)
    assert scheduler.tick() == ["often"]
    clock.at = DAY.replace(day=16, hour=5, minute=59, second=59)
    assert scheduler.tick() == ["often"]
    clock.at = DAY.replace(day=16, hour=6)
    assert scheduler.tick() == ["daily", "often"]
    assert [at for name, at in jobs.runs if name == "daily"] == [
        DAY.replace(hour=6, tzinfo=UTC),
        DAY.replace(day=16, hour=6, tzinfo=UTC),
    ]


def test_missed_runs_are_made_up_once(engine: Engine) -> None:
    clock = FrozenClock(DAY.replace(hour=5))
    jobs = Recorder()
    scheduler = Scheduler(
        engine, make_settings(), [jobs.job("daily", "0 6 * * *", 10), jobs.job("often", "60", 20)], clock
    )
    scheduler.plan()
    scheduler.tick()
    jobs.runs.clear()
    clock.at = DAY + timedelta(days=2, hours=10)  # asleep through two 06:00s and thousands of minutes
    assert scheduler.tick() == ["daily", "often"]
    assert scheduler.tick() == []
    clock.at = DAY + timedelta(days=3, hours=6)
    assert scheduler.tick() == ["daily", "often"]
    assert jobs.names() == ["daily", "often", "daily", "often"]


def test_a_time_passed_today_is_made_up_at_start_unless_the_store_says_it_ran(engine: Engine) -> None:
    clock = FrozenClock(DAY.replace(hour=10))
    jobs = Recorder()
    fresh = Scheduler(engine, make_settings(), [jobs.job("daily", "0 6 * * *")], clock)
    fresh.plan()
    assert fresh.tick() == ["daily"]
    assert fresh.tick() == []

    ran_at = DAY.replace(hour=6, minute=3)
    known = jobs.job("daily", "0 6 * * *", last_run=lambda _ctx: ran_at)
    restarted = Scheduler(engine, make_settings(), [known], clock)
    restarted.plan()
    assert restarted.tick() == []
    clock.at = DAY.replace(day=16, hour=6)
    assert restarted.tick() == ["daily"]

    yesterday = Scheduler(
        engine, make_settings(), [jobs.job("daily", "0 6 * * *", last_run=lambda _ctx: ran_at)], clock
    )
    clock.at = DAY.replace(day=17, hour=7)  # the store's last run is two days old: once, now
    yesterday.plan()
    assert yesterday.tick() == ["daily"]
    assert yesterday.tick() == []


def test_schedules_are_local_time_and_settings_move_any_job(engine: Engine) -> None:
    clock = FrozenClock(DAY.replace(hour=21, minute=59))  # 05:59 in Shanghai
    jobs = Recorder()
    settings = Settings(
        environment="test",
        secret_key="x" * 32,  # type: ignore[arg-type]
        timezone="Asia/Shanghai",
        worker={"schedules": {"often": "*/30 * * * *"}},  # type: ignore[arg-type]
    )
    scheduler = Scheduler(engine, settings, [jobs.job("daily", "0 6 * * *"), jobs.job("often", "60")], clock)
    scheduler.plan()
    assert scheduler.tick() == ["often"]  # its 05:30 passed today: made up once; 06:00 is still ahead
    clock.at = DAY.replace(hour=22)
    assert scheduler.tick() == ["daily", "often"]
    clock.at = DAY.replace(hour=22, minute=29)
    assert scheduler.tick() == []
    clock.at = DAY.replace(hour=22, minute=30)
    assert scheduler.tick() == ["often"]


@pytest.mark.parametrize(
    ("schedules", "message"),
    [
        ({"nightly": "0 1 * * *"}, "unknown jobs: nightly"),
        ({"daily": "at six"}, "worker job daily: 'at six' is neither a crontab line"),
        ({"daily": "0 25 * * *"}, "worker job daily"),
    ],
)
def test_a_bad_schedule_names_the_job(engine: Engine, schedules: dict[str, str], message: str) -> None:
    jobs = Recorder()
    scheduler = Scheduler(
        engine, make_settings(schedules=schedules), [jobs.job("daily", "0 6 * * *")], FrozenClock(DAY)
    )
    with pytest.raises(ScheduleError, match=message):
        scheduler.plan()


def test_a_failing_job_is_logged_and_the_others_run(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    jobs = Recorder()

    def broken(_ctx: JobContext) -> str:
        raise RuntimeError("the channel is down")

    failing = Job("broken", lambda _s: "60", broken, order=1)
    scheduler = Scheduler(engine, make_settings(), [failing, jobs.job("after", "60", 2)], FrozenClock(DAY))
    scheduler.plan()
    with caplog.at_level(logging.INFO, logger="churnradar.worker"):
        assert scheduler.tick() == ["broken", "after"]
    assert "job broken failed: RuntimeError: the channel is down" in caplog.text
    assert "job after done in" in caplog.text
    assert "after ran" in caplog.text
    assert jobs.names() == ["after"]


def test_sigterm_during_a_job_lets_it_finish_and_starts_no_other(engine: Engine) -> None:
    started, finished, later = threading.Event(), threading.Event(), threading.Event()

    def long_job(_ctx: JobContext) -> str:
        started.set()
        for _ in range(20):  # about a second of work, through the signal
            threading.Event().wait(0.05)
        finished.set()
        return "done"

    def next_job(_ctx: JobContext) -> None:
        later.set()

    jobs = [Job("long", lambda _s: "60", long_job, order=1), Job("next", lambda _s: "60", next_job, order=2)]
    settings = make_settings(lease_seconds=5)
    scheduler = Scheduler(engine, settings, jobs, FrozenClock(DAY))
    keeper = LeaseKeeper(engine, settings)
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    stop_on_signals(stop)

    def terminate_when_started() -> None:
        started.wait(30)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_when_started)
    killer.start()
    try:
        run_until_stopped(scheduler, keeper, stop)  # returns once stopped
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        killer.join()
    assert stop.is_set()
    assert finished.is_set()
    assert not later.is_set()
    assert repository.holder_of(engine, LEASE, now=datetime.now(UTC).replace(tzinfo=None)) is None
