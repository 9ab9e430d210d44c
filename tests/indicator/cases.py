"""Hand-written customers around the as-of date 2024-06-01, with the edge cases the issue names."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tests.indicator.reference import Data

AS_OF = date(2024, 6, 1)
EVENT_COLUMNS = ("amount", "value", "quantity", "channel", "direction", "text", "user")


def local(zone: ZoneInfo, day: date, hour: float = 0.0) -> datetime:
    """Naive UTC of a local wall-clock time, as events are stored."""
    wall = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hour)
    return wall.astimezone(UTC).replace(tzinfo=None)


def event(customer: int, ts: datetime, kind: str, **cols: Any) -> dict[str, Any]:
    """An event dict with every canonical column."""
    return {"customer_id": customer, "ts": ts, "kind": kind, **{c: cols.get(c) for c in EVENT_COLUMNS}}


def hand_data(zone: ZoneInfo) -> Data:
    """Five customers: busy, without events, one event on a window edge, zero baselines, boundaries."""
    d = AS_OF
    at = lambda days, hour=10.0: local(zone, d - timedelta(days=days), hour)  # noqa: E731
    e: list[dict[str, Any]] = []
    # 1: a busy customer with every kind, in the recent and the baseline windows.
    for days in (1, 2, 2, 9, 16, 40, 45, 100, 200):
        e.append(event(1, at(days), "login", user=f"u{days % 3}"))
    for days, amount in ((5, 120.0), (35, 80.0), (65, 100.0), (95, 60.0), (125, 90.0), (300, 50.0)):
        e.append(event(1, at(days), "order", amount=amount, quantity=1.0, user="buyer"))
    e += [
        event(
            1, at(3), "communication", direction="in", channel="phone", value=5.0, text="客户说销售易报价更低"
        ),
        event(
            1, at(1, 20), "communication", direction="in", channel="email", value=30.0
        ),  # reply after as-of
        event(1, at(10), "communication", direction="out", channel="wechat", value=60.0),
        event(1, at(20), "communication", direction="out", channel="wechat"),
        event(1, at(50), "communication", direction="in", channel="phone", value=2.0),
        event(1, at(60), "communication", direction="out", channel="email", value=3.0),
        event(1, at(1, 12), "communication", direction="out", channel="phone"),  # within 48 h: not judged yet
        event(1, at(15), "complaint", text="Thinking of moving to HubSpot"),
        event(1, at(25), "ticket", text="export fails"),
        event(1, at(30), "survey", channel="nps", value=4.0),
        event(1, at(90), "survey", channel="csat", value=2.0),
        event(1, at(200), "survey", channel="nps", value=9.0),
        event(1, at(7), "feature_use", text="api", user="u1"),
        event(1, at(8), "feature_use", text="reports", user="u2"),
        event(1, at(100), "feature_use", text="workflow", user="u1"),
        event(1, at(12), "competitor_signal", text="They are trialling Zoho"),
        event(1, at(20), "balance", value=500.0),
        event(1, at(4), "balance", value=80.0),
        event(1, at(4), "balance", value=70.0),  # same instant: the larger value wins
    ]
    # 3: one login exactly at the start of the 30-day window (counts), one order exactly at as-of (does not).
    e.append(event(3, local(zone, d - timedelta(days=30)), "login", user="solo"))
    e.append(event(3, local(zone, d), "order", amount=999.0))
    # 4: activity only in the last 30 days: zero baselines.
    e += [event(4, at(3), "communication", direction="in"), event(4, at(6), "order", amount=10.0)]
    # 5: events exactly on the edge between the recent and the baseline windows, and just before as-of.
    e += [
        event(5, local(zone, d - timedelta(days=30)), "communication", direction="out"),
        event(5, local(zone, d - timedelta(days=30), -0.001), "communication", direction="out"),
        event(5, local(zone, d, -1 / 3600), "login"),
        event(5, local(zone, d - timedelta(days=120)), "order", amount=5.0),
        event(5, local(zone, d - timedelta(days=60)), "order", amount=5.0),
    ]
    contracts = [
        {"customer_id": 1, "start_date": date(2023, 7, 1), "end_date": date(2024, 7, 1)},
        {"customer_id": 3, "start_date": date(2023, 1, 1), "end_date": date(2024, 1, 1)},
        {"customer_id": 4, "start_date": AS_OF, "end_date": date(2025, 6, 1)},  # starts at as-of: not yet
        {"customer_id": 5, "start_date": date(2024, 5, 1), "end_date": date(2024, 6, 20)},
    ]
    invoices = [
        {"customer_id": 1, "due_date": date(2024, 5, 1), "amount": 10.0, "issued_at": None, "paid_at": None},
        {"customer_id": 1, "due_date": date(2024, 4, 1), "amount": 10.0, "issued_at": None,
         "paid_at": local(zone, date(2024, 4, 1), 23.5)},  # paid on the due day, local time: on time
        {"customer_id": 1, "due_date": date(2024, 3, 1), "amount": 10.0, "issued_at": None,
         "paid_at": local(zone, date(2024, 3, 5), 9)},  # paid late
        {"customer_id": 3, "due_date": date(2024, 5, 20), "amount": 10.0, "issued_at": None,
         "paid_at": local(zone, d, 1)},  # paid after as-of: overdue at as-of
        # due on the as-of date: not overdue yet
        {"customer_id": 5, "due_date": AS_OF, "amount": 10.0, "issued_at": None, "paid_at": None},
    ]  # fmt: skip
    return Data(customers=[1, 2, 3, 4, 5], events=e, contracts=contracts, invoices=invoices)


def frames(data: Data) -> dict[str, pd.DataFrame]:
    """The data as canonical frames (customer ids stay integers)."""
    events = pd.DataFrame(data.events, columns=["customer_id", "ts", "kind", *EVENT_COLUMNS])
    for c in ("amount", "value", "quantity"):
        events[c] = events[c].astype("float64")
    events["customer_id"] = events["customer_id"].astype("int64")
    for c in ("kind", "channel", "direction", "text", "user"):
        events[c] = events[c].astype("string")
    events["ts"] = events["ts"].astype("datetime64[us]")
    contracts = pd.DataFrame(data.contracts, columns=["customer_id", "start_date", "end_date"])
    invoices = pd.DataFrame(
        data.invoices, columns=["customer_id", "due_date", "amount", "issued_at", "paid_at"]
    )
    for c in ("issued_at", "paid_at"):
        invoices[c] = pd.to_datetime(invoices[c]).astype("datetime64[us]")
    return {
        "customers": pd.DataFrame({"customer_id": data.customers}),
        "events": events,
        "contracts": contracts,
        "invoices": invoices,
    }
