"""Segment-relative features on small hand-made frames: medians per segment and date, the fallback to all
customers, who counts at a date, and the reasons they give."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from churnradar.scoring.reasons import Words, explain, feature_words, reason
from churnradar.scoring.segments import (
    MIN_SEGMENT_CUSTOMERS,
    segment_feature,
    segment_features_by_date,
    segment_medians,
    with_segment_features,
)

GAP = segment_feature("orders_30d")
LATE = segment_feature("days_since_last_order")


def one_date() -> pd.DataFrame:
    """20 customers of segment A (orders 0..19, median 9.5), 3 of B and 2 without a segment."""
    big = MIN_SEGMENT_CUSTOMERS
    return pd.DataFrame(
        {
            "customer_id": range(big + 5),
            "segment": ["A"] * big + ["B"] * 3 + [None] * 2,
            "orders_30d": [float(i) for i in range(big)] + [100.0, 100.0, np.nan, 50.0, 1.0],
            "days_since_last_order": [5.0] * big + [80.0] * 3 + [np.nan] * 2,
            "tenure_days": 1.0,  # not a key indicator: no segment feature
        }
    )


def test_each_key_indicator_against_its_segments_median_or_everyones() -> None:
    frame = one_date()
    medians = segment_medians(frame)
    assert list(medians.by_segment.index) == ["A"]  # B has three customers: too few to have its own
    got = with_segment_features(frame, medians)
    assert got[GAP].iloc[0] == -9.5
    assert got[GAP].iloc[19] == 9.5
    everyone = float(np.nanmedian(frame["orders_30d"]))  # 10.0: B and the unnamed against all customers
    assert got[GAP].iloc[20] == 100.0 - everyone
    assert got[GAP].iloc[24] == 1.0 - everyone
    assert np.isnan(got[GAP].iloc[22])  # no value, no gap
    assert got[LATE].iloc[0] == 0.0
    assert got[LATE].iloc[20] == 75.0
    assert segment_feature("tenure_days") not in got
    assert list(got.columns[: len(frame.columns)]) == list(frame.columns)


def test_training_takes_each_dates_medians_over_the_customers_of_that_date() -> None:
    first, second = date(2026, 3, 2), date(2026, 3, 30)
    frame = one_date().drop(columns=["segment", "tenure_days"])
    wide = pd.concat(
        [frame.assign(as_of=first), frame.assign(as_of=second, orders_30d=frame["orders_30d"] + 1)],
        ignore_index=True,
    )
    customers = pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "segment": one_date()["segment"],
            "signup_date": pd.to_datetime(["2025-01-01"] * len(frame)),
            "churned_at": pd.NaT,
        }
    )
    # Customer 0 (A, 0 orders) left before the second date and customer 19 (A, 19 orders) signed up after
    # the first: neither is in A's median at that date, where A has 19 customers: compared with everyone.
    customers.loc[0, "churned_at"] = pd.Timestamp("2026-03-10")
    customers.loc[19, "signup_date"] = pd.Timestamp("2026-03-05")
    got = segment_features_by_date(wide, customers)
    assert list(got.columns) == [*wide.columns, GAP, segment_feature("days_since_last_order")]
    assert got.index.equals(wide.index)
    at_first = got[got["as_of"] == first].set_index("customer_id")[GAP]
    at_second = got[got["as_of"] == second].set_index("customer_id")[GAP]
    # First date: A without customer 19 has 19 customers (orders 0..18): everyone's median (0..18, 100,
    # 100, 50 and 1: 23 values) is 10.
    assert at_first[1] == 1.0 - 10.0
    # Second date: customer 0 lost, 19 counted (2..20, 101, 101, 51 and 2): everyone's median is 12.
    assert at_second[1] == 2.0 - 12.0
    assert at_second[0] == 1.0 - 12.0  # a lost customer still has a gap, just not a say in the median


def test_reasons_read_against_the_segments_usual() -> None:
    words = feature_words(["orders_30d", GAP])
    assert words[GAP].shape == "segment"
    assert words[GAP].name_en == words["orders_30d"].name_en
    assert reason(words[GAP], -3.0, 5.0)[0] == "Orders in the last 30 days: 60% below its segment's usual"
    assert reason(words[GAP], -3.0, 5.0)[1].endswith("比同细分客户的通常水平低60%")
    assert reason(words[GAP], 2.0, 0.0)[0] == "Orders in the last 30 days: 2, its segment's usual 0"
    assert reason(words[GAP], 1.5, 1.0)[0] == "Orders in the last 30 days: 150% above its segment's usual"
    # Through explain: the typical value shown is the segment's median (the indicator minus the gap).
    values = pd.DataFrame({"orders_30d": [2.0], GAP: [-3.0]})
    got = explain(np.array([[0.1, 0.9, -1.0]]), values, {GAP: 0.0}, words, top=1)
    assert got.reasons_en == ["Orders in the last 30 days: 60% below its segment's usual"]
    assert got.items[0][0].typical == 5.0
    alone = Words("Orders", "订单", "", "segment")
    assert reason(alone, -3.0, None)[0] == "Orders: -3"  # the segment's median unknown: the gap itself
