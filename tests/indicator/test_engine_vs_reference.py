"""Every built-in indicator against the plain-Python reference, on hand-written edge cases."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from churnradar.indicator.service import compute_indicators
from tests.indicator.cases import AS_OF, hand_data
from tests.indicator.helpers import check_against_reference, engine_values, frame_source

ZONES = [pytest.param(ZoneInfo("UTC"), id="utc"), pytest.param(ZoneInfo("Asia/Shanghai"), id="shanghai")]
DATES = [AS_OF, AS_OF + timedelta(days=7), AS_OF - timedelta(days=45)]


@pytest.mark.parametrize("zone", ZONES)
def test_all_builtins_match_reference_over_several_dates(zone: ZoneInfo) -> None:
    data = hand_data(zone)
    source = frame_source(data)
    try:
        check_against_reference(source, data, DATES, zone)
    finally:
        source.close()


@pytest.mark.parametrize("zone", ZONES)
def test_one_date_alone_matches_the_same_date_in_a_batch(zone: ZoneInfo) -> None:
    data = hand_data(zone)
    source = frame_source(data)
    try:
        alone = compute_indicators(source, [AS_OF], zone=zone)
        batch = compute_indicators(source, DATES, zone=zone)
    finally:
        source.close()
    assert engine_values(alone, AS_OF) == engine_values(batch, AS_OF)


def test_dates_in_batches_give_the_same_frame() -> None:
    zone = ZoneInfo("UTC")
    source = frame_source(hand_data(zone))
    try:
        together = compute_indicators(source, DATES, zone=zone)
        batched = compute_indicators(source, DATES, zone=zone, dates_per_pass=2)
    finally:
        source.close()
    assert together.equals(batched)


class TestHandComputed:
    """Values worked out by hand, so that the reference itself is checked too."""

    @pytest.fixture(scope="class")
    @classmethod
    def values(cls) -> dict[tuple[int, str], float | None]:
        zone = ZoneInfo("UTC")
        data = hand_data(zone)
        source = frame_source(data)
        try:
            wide = compute_indicators(source, [AS_OF], zone=zone)
        finally:
            source.close()
        return engine_values(wide, AS_OF)

    @pytest.mark.parametrize(
        ("customer", "slug", "expected"),
        [
            pytest.param(2, "communications_30d", 0.0, id="no-events-count-is-zero"),
            pytest.param(2, "days_since_last_login", None, id="no-events-days-since-is-null"),
            pytest.param(2, "avg_order_value_90d", None, id="no-events-mean-is-null"),
            pytest.param(2, "overdue_invoices", 0.0, id="no-invoices-zero-overdue"),
            pytest.param(2, "late_paid_invoice_share", None, id="no-invoices-null-share"),
            pytest.param(3, "login_days_30d", 1.0, id="event-at-window-start-counts"),
            pytest.param(3, "days_since_last_login", 30.0, id="days-since-window-start"),
            pytest.param(3, "orders_30d", 0.0, id="event-at-as-of-instant-excluded"),
            pytest.param(3, "days_to_contract_end", -152.0, id="lapsed-contract-negative"),
            pytest.param(3, "overdue_invoices", 1.0, id="paid-after-as-of-is-overdue"),
            pytest.param(3, "max_days_overdue", 12.0, id="days-overdue"),
            pytest.param(4, "communications_change_pct", None, id="zero-baseline-pct-null"),
            pytest.param(4, "orders_vs_baseline", None, id="zero-baseline-ratio-null"),
            pytest.param(4, "days_to_contract_end", None, id="contract-starting-at-as-of-not-yet"),
            pytest.param(5, "communications_30d", 1.0, id="edge-of-recent-window-belongs-to-it"),
            pytest.param(5, "communications_baseline", 1 / 3, id="just-before-edge-is-baseline"),
            pytest.param(5, "days_since_last_login", 0.0, id="one-second-before-as-of"),
            pytest.param(5, "days_to_contract_end", 19.0, id="days-to-end"),
            pytest.param(5, "contract_ending_without_contact", 0.0, id="recent-contact-no-flag"),
            pytest.param(5, "overdue_invoices", 0.0, id="due-on-as-of-not-overdue"),
            pytest.param(1, "balance_last", 80.0, id="tie-on-latest-takes-largest"),
            pytest.param(1, "balance_below_threshold", 1.0, id="balance-flag"),
            pytest.param(1, "reply_hours_30d", 5.0, id="reply-known-only-after-it-came"),
            pytest.param(1, "unanswered_outbound_share", 2 / 3, id="unanswered-after-48h"),
            pytest.param(1, "late_paid_invoice_share", 2 / 3, id="late-share"),
            pytest.param(1, "login_days_30d", 4.0, id="distinct-login-days"),
            pytest.param(1, "active_users_30d", 4.0, id="distinct-users-across-kinds"),
            pytest.param(1, "deep_feature_adoption_30d", 0.25, id="deep-adoption"),
            pytest.param(1, "features_ever_used", 3.0, id="features-ever"),
            pytest.param(1, "competitor_mention_share_90d", 0.75, id="chinese-and-english-keywords"),
            pytest.param(1, "negative_survey_share_180d", 1.0, id="nps-and-csat-scales"),
            pytest.param(1, "orders_vs_baseline", 1 / (4 / 6), id="orders-vs-monthly-baseline"),
            pytest.param(1, "order_gap_vs_median", (5 - 10 / 24) / 30, id="gap-vs-median"),
        ],
    )
    def test_value(
        self, values: dict[tuple[int, str], float | None], customer: int, slug: str, expected: float | None
    ) -> None:
        assert values[customer, slug] == (pytest.approx(expected) if expected is not None else None)
