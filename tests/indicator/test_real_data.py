"""CDNOW's real purchase log (../shared/data), imported with a mapping: every customer gets sane values."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from churnradar.config import Settings
from churnradar.db import create_engine
from churnradar.indicator import service
from churnradar.ingest.mapping import load_mapping
from churnradar.ingest.service import ImportOptions, import_path
from churnradar.store import migrate
from tests.conftest import ROOT, shared_data

AS_OF = [date(1998, 1, 1), date(1998, 7, 1)]


def test_cdnow_indicators_for_every_customer(tmp_path: Path, settings: Settings) -> None:
    raw = shared_data("cdnow", "CDNOW_master.txt")
    orders: list[tuple[str, datetime, float]] = []
    with raw.open() as lines, (tmp_path / "events.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "cust", "purchase_date", "cds", "dollars"])
        next(lines)  # the header line the lifetimes package added
        for number, line in enumerate(lines, start=1):
            cust, day, cds, dollars = line.split()
            writer.writerow([number, cust, day, cds, dollars])
            orders.append((cust, datetime.strptime(day, "%Y%m%d"), float(dollars)))
    engine = create_engine(f"sqlite:///{tmp_path / 'cdnow.db'}")
    migrate(engine)
    options = ImportOptions(
        mapping=load_mapping(ROOT / "examples" / "mappings" / "cdnow.yaml"), create_missing_customers=True
    )
    assert import_path(engine, tmp_path / "events.csv", settings=settings, options=options).ok

    with service.open_source(engine) as source:
        wide = service.compute_indicators(source, AS_OF, zone="UTC")
    customers = {c for c, _, _ in orders}
    assert len(wide) == len(customers) * len(AS_OF) == 23_570 * 2

    for day in AS_OF:
        rows = wide[wide["as_of"] == day]
        at = datetime(day.year, day.month, day.day)
        # Every customer bought in early 1997, so everyone has a last order and a non-negative gap to it.
        since = rows["days_since_last_order"]
        assert since.notna().all()
        assert (since >= 0).all()
        assert since.max() <= (day - date(1997, 1, 1)).days
        window = [a for _, ts, a in orders if at - timedelta(days=90) <= ts < at]
        assert rows["order_amount_90d"].sum() == pytest.approx(sum(window))
        assert rows["orders_30d"].sum() == sum(1 for _, ts, _ in orders if at - timedelta(days=30) <= ts < at)
        ratio = rows["order_gap_vs_median"].dropna()
        assert len(ratio) > 1_000
        assert (ratio >= 0).all()
        # Nothing in this log speaks of logins, contracts or invoices: counts are zero, the rest null.
        assert (rows["login_days_30d"] == 0).all()
        assert rows["days_to_contract_end"].isna().all()
        assert (rows["overdue_invoices"] == 0).all()
        assert rows["late_paid_invoice_share"].isna().all()
    # CDNOW's famous decay: the share of customers with an order in the last 90 days falls over time.
    active = [(wide[wide["as_of"] == d]["order_amount_90d"] > 0).mean() for d in AS_OF]
    assert 0 < active[1] < active[0] < 0.5
