"""The snapshot of a wide frame: every cell once, in key order (date, indicator, customer), NaN as NULL."""

from __future__ import annotations

from datetime import date

import pandas as pd

from churnradar.indicator.service import snapshot_rows


def test_rows_cover_every_cell_in_key_order() -> None:
    d1, d2 = date(2026, 6, 1), date(2026, 6, 8)
    wide = pd.DataFrame(
        {
            "customer_id": [7, 3, 3],
            "as_of": [d1, d2, d1],
            "orders_30d": [1.0, float("nan"), 2.0],
            "days_since_last_login": [4.0, 5.0, float("nan")],
        }
    )
    rows = list(snapshot_rows(wide))
    assert rows == [
        (3, d1, "days_since_last_login", None),
        (7, d1, "days_since_last_login", 4.0),
        (3, d1, "orders_30d", 2.0),
        (7, d1, "orders_30d", 1.0),
        (3, d2, "days_since_last_login", 5.0),
        (3, d2, "orders_30d", None),
    ]
    assert all(type(r[0]) is int for r in rows)
    assert list(snapshot_rows(wide.iloc[:0])) == []


def test_dates_as_iso_text_for_sqlite() -> None:
    wide = pd.DataFrame({"customer_id": [2], "as_of": [date(2026, 6, 1)], "orders_30d": [3.0]})
    assert list(snapshot_rows(wide, date_text=True)) == [(2, "2026-06-01", "orders_30d", 3.0)]
