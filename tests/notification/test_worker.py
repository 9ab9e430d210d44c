"""The worker's schedule with a fake clock: evaluate once a day after its time, the rest by period."""

from __future__ import annotations

from datetime import datetime, time

from churnradar.config import WorkerSettings
from churnradar.worker.service import Schedule


def test_schedule() -> None:
    schedule = Schedule(
        WorkerSettings(evaluate_at=time(6), deliver_every_seconds=60, deadlines_every_seconds=300)
    )
    day = datetime(2026, 6, 15, 5, 59)
    assert schedule.due(day, 0) == ["deadlines", "deliver"]
    assert schedule.due(day, 30) == []
    assert schedule.due(day.replace(hour=6, minute=0), 60) == ["evaluate", "deliver"]
    assert schedule.due(day.replace(hour=23), 100) == []
    assert schedule.due(day.replace(hour=23), 300) == ["deadlines", "deliver"]
    assert schedule.due(datetime(2026, 6, 16, 5), 330) == []  # a new day, but before 06:00
    assert schedule.due(datetime(2026, 6, 16, 6, 30), 400) == ["evaluate", "deliver"]
