"""The worker lease on SQLite and PostgreSQL: one holder at a time, renewed by its holder, taken over only
once expired, released on a clean stop."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from churnradar.worker import repository

T0 = datetime(2026, 6, 15, 6)
TTL = timedelta(seconds=60)


def test_one_holder_at_a_time_until_it_expires(engine: Engine) -> None:
    assert repository.acquire(engine, "worker", "a", now=T0, ttl=TTL)
    assert not repository.acquire(engine, "worker", "b", now=T0 + timedelta(seconds=1), ttl=TTL)
    assert repository.acquire(engine, "worker", "a", now=T0 + timedelta(seconds=20), ttl=TTL)  # renewed
    assert not repository.acquire(engine, "worker", "b", now=T0 + timedelta(seconds=79), ttl=TTL)
    assert repository.holder_of(engine, "worker", now=T0 + timedelta(seconds=79)) == "a"
    # a stops renewing (killed): b takes over once the lease ran out, and a cannot take it back
    assert repository.acquire(engine, "worker", "b", now=T0 + timedelta(seconds=81), ttl=TTL)
    assert not repository.acquire(engine, "worker", "a", now=T0 + timedelta(seconds=82), ttl=TTL)
    repository.release(engine, "worker", "a")  # not a's any more: nothing happens
    assert repository.holder_of(engine, "worker", now=T0 + timedelta(seconds=82)) == "b"
    repository.release(engine, "worker", "b")
    assert repository.holder_of(engine, "worker", now=T0 + timedelta(seconds=82)) is None
    assert repository.acquire(engine, "worker", "a", now=T0 + timedelta(seconds=83), ttl=TTL)


def test_racing_workers_get_one_lease(engine: Engine) -> None:
    winners: list[str] = []
    gate = threading.Barrier(6)

    def race(name: str) -> None:
        gate.wait()
        if repository.acquire(engine, "worker", name, now=T0, ttl=TTL):
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
