"""Reading the lake's events for people: one customer's timeline opens few files; counts and kinds by day."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from churnradar.lake.events import write_events
from churnradar.lake.repository import Lake
from churnradar.lake.schemas import LakeTable
from churnradar.lake.timeline import count_events, customer_files, customer_timeline, daily_kind_counts
from tests.conftest import events_table

T0 = datetime(2024, 5, 1, 9)


def _events(customers: range, per_customer: int) -> pa.Table:
    rows = [
        {
            "customer_id": c,
            "ts": T0 + timedelta(hours=n * 5),
            "kind": ("order", "login")[n % 2],
            "event_key": f"{c}-{n}",
            "amount": float(n) if n % 2 == 0 else None,
            "user": "ann" if n % 2 else None,
            "attributes": '{"page": "home"}' if n % 2 else None,
        }
        for c in customers
        for n in range(per_customer)
    ]
    return events_table(rows)


def _lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    for first in range(0, 100, 10):  # ten imports, each of ten customers
        write_events(lake, _events(range(first, first + 10), 12), operation=f"import:{first}")
    return lake


def test_a_customers_timeline_reads_only_the_files_that_can_hold_it(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    assert len(lake.files(LakeTable.EVENTS)) == 10
    assert len(customer_files(lake, [42])) == 1
    found = customer_timeline(lake, 42, offset=0, limit=5)
    assert found.total == 12
    assert found.kinds == ["login", "order"]
    assert [e.event_key for e in found.events] == ["42-11", "42-10", "42-9", "42-8", "42-7"]
    assert found.events[0].user == "ann"
    last_page = customer_timeline(lake, 42, offset=10, limit=5)
    assert [e.event_key for e in last_page.events] == ["42-1", "42-0"]


def test_the_kind_filter_is_a_value_not_sql(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    orders = customer_timeline(lake, 7, offset=0, limit=50, kind="order")
    assert orders.total == 6
    assert {e.kind for e in orders.events} == {"order"}
    hostile = customer_timeline(lake, 7, offset=0, limit=50, kind="order' OR '1'='1")
    assert (hostile.total, hostile.events) == (0, [])
    assert hostile.kinds == ["login", "order"]


def test_an_empty_lake_has_no_events(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    assert customer_timeline(lake, 1, offset=0, limit=10).total == 0
    assert count_events(lake) == 0
    assert daily_kind_counts(lake, T0, T0 + timedelta(days=3)) == []


def test_counts_in_a_scope_and_per_kind_and_day(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    assert count_events(lake) == 1200
    assert count_events(lake, [1, 2, 99, 5000]) == 36
    assert count_events(lake, []) == 0
    # Each customer's first five events (09:00, 14:00, 19:00, then 00:00 and 05:00 the next day) fall before
    # the end; the sixth (10:00 the next day) does not.
    daily = daily_kind_counts(lake, T0, T0 + timedelta(days=1))
    assert [(kind, day.isoformat(), n) for kind, day, n in daily] == [
        ("login", "2024-05-01", 100),
        ("login", "2024-05-02", 100),
        ("order", "2024-05-01", 200),
        ("order", "2024-05-02", 100),
    ]
