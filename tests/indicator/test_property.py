"""Property: on random event sets the engine agrees with the reference for every built-in indicator."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.indicator.cases import AS_OF, event, local
from tests.indicator.helpers import check_against_reference, frame_source
from tests.indicator.reference import Data

ZONE = ZoneInfo("Asia/Shanghai")
KINDS = (
    "login", "order", "communication", "complaint", "ticket", "survey", "feature_use", "competitor_signal",
    "balance", "visit",
)  # fmt: skip
TEXTS = (None, "api", "workflow", "reports", "客户提到用友报价更低", "a Competitor called", "hello")
NUMBERS = st.one_of(st.none(), st.integers(0, 60).map(float), st.sampled_from([0.5, 2.5, 48.0, 49.0]))


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    # Many events land on local midnights, where window edges are.
    day = draw(st.integers(0, 420))
    hour = draw(st.one_of(st.just(0.0), st.floats(0, 23.99, allow_nan=False)))
    return event(
        draw(st.integers(1, 3)),
        local(ZONE, AS_OF - timedelta(days=day - 10), hour),
        draw(st.sampled_from(KINDS)),
        amount=draw(NUMBERS),
        value=draw(NUMBERS),
        channel=draw(st.sampled_from([None, "nps", "csat", "phone", "email"])),
        direction=draw(st.sampled_from([None, "in", "out"])),
        text=draw(st.sampled_from(TEXTS)),
        user=draw(st.sampled_from([None, "u1", "u2", "u3"])),
    )


@st.composite
def invoices(draw: st.DrawFn) -> dict[str, Any]:
    due = AS_OF - timedelta(days=draw(st.integers(-20, 200)))
    paid = draw(st.one_of(st.none(), st.integers(-5, 40)))
    return {
        "customer_id": draw(st.integers(1, 3)),
        "due_date": due,
        "amount": 10.0,
        "issued_at": draw(
            st.one_of(st.none(), st.just(datetime(due.year, due.month, due.day) - timedelta(days=30)))
        ),
        "paid_at": None
        if paid is None
        else local(ZONE, due + timedelta(days=paid), draw(st.floats(0, 23.9))),
    }


@st.composite
def contracts(draw: st.DrawFn) -> dict[str, Any]:
    start = AS_OF - timedelta(days=draw(st.integers(-30, 700)))
    return {"customer_id": draw(st.integers(1, 3)), "start_date": start,
            "end_date": start + timedelta(days=draw(st.integers(30, 400)))}  # fmt: skip


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], report_multiple_bugs=False
)
@given(
    st.lists(events(), max_size=60),
    st.lists(invoices(), max_size=6),
    st.lists(contracts(), max_size=3),
    st.integers(0, 40),
)
def test_engine_agrees_with_reference(
    evs: list[dict[str, Any]], invs: list[dict[str, Any]], cons: list[dict[str, Any]], shift: int
) -> None:
    data = Data(customers=[1, 2, 3, 4], events=evs, contracts=cons, invoices=invs)
    dates: list[date] = [AS_OF, AS_OF - timedelta(days=shift)]
    source = frame_source(data)
    try:
        check_against_reference(source, data, dates, ZONE)
    finally:
        source.close()
