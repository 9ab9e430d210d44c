"""The industries' own signals (#21 item 3) on small frames: each reads the documented event convention."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from churnradar.analytics.source import duckdb_over_frames
from churnradar.indicator.service import compute_indicators
from tests.indicator.cases import EVENT_COLUMNS

AS_OF = date(2024, 6, 1)
UTC = ZoneInfo("UTC")


def _at(days: int) -> datetime:
    return datetime(AS_OF.year, AS_OF.month, AS_OF.day, 10) - timedelta(days=days)


def _ev(customer: int, days: int, kind: str, **cols: Any) -> dict[str, Any]:
    return {"customer_id": customer, "ts": _at(days), "kind": kind, **{c: cols.get(c) for c in EVENT_COLUMNS}}


def _events() -> list[dict[str, Any]]:
    e: list[dict[str, Any]] = []
    # 1, SaaS: five users logged in before; one still does. Paid features used 9 a month, now once.
    e += [_ev(1, 40 + k, "login", user=f"u{k}") for k in range(5)] + [_ev(1, 3, "login", user="u0")]
    e += [_ev(1, 35 + 3 * k, "feature_use", text="api") for k in range(27)] + [
        _ev(1, 5, "feature_use", text="sso")
    ]
    e.append(_ev(1, 10, "feature_use", text="reports"))
    e += [
        _ev(1, 10, "ticket", text="缺陷：导入报错"),
        _ev(1, 20, "ticket", text="Dissatisfaction: slow support"),
    ]
    e += [
        _ev(1, 30, "ticket", text="question: how to export"),
        _ev(1, 120, "ticket", text="request: new field"),
    ]
    e.append(_ev(1, 150, "ticket", text="defect: blank page"))
    # 2, manufacturing: three fault reports this quarter against one before; spare parts 2 a quarter, now 0.
    e += [_ev(2, d, "ticket", text="故障：主轴异响") for d in (10, 40)] + [
        _ev(2, 50, "complaint", text="repair late")
    ]
    e.append(_ev(2, 100, "ticket", text="fault: leak"))
    e += [_ev(2, d, "order", amount=100.0, text="spare_part") for d in (100, 140, 200, 250, 300, 340)]
    e.append(_ev(2, 20, "order", amount=900.0, text="machine"))
    e += [
        _ev(2, 15, "invitation", value=0.0),
        _ev(2, 60, "invitation", value=0.0),
        _ev(2, 90, "invitation", value=1.0),
    ]
    # 3, retail: last basket 40 after a year averaging 100; carts left; the returns page visited.
    e += [_ev(3, d, "order", amount=a) for d, a in ((300, 130.0), (200, 130.0), (95, 40.0))]
    e += [_ev(3, 5, "abandoned_cart"), _ev(3, 12, "abandoned_cart"), _ev(3, 40, "abandoned_cart")]
    e += [_ev(3, 2, "visit", channel="web", text="/help/return-policy"), _ev(3, 4, "visit", text="注销账户")]
    e.append(_ev(3, 6, "visit", channel="web", text="/new-arrivals"))
    # 4, services: two of three milestones late; the client answers in 80 h, used to in 12; a contact left.
    e += [
        _ev(4, 10, "milestone", value=5.0),
        _ev(4, 50, "milestone", value=12.0),
        _ev(4, 120, "milestone", value=0.0),
    ]
    e += [_ev(4, d, "communication", direction="out", value=80.0) for d in (10, 20)]
    e += [_ev(4, d, "communication", direction="out", value=12.0) for d in (40, 60, 90)]
    e += [_ev(4, 30, "contact_change", value=0.0), _ev(4, 100, "contact_change", value=1.0)]
    # 5, education: completion 10-20%, questions 6 a month down to 1, contract ends in 60 days without intent.
    e += [_ev(5, d, "course_progress", value=v) for d, v in ((10, 0.1), (20, 0.2), (30, 0.15))]
    e += [_ev(5, 31 + 5 * k, "interaction", text="question") for k in range(18)] + [_ev(5, 3, "interaction")]
    e += [_ev(5, 20, "renewal_intent", value=0.3), _ev(5, 200, "renewal_intent", value=0.9)]
    return e


@pytest.fixture(scope="module")
def values() -> pd.DataFrame:
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5]})
    contracts = pd.DataFrame(
        {"customer_id": [5], "start_date": [date(2023, 8, 1)], "end_date": [AS_OF + timedelta(days=60)]}
    )
    events = pd.DataFrame(_events()).astype({"amount": float, "value": float, "quantity": float})
    source = duckdb_over_frames(customers, events, contracts)
    try:
        wide = compute_indicators(source, [AS_OF], zone=UTC)
    finally:
        source.close()
    return wide.set_index("customer_id")


@pytest.mark.parametrize(
    ("customer", "slug", "expected"),
    [
        (1, "login_users_30d", 1.0),
        (1, "login_users_prior_90d", 5.0),
        (1, "login_users_kept_ratio", 0.2),
        (1, "paid_feature_uses_30d", 1.0),
        (1, "paid_feature_uses_baseline", 9.0),
        (1, "paid_feature_use_drop_pct", 100 * 8 / 9),
        (1, "defect_tickets_90d", 2.0),
        (1, "defect_ticket_share_90d", 2 / 3),
        (1, "defect_ticket_share_change", 2 / 3 - 1 / 2),
        (2, "fault_reports_90d", 3.0),
        (2, "fault_reports_change", 2.0),
        (2, "spare_part_orders_90d", 0.0),
        (2, "spare_part_orders_baseline", 2.0),
        (2, "spare_part_orders_vs_baseline", 0.0),
        (2, "invitations_declined_180d", 2.0),
        (2, "invitation_decline_share_180d", 2 / 3),
        (3, "last_basket_vs_average", 0.4),
        (3, "abandoned_carts_30d", 2.0),
        (3, "exit_page_visits_30d", 2.0),
        (4, "late_milestones_90d", 2.0),
        (4, "late_milestone_share_180d", 2 / 3),
        (4, "customer_reply_hours_30d", 80.0),
        (4, "customer_reply_hours_prior_90d", 12.0),
        (4, "contacts_changed_without_handover_180d", 1.0),
        (5, "course_completion_90d", 0.15),
        (5, "interaction_drop_pct", 100 * 5 / 6),
        (5, "positive_renewal_intents_90d", 0.0),
        (5, "contract_ending_without_intent", 1.0),
        (1, "contract_ending_without_intent", 0.0),
    ],
)
def test_signal_values(values: pd.DataFrame, customer: int, slug: str, expected: float) -> None:
    assert values.loc[customer, slug] == pytest.approx(expected)


def test_signals_stay_empty_or_zero_without_their_events(values: pd.DataFrame) -> None:
    # Customer 3 has none of the SaaS, services or education events: counts are 0, ratios and means empty.
    row = values.loc[3]
    assert row[["defect_tickets_90d", "late_milestones_90d", "abandoned_carts_30d"]].tolist() == [0, 0, 2]
    empty = ["login_users_kept_ratio", "course_completion_90d", "customer_reply_hours_30d"]
    assert row[[*empty, "invitation_decline_share_180d"]].isna().all()
